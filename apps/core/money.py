"""Money is an integer count of the currency's minor unit (cents for USD)."""

from django.conf import settings

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}
# The typographic minus sign (U+2212), not a hyphen: "−$5.00".
MINUS = "\u2212"


def format_money(amount: int | None, currency: str | None = None) -> str:
    if amount is None:
        return ""
    currency = currency or settings.CURRENCY
    sign = MINUS if amount < 0 else ""
    major, minor = divmod(abs(int(amount)), 100)
    symbol = _SYMBOLS.get(currency)
    number = f"{major:,}.{minor:02d}"
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {currency}"
