import json

from django.contrib import admin, messages
from django.utils.html import format_html

from apps.core.admin import ReadOnlyAdminMixin
from apps.outbox import selectors, services
from apps.outbox.models import OutboxEvent


def _pretty_json(value) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False))


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: events change only through the relay and the "send again" action (a service)."""

    list_display = ("id", "type", "aggregate", "status", "attempts", "next_attempt_at", "created_at", "sent_at")
    list_filter = ("status", "type")
    search_fields = ("=event_id", "=aggregate_id", "=request_id")
    ordering = ("-id",)
    show_full_result_count = False
    actions = ["send_again"]
    fields = (
        "event_id", "type", "aggregate_type", "aggregate_id", "status", "attempts", "next_attempt_at",
        "last_error", "payload_pretty", "request_id", "created_at", "sent_at", "updated_at",
    )
    readonly_fields = fields

    def has_resend_permission(self, request) -> bool:
        return request.user.has_perm("outbox.change_outboxevent")

    @admin.display(description="aggregate")
    def aggregate(self, obj: OutboxEvent) -> str:
        return f"{obj.aggregate_type}:{obj.aggregate_id}"

    @admin.display(description="payload")
    def payload_pretty(self, obj: OutboxEvent) -> str:
        return _pretty_json(obj.payload)

    @admin.action(description="Send selected dead events again", permissions=["resend"])
    def send_again(self, request, queryset):
        selected = list(queryset.values_list("pk", flat=True))
        count = services.resend_dead_events(event_ids=selected)
        self.message_user(request, f"{count} dead event(s) queued to be sent again.", messages.SUCCESS)
        if count < len(selected):
            self.message_user(request, f"{len(selected) - count} selected event(s) were not dead and were left alone.", messages.WARNING)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "outbox_counts": selectors.outbox_counts()}
        return super().changelist_view(request, extra_context=extra_context)
