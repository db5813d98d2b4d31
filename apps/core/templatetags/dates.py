"""The shop's one date format, in the shop's time zone, as a <time> element.

{{ order.created_at|when }} → <time datetime="2026-11-25T17:20:00+00:00">Nov 25, 2026, 17:20</time>
{{ coupon.issued_at|day }} → <time datetime="2026-11-25">Nov 25, 2026</time>
"""

import datetime

from django import template
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.html import format_html

register = template.Library()

DAY_FORMAT = "M j, Y"
TIME_FORMAT = "H:i"


def _local(value):
    if isinstance(value, datetime.datetime) and timezone.is_aware(value):
        return timezone.localtime(value)
    return value


@register.filter(name="when")
def when(value):
    """A moment: the day and the time of day."""
    if not value:
        return ""
    value = _local(value)
    text = f"{format_date(value, DAY_FORMAT)}, {format_date(value, TIME_FORMAT)}"
    return format_html('<time datetime="{}">{}</time>', value.replace(microsecond=0).isoformat(), text)


@register.filter(name="day")
def day(value):
    """A day (of a date, or of a moment in the shop's time zone)."""
    if not value:
        return ""
    value = _local(value)
    date = value.date() if isinstance(value, datetime.datetime) else value
    return format_html('<time datetime="{}">{}</time>', date.isoformat(), format_date(date, DAY_FORMAT))
