from django import template

from apps.core.money import format_money

register = template.Library()


@register.filter(name="money")
def money(amount, currency=None):
    """{{ product.price|money }} → "$12.50"; a negative amount gets a real minus sign: "−$5.00"."""
    return format_money(amount, currency)


@register.filter(name="minus_money")
def minus_money(amount, currency=None):
    """A discount or refund shown as taken off: {{ 500|minus_money }} → "−$5.00" ("$0.00" for nothing)."""
    if amount is None:
        return ""
    return format_money(-abs(int(amount)), currency)
