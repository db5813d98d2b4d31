from django import template

from apps.core.money import format_money

register = template.Library()


@register.filter(name="money")
def money(amount, currency=None):
    """{{ product.price|money }} → "$12.50"."""
    return format_money(amount, currency)
