from django import forms
from django.utils import formats

from apps.core.idempotency import MAX_KEY_LENGTH
from apps.core.money import format_money


class CheckoutForm(forms.Form):
    """The shopper's coupon choice plus a one-time token, so a double-submitted pay form orders once."""

    user_coupon = forms.TypedChoiceField(
        label="Coupon", coerce=int, required=False, empty_value=None, widget=forms.RadioSelect,
        error_messages={"invalid_choice": "That coupon cannot be used for this order any more; choose another or none."},
    )
    token = forms.CharField(widget=forms.HiddenInput, max_length=MAX_KEY_LENGTH)

    def __init__(self, *args, coupons, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "No coupon")]
        for user_coupon, discount in coupons:
            expires = formats.date_format(user_coupon.expires_at, "DATE_FORMAT")
            choices.append((user_coupon.pk, f"{user_coupon.coupon.name}: {format_money(discount)} off (use by {expires})"))
        self.fields["user_coupon"].choices = choices
        self.discounts = {user_coupon.pk: discount for user_coupon, discount in coupons}

    def selected_discount(self) -> int:
        if not self.is_bound or not self.is_valid():
            return 0
        return self.discounts.get(self.cleaned_data["user_coupon"], 0)
