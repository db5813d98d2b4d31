import uuid
from decimal import Decimal

from django import forms
from django.conf import settings


class MoneyField(forms.DecimalField):
    """An amount typed in major units ("25.00", "-3.5") cleaned to integer minor units (2500, -350).

    Decimal, never float, so "0.29" is exactly 29 cents. Limits are the services' business: this
    only checks that the text is a number with at most two decimals.
    """

    widget = forms.TextInput

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 15)
        kwargs.setdefault("decimal_places", 2)
        super().__init__(**kwargs)

    def widget_attrs(self, widget):
        return {**super().widget_attrs(widget), "inputmode": "decimal", "autocomplete": "off"}

    def clean(self, value):
        amount = super().clean(value)
        return None if amount is None else int(amount * Decimal(100))


class ChargeForm(forms.Form):
    """Adds money to the wallet. `token` is minted with each rendered form: a double-submitted
    form carries the same token and amount, and charges once (apps.core.idempotency.run_once)."""

    amount = MoneyField(label="Amount to add", help_text=f"In {settings.CURRENCY}, for example 25.00.")
    token = forms.CharField(max_length=64, widget=forms.HiddenInput)

    def __init__(self, data=None, **kwargs):
        if data is not None and not data.get("token"):
            data = data.copy()
            data["token"] = uuid.uuid4().hex
        kwargs.setdefault("initial", {"token": uuid.uuid4().hex})
        super().__init__(data, **kwargs)

    def idempotency_key(self) -> str:
        return f"wallet-form:{self.cleaned_data['token']}:{self.cleaned_data['amount']}"
