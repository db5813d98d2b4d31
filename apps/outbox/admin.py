import json

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from apps.core.admin import ReadOnlyAdminMixin, moment_column
from apps.outbox import consumers, selectors, services
from apps.outbox.models import ConsumedEvent, ConsumerPosition, OutboxEvent


def _pretty_json(value) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False))


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: events change only through the relay and the "send again" action (a service)."""

    # Fits 1366 px beside the filters: the send time and the error are on the event's page.
    list_display = ("id", "type", "aggregate", "status", "tries", "next_try", "created")
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

    created = moment_column("created_at", "created")
    next_try = moment_column("next_attempt_at", "next try")

    @admin.display(description="tries", ordering="attempts")
    def tries(self, obj: OutboxEvent) -> int:
        return obj.attempts

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


@admin.register(ConsumerPosition)
class ConsumerPositionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Each internal consumer's position in the outbox and how far behind it is."""

    list_display = ("consumer", "cursor", "watermark", "behind", "oldest_pending", "failed", "parked", "updated")
    updated = moment_column("updated_at", "updated")

    def get_queryset(self, request):
        self._lag = {entry.consumer: entry for entry in consumers.lag()}
        return super().get_queryset(request)

    def _entry(self, obj: ConsumerPosition):
        return getattr(self, "_lag", {}).get(obj.consumer)

    @admin.display(description="events behind")
    def behind(self, obj: ConsumerPosition):
        entry = self._entry(obj)
        return entry.behind if entry else "-"

    @admin.display(description="oldest unread")
    def oldest_pending(self, obj: ConsumerPosition):
        entry = self._entry(obj)
        if entry is None or entry.oldest_pending_seconds is None:
            return "-"
        return f"{entry.oldest_pending_seconds:.0f} s"

    @admin.display(description="failing")
    def failed(self, obj: ConsumerPosition):
        entry = self._entry(obj)
        return entry.failed if entry else "-"

    @admin.display(description="parked")
    def parked(self, obj: ConsumerPosition):
        entry = self._entry(obj)
        return entry.parked if entry else "-"


@admin.register(ConsumedEvent)
class ConsumedEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What each consumer did with each event; parked events are retried from here."""

    list_display = ("id", "consumer", "event_link", "status", "tries", "next_try", "updated")
    list_filter = ("status", "consumer")
    search_fields = ("=event__id",)
    ordering = ("-id",)
    show_full_result_count = False
    list_select_related = ("event",)
    actions = ["retry"]
    fields = ("consumer", "event_link", "status", "attempts", "next_attempt_at", "last_error", "created_at", "updated_at")
    readonly_fields = fields

    def has_retry_permission(self, request) -> bool:
        return request.user.has_perm("outbox.change_consumedevent")

    next_try = moment_column("next_attempt_at", "next try")
    updated = moment_column("updated_at", "updated")

    @admin.display(description="tries", ordering="attempts")
    def tries(self, obj: ConsumedEvent) -> int:
        return obj.attempts

    @admin.display(description="event")
    def event_link(self, obj: ConsumedEvent) -> str:
        url = reverse("admin:outbox_outboxevent_change", args=[obj.event_id])
        return format_html('<a href="{}">{} #{}</a>', url, obj.event.type if obj.event else "event", obj.event_id)

    @admin.action(description="Retry selected parked events", permissions=["retry"])
    def retry(self, request, queryset):
        selected = list(queryset.values_list("pk", flat=True))
        count = consumers.retry_parked(record_ids=selected)
        self.message_user(request, f"{count} parked event(s) will be handled again on the next run.", messages.SUCCESS)
        if count < len(selected):
            self.message_user(request, f"{len(selected) - count} selected event(s) were not parked and were left alone.", messages.WARNING)
