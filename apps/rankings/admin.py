from django.contrib import admin

from apps.core.admin import ReadOnlyAdminMixin
from apps.rankings.models import ProductSalesDaily


@admin.register(ProductSalesDaily)
class ProductSalesDailyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: the aggregation task and `rebuild_rankings` are the only writers."""

    list_display = ["day", "product", "units_sold", "revenue", "updated_at"]
    list_filter = ["day", ("product", admin.RelatedOnlyFieldListFilter)]
    date_hierarchy = "day"
    search_fields = ["product__name", "product__sku"]
    list_select_related = ["product"]
    ordering = ["-day", "-units_sold", "product_id"]
    show_full_result_count = False
