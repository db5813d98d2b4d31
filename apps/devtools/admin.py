import json

from django.contrib import admin
from django.utils.html import format_html

from apps.devtools.models import DevReceivedEvent


@admin.register(DevReceivedEvent)
class DevReceivedEventAdmin(admin.ModelAdmin):
    """What the development receiver got, to watch the pipeline work under `make run`."""

    list_display = ("received_at", "type", "event_id", "request_id")
    list_filter = ("type",)
    search_fields = ("=event_id",)
    fields = ("event_id", "type", "occurred_at", "data_pretty", "request_id", "received_at")
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="data")
    def data_pretty(self, obj: DevReceivedEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.data, indent=2, sort_keys=True, ensure_ascii=False))
