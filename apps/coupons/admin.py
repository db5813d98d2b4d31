from django import forms
from django.contrib import admin
from django.db.models import F
from django.utils import timezone

from apps.core.admin import ReadOnlyAdminMixin, ServiceSavedAdmin
from apps.core.errors import ValidationError
from apps.coupons import selectors, services
from apps.coupons.models import Coupon, UserCoupon

# Fixed once a campaign exists: issued coupons and the Redis gate depend on them.
_TERMS = ["discount_type", "discount_value", "max_discount", "min_order_amount", "total_quantity", "valid_days"]


class CouponAdminForm(forms.ModelForm):
    class Meta:
        model = Coupon
        fields = ["name", *_TERMS, "starts_at", "ends_at"]

    def clean(self):
        cleaned = super().clean()
        terms = {field: cleaned.get(field, getattr(self.instance, field)) for field in [*_TERMS, "starts_at", "ends_at"]}
        if any(terms[field] is None for field in ["discount_type", "discount_value", "min_order_amount", "total_quantity", "valid_days"]):
            return cleaned  # a required field is missing: its own error is already shown
        try:
            services.validate_coupon_terms(**terms)
        except ValidationError as exc:
            for field, messages in exc.details.items():
                self.add_error(field if field in self.fields else None, messages)
        return cleaned


class CampaignStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", "Open"), ("upcoming", "Not started"), ("ended", "Ended"), ("sold_out", "Sold out")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "open":
            return queryset.open(now)
        if self.value() == "upcoming":
            return queryset.filter(starts_at__gt=now)
        if self.value() == "ended":
            return queryset.filter(ends_at__lte=now)
        if self.value() == "sold_out":
            return queryset.filter(issued_quantity__gte=F("total_quantity"))
        return queryset


@admin.register(Coupon)
class CouponAdmin(ServiceSavedAdmin):
    """Campaigns. Terms are fixed once created; coupons are only ever issued through issue_coupon."""

    form = CouponAdminForm
    list_display = ["name", "discount_type", "discount_value", "total_quantity", "issued_quantity", "remaining", "starts_at", "ends_at"]
    list_filter = [CampaignStateFilter, "discount_type", "starts_at", "ends_at"]
    search_fields = ["name"]
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request, obj=None):
        return ["issued_quantity", "created_at", *(_TERMS if obj else [])]

    def has_delete_permission(self, request, obj=None):
        return obj is None or obj.issued_quantity == 0

    def save_form(self, request, form, change):
        data = form.cleaned_data
        if change:
            return services.update_coupon(coupon_id=form.instance.pk, name=data["name"], starts_at=data["starts_at"], ends_at=data["ends_at"])
        return services.create_coupon(
            name=data["name"],
            discount_type=data["discount_type"],
            discount_value=data["discount_value"],
            max_discount=data["max_discount"],
            min_order_amount=data["min_order_amount"],
            total_quantity=data["total_quantity"],
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            valid_days=data["valid_days"],
        )

    @admin.display(description="Remaining", ordering=F("total_quantity") - F("issued_quantity"))
    def remaining(self, obj: Coupon) -> int:
        return obj.remaining


@admin.register(UserCoupon)
class UserCouponAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Issued coupons, read-only: issuing, using and restoring go through the coupon services."""

    list_display = ["id", "user", "coupon", "shown_status", "issued_at", "expires_at", "used_order"]
    list_filter = ["status", ("coupon", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["user__email", "coupon__name"]
    list_select_related = ["user", "coupon"]
    date_hierarchy = "issued_at"
    show_full_result_count = False

    def get_queryset(self, request):
        return selectors.with_effective_status(super().get_queryset(request))

    @admin.display(description="Status", ordering="effective_status")
    def shown_status(self, obj: UserCoupon) -> str:
        return obj.effective_status
