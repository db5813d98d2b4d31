from django.contrib import admin

from apps.core.admin import ReadOnlyAdminMixin
from apps.core.money import format_money
from apps.rankings.models import ProductSalesDaily, ProductSalesMonthly, ProductSalesWeekly


class SalesTotalsAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: the rankings consumer and `rebuild_rankings` are the only writers."""

    period_field: str
    search_fields = ["product__name", "product__sku"]
    list_select_related = ["product"]
    show_full_result_count = False

    def __init__(self, model, admin_site):
        self.list_display = [self.period_field, "product", "units_sold", "revenue_display"]
        self.fields = [self.period_field, "product", "units_sold", "revenue_display", "updated_at"]
        self.readonly_fields = self.fields
        self.list_filter = [self.period_field, ("product", admin.RelatedOnlyFieldListFilter)]
        self.date_hierarchy = self.period_field
        self.ordering = [f"-{self.period_field}", "-units_sold", "-revenue", "product_id"]
        super().__init__(model, admin_site)

    @admin.display(description="Revenue", ordering="revenue")
    def revenue_display(self, obj) -> str:
        return format_money(obj.revenue)


@admin.register(ProductSalesDaily)
class ProductSalesDailyAdmin(SalesTotalsAdmin):
    period_field = "day"


@admin.register(ProductSalesWeekly)
class ProductSalesWeeklyAdmin(SalesTotalsAdmin):
    period_field = "week"


@admin.register(ProductSalesMonthly)
class ProductSalesMonthlyAdmin(SalesTotalsAdmin):
    period_field = "month"
