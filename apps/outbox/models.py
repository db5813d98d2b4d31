import uuid

from django.db import models
from django.utils import timezone


class OutboxEvent(models.Model):
    """An event for the data platform, written in the same transaction as the change it reports."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        DEAD = "dead", "Dead"

    # The primary key orders one aggregate's events (its writers lock the aggregate); event_id is
    # the public identity sent to the platform.
    event_id = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=100)
    aggregate_type = models.CharField(max_length=50)
    aggregate_id = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    request_id = models.CharField(max_length=128, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbox_due"),
            models.Index(fields=["aggregate_type", "aggregate_id", "status"], name="outbox_aggregate"),
            models.Index(fields=["status", "sent_at"], name="outbox_retention"),
            models.Index(fields=["type", "status"], name="outbox_type_status"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.aggregate_type}:{self.aggregate_id} ({self.status})"


class ConsumerPosition(models.Model):
    """Where one of the shop's own consumers stands in the outbox, like a Kafka consumer group's offset.

    `cursor` is the highest event id the consumer has read. Ids are not handed out in commit order,
    so an event with a lower id may commit after a higher one was read: `watermark` trails the cursor
    by CONSUMER_SETTLE_SECONDS of events, and the range between them is scanned again for events the
    consumer has not handled. Every event at or below the watermark is handled or parked, so
    retention may delete it once every consumer's watermark has passed it.
    """

    consumer = models.CharField(max_length=50, unique=True)
    cursor = models.BigIntegerField(default=0)
    watermark = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["consumer"]

    def __str__(self) -> str:
        return self.consumer


class ConsumedEvent(models.Model):
    """One event as one consumer handled it. The unique (consumer, event) row is what makes handling happen once."""

    class Status(models.TextChoices):
        DONE = "done", "Done"
        CLAIMED = "claimed", "Being handled"
        FAILED = "failed", "Failed, will retry"
        PARKED = "parked", "Parked"

    consumer = models.CharField(max_length=50)
    # No database foreign key: retention deletes the outbox row and this one together, and
    # recording a handled event must not wait for the relay's lock on the event row.
    event = models.ForeignKey(OutboxEvent, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="A failed event's next try, or a claim's lease end.")
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["consumer", "event"], name="outbox_consumed_once")]
        indexes = [models.Index(fields=["consumer", "status", "next_attempt_at"], name="consumed_due")]

    def __str__(self) -> str:
        return f"{self.consumer}: event {self.event_id} ({self.status})"
