"""Money in staff forms: typed in major units with the currency shown ("19.99 USD"), stored as
integer minor units (1999). One field for every price, discount, minimum and amount in the admin."""

import re
from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import admin
from django.utils.html import format_html

from apps.core.money import format_money

MINUS_SIGNS = "-\u2212"
# "1999", "19.99", "1,000.50", "-3.5": digits with optional thousands commas and a decimal part.
_AMOUNT = re.compile(r"^(?P<sign>[-\u2212]?)(?P<whole>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<fraction>\d*))?$")
_SYMBOLS = ("$", "€", "£")


def minor_to_major(amount: int) -> str:
    """1999 → "19.99", -50 → "-0.50": the text a money input shows for a stored amount."""
    sign = "-" if amount < 0 else ""
    major, minor = divmod(abs(int(amount)), 100)
    return f"{sign}{major}.{minor:02d}"


def parse_major_units(text: str, currency: str) -> int:
    """ "19.99" → 1999, "1,000.50" → 100050, "$19" → 1900, "19.99 USD" → 1999.

    Raises forms.ValidationError with a message staff can act on; Decimal, never float."""
    cleaned = text.strip().replace("\u00a0", " ")
    if cleaned.upper().endswith(currency.upper()):
        cleaned = cleaned[: -len(currency)].strip()
    sign = ""
    if cleaned[:1] in MINUS_SIGNS:
        sign, cleaned = "-", cleaned[1:].strip()
    if cleaned[:1] in _SYMBOLS:
        cleaned = cleaned[1:].strip()
    match = _AMOUNT.match(sign + cleaned)
    if not match:
        raise forms.ValidationError(
            f"Enter an amount in {currency}, like 19.99 or 1,000.50.", code="invalid"
        )
    fraction = match["fraction"] or ""
    if len(fraction) > 2:
        raise forms.ValidationError(
            f"Enter at most 2 decimal places: {currency} has cents, not fractions of a cent (e.g. 12.35).",
            code="max_decimal_places",
        )
    amount = int(Decimal(f"{match['whole'].replace(',', '')}.{fraction or '0'}") * 100)
    return -amount if match["sign"] else amount


class MoneyInput(forms.TextInput):
    """A text box holding major units, followed by the currency code."""

    def __init__(self, currency: str | None = None, attrs=None):
        self.currency = currency or settings.CURRENCY
        super().__init__({"inputmode": "decimal", "autocomplete": "off", "size": "12", "class": "money-input", **(attrs or {})})

    def format_value(self, value):
        if isinstance(value, int) and not isinstance(value, bool):
            return minor_to_major(value)
        return super().format_value(value)

    def render(self, name, value, attrs=None, renderer=None):
        box = super().render(name, value, attrs, renderer)
        return format_html('{} <span class="money-currency">{}</span>', box, self.currency)


class MoneyField(forms.Field):
    """Major units in, integer minor units out. `min_value`/`max_value` are in minor units and
    their messages are shown as money ("at least $0.01")."""

    widget = MoneyInput
    default_error_messages = {
        "min_value": "Enter at least %(limit)s.",
        "max_value": "Enter at most %(limit)s.",
    }

    def __init__(self, *, min_value: int | None = None, max_value: int | None = None, currency: str | None = None, **kwargs):
        self.currency = currency or settings.CURRENCY
        self.min_value, self.max_value = min_value, max_value
        kwargs.setdefault("widget", MoneyInput(currency=self.currency))
        kwargs.setdefault("help_text", f"In {self.currency}, e.g. 19.99.")
        super().__init__(**kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        return parse_major_units(str(value), self.currency)

    def validate(self, value):
        super().validate(value)
        if value is None:
            return
        if self.min_value is not None and value < self.min_value:
            raise forms.ValidationError(self.error_messages["min_value"], code="min_value", params={"limit": format_money(self.min_value, self.currency)})
        if self.max_value is not None and value > self.max_value:
            raise forms.ValidationError(self.error_messages["max_value"], code="max_value", params={"limit": format_money(self.max_value, self.currency)})

    def has_changed(self, initial, data):
        try:
            return self.to_python(data) != initial
        except forms.ValidationError:
            return True


class MoneyFieldsAdmin(admin.ModelAdmin):
    """Renders the model fields named in `money_fields` with MoneyField (their integer columns hold
    minor units). `money_limits` maps a field to its (minimum, maximum) in minor units."""

    money_fields: tuple[str, ...] = ()
    money_limits: dict[str, tuple[int | None, int | None]] = {}

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name not in self.money_fields:
            return super().formfield_for_dbfield(db_field, request, **kwargs)
        minimum, maximum = self.money_limits.get(db_field.name, (0, None))
        options = {"help_text": db_field.help_text} if db_field.help_text else {}
        return MoneyField(
            label=db_field.verbose_name.capitalize(),
            required=not db_field.blank,
            min_value=minimum,
            max_value=maximum,
            initial=db_field.default if db_field.has_default() else None,
            **options,
        )
