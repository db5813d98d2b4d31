import json

from django.db import models
from django.utils import timezone


class DevReceivedEvent(models.Model):
    """What the development receiver (/dev/data-platform/events) accepted, one row per arrival.

    Delivery is at least once, so the same event_id may arrive more than once.
    """

    event_id = models.UUIDField(db_index=True)
    type = models.CharField(max_length=100)
    occurred_at = models.DateTimeField(null=True, blank=True)
    data = models.JSONField(default=dict)
    request_id = models.CharField(max_length=128, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        verbose_name = "event received in development"
        verbose_name_plural = "events received in development"

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"

    @property
    def data_json(self) -> str:
        return json.dumps(self.data, sort_keys=True, ensure_ascii=False)
