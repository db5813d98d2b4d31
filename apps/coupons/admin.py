from django import forms
from django.conf import settings
from django.contrib import admin
from django.db.models import F
from django.utils import timezone
from django.utils.html import format_html

from apps.core.admin import ReadOnlyAdminMixin, ServiceSavedAdmin, moment_column
from apps.core.admin_widgets import MoneyField, MoneyInput, parse_major_units
from apps.core.errors import ValidationError
from apps.core.money import format_money
from apps.coupons import selectors, services
from apps.coupons.models import Coupon, UserCoupon

# Fixed once a campaign exists: issued coupons and the Redis gate depend on them.
_TERMS = ["discount_type", "discount_value", "max_discount", "min_order_amount", "total_quantity", "valid_days"]


class DiscountInput(MoneyInput):
    """The discount box, followed by "% or USD"; static/admin/js/coupon_discount.js narrows the
    suffix to the chosen discount type."""

    class Media:
        js = ["admin/js/coupon_discount.js"]

    def __init__(self):
        super().__init__(attrs={"data-currency": settings.CURRENCY})

    def render(self, name, value, attrs=None, renderer=None):
        box = forms.TextInput.render(self, name, value, attrs, renderer)
        return format_html('{} <span class="money-currency" id="{}_unit">% or {}</span>', box, name, self.currency)


class CouponAdminForm(forms.ModelForm):
    """Money is typed in major units; a percent coupon's discount is a percentage, not money."""

    discount_value = forms.CharField(
        label="Discount",
        widget=DiscountInput(),
        help_text=(
            "Percent coupon: the percentage off, a whole number from 1 to 100 (15 means 15% off). "
            f"Fixed amount coupon: the amount off in {settings.CURRENCY}, e.g. 5.00."
        ),
    )
    max_discount = MoneyField(
        label="Maximum discount",
        required=False,
        min_value=1,
        max_value=services.MAX_COUPON_AMOUNT,
        help_text=f"Percent coupons only, optional: the most taken off one order, in {settings.CURRENCY}.",
    )
    min_order_amount = MoneyField(
        label="Minimum order",
        initial=0,
        min_value=0,
        max_value=services.MAX_COUPON_AMOUNT,
        help_text=f"The order subtotal needed to use the coupon, in {settings.CURRENCY}; 0 for none.",
    )

    class Meta:
        model = Coupon
        fields = ["name", *_TERMS, "starts_at", "ends_at"]

    def clean_discount_value(self):
        text = self.cleaned_data["discount_value"].strip()
        discount_type = self.cleaned_data.get("discount_type")
        if discount_type == Coupon.DiscountType.PERCENT:
            digits = text.removesuffix("%").strip()
            if not digits.isdigit():
                raise forms.ValidationError("Enter the percentage off as a whole number from 1 to 100 (15 means 15% off).")
            if not 1 <= int(digits) <= 100:
                raise forms.ValidationError("A percent discount must be between 1 and 100.")
            return int(digits)
        if discount_type == Coupon.DiscountType.FIXED:
            amount = parse_major_units(text, settings.CURRENCY)
            if not 1 <= amount <= services.MAX_COUPON_AMOUNT:
                raise forms.ValidationError(
                    f"A fixed discount must be from {format_money(1)} to {format_money(services.MAX_COUPON_AMOUNT)}."
                )
            return amount
        raise forms.ValidationError("Choose the discount type first.")

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
    list_display = ["name", "discount", "minimum_order", "quantity", "issued", "remaining", "starts", "ends"]
    list_filter = [CampaignStateFilter, "discount_type", "starts_at", "ends_at"]
    search_fields = ["name"]
    date_hierarchy = "created_at"

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", *_TERMS, "starts_at", "ends_at"]
        return ["name", "discount", "maximum_discount", "minimum_order", "total_quantity", "valid_days", "issued_quantity",
                "starts_at", "ends_at", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["issued_quantity", "created_at"]
        return ["discount", "maximum_discount", "minimum_order", "issued_quantity", "created_at", *_TERMS]

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

    starts = moment_column("starts_at", "Starts")
    ends = moment_column("ends_at", "Ends")

    @admin.display(description="Coupons", ordering="total_quantity")
    def quantity(self, obj: Coupon) -> int:
        return obj.total_quantity

    @admin.display(description="Issued", ordering="issued_quantity")
    def issued(self, obj: Coupon) -> int:
        return obj.issued_quantity

    @admin.display(description="Discount", ordering="discount_value")
    def discount(self, obj: Coupon) -> str:
        if obj.discount_type == Coupon.DiscountType.PERCENT:
            return f"{obj.discount_value}% off"
        return f"{format_money(obj.discount_value)} off"

    @admin.display(description="Max. discount")
    def maximum_discount(self, obj: Coupon) -> str:
        return format_money(obj.max_discount) if obj.max_discount is not None else "No limit"

    @admin.display(description="Min. order", ordering="min_order_amount")
    def minimum_order(self, obj: Coupon) -> str:
        return format_money(obj.min_order_amount) if obj.min_order_amount else "None"

    @admin.display(description="Remaining", ordering=F("total_quantity") - F("issued_quantity"))
    def remaining(self, obj: Coupon) -> int:
        return obj.remaining


@admin.register(UserCoupon)
class UserCouponAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Issued coupons, read-only: issuing, using and restoring go through the coupon services."""

    list_display = ["user", "coupon", "shown_status", "issued", "expires", "order"]
    issued = moment_column("issued_at", "Issued")
    expires = moment_column("expires_at", "Expires")
    list_filter = ["status", ("coupon", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["user__email", "coupon__name"]
    list_select_related = ["user", "coupon"]
    date_hierarchy = "issued_at"
    show_full_result_count = False

    def get_queryset(self, request):
        return selectors.with_effective_status(super().get_queryset(request))

    @admin.display(description="Order", ordering="used_order")
    def order(self, obj: UserCoupon):
        return obj.used_order_id and f"#{obj.used_order_id}" or "—"

    @admin.display(description="Status", ordering="effective_status")
    def shown_status(self, obj: UserCoupon) -> str:
        return obj.effective_status
