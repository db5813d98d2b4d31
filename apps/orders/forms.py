from django import forms
from django.utils import formats

from apps.core.idempotency import MAX_KEY_LENGTH
from apps.core.money import format_money
from apps.orders.models import Order


class CardNumberInput(forms.TextInput):
    """A card number field that never writes the number back into the page (a form shown again starts empty)."""

    def format_value(self, value):
        return None


class CheckoutForm(forms.Form):
    """The shopper's coupon choice and payment method plus a one-time token, so a double-submitted pay form orders once.

    The card number is only carried to the order service, which validates it (apps.payments.cards)
    and never keeps more than its brand and last four digits.
    """

    user_coupon = forms.TypedChoiceField(
        label="Coupon", coerce=int, required=False, empty_value=None, widget=forms.RadioSelect,
        error_messages={"invalid_choice": "That coupon cannot be used for this order any more; choose another or none."},
    )
    payment_method = forms.ChoiceField(
        label="Pay with", choices=Order.PaymentMethod.choices, required=False, widget=forms.RadioSelect,
        error_messages={"invalid_choice": "Choose Wallet or Card."},
    )
    card_number = forms.CharField(
        label="Card number", required=False, max_length=40, strip=True,
        widget=CardNumberInput(attrs={"inputmode": "numeric", "autocomplete": "cc-number", "spellcheck": "false", "autocapitalize": "off"}),
        error_messages={"max_length": "A card number has 13 to 19 digits."},
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

    def clean_payment_method(self) -> str:
        return self.cleaned_data["payment_method"] or Order.PaymentMethod.WALLET

    def selected_discount(self) -> int:
        """The discount of the chosen coupon: the submitted one, else the one preselected (the best)."""
        if not self.is_bound:
            return self.discounts.get(self.initial.get("user_coupon"), 0)
        if not self.is_valid():
            return 0
        return self.discounts.get(self.cleaned_data["user_coupon"], 0)

    def selected_method(self) -> str:
        """The method the page shows as chosen: the submitted one, else the initial one."""
        if self.is_bound:
            submitted = self.data.get("payment_method")
            return submitted if submitted in Order.PaymentMethod.values else Order.PaymentMethod.WALLET
        return self.initial.get("payment_method", Order.PaymentMethod.WALLET)

    @property
    def pays_by_card(self) -> bool:
        return self.cleaned_data.get("payment_method") == Order.PaymentMethod.CARD
