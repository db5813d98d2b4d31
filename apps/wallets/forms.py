import uuid

from django import forms
from django.conf import settings

from apps.core.admin_widgets import parse_major_units

# How the shop names an amount's units to shoppers; other currencies are named by their code.
UNIT_WORDS = {"USD": "dollars and cents", "EUR": "euros and cents", "GBP": "pounds and pence"}


class MoneyField(forms.CharField):
    """An amount typed in major units ("25", "$20", "1,000.50", "-3.5") cleaned to integer minor units.

    The parsing is the admin's (apps.core.admin_widgets.parse_major_units: Decimal, never float, so
    "0.29" is exactly 29 cents); anything it refuses gets one message in the shop's words. Limits are
    the services' business.
    """

    def __init__(self, **kwargs):
        currency = settings.CURRENCY
        self.invalid_message = f"Enter an amount in {UNIT_WORDS.get(currency, currency)}, like 12.34."
        kwargs.setdefault("error_messages", {"required": "Enter the amount to add, like 25.00."})
        super().__init__(**kwargs)

    def widget_attrs(self, widget):
        return {**super().widget_attrs(widget), "inputmode": "decimal", "autocomplete": "off"}

    def to_python(self, value):
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        try:
            return parse_major_units(text, settings.CURRENCY)
        except forms.ValidationError as exc:
            raise forms.ValidationError(self.invalid_message, code="invalid") from exc


class ChargeForm(forms.Form):
    """Adds money to the wallet. `token` is minted with each rendered form: a double-submitted
    form carries the same token and amount, and charges once (apps.core.idempotency.run_once)."""

    amount = MoneyField(label="Amount to add", help_text=f"In {settings.CURRENCY}, for example 25 or 1,000.50.")
    token = forms.CharField(max_length=64, widget=forms.HiddenInput)

    def __init__(self, data=None, **kwargs):
        if data is not None and not data.get("token"):
            data = data.copy()
            data["token"] = uuid.uuid4().hex
        kwargs.setdefault("initial", {"token": uuid.uuid4().hex})
        super().__init__(data, **kwargs)

    def idempotency_key(self) -> str:
        return f"wallet-form:{self.cleaned_data['token']}:{self.cleaned_data['amount']}"
