"""Sales totals per product: the daily table (the truth) and its ISO-weekly and monthly rollups.

The rankings consumer (apps.rankings.services) keeps all three in the same transaction as it records
an order event as handled; `rebuild_rankings` recomputes them from the orders. A day is the payment
day in settings.TIME_ZONE, a week starts on Monday, a month on its first day.

No database-level foreign keys on these derived tables: an InnoDB foreign-key check share-locks the
parent row until commit, which would make checkouts (they lock product rows) wait for the consumer.
Products are never deleted.
"""

from django.db import models
from django.db.models import Q


class SalesTotals(models.Model):
    product = models.ForeignKey("catalog.Product", on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False)
    units_sold = models.BigIntegerField(default=0)
    revenue = models.BigIntegerField(default=0)  # sum of line totals, minor units
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


def _totals_meta(period_field: str, name: str) -> dict:
    """Constraints and indexes every totals table shares, for its period column."""
    return {
        "constraints": [
            models.UniqueConstraint(fields=[period_field, "product"], name=f"rankings_{name}_{period_field}_product_unique"),
            models.CheckConstraint(condition=Q(units_sold__gte=0) & Q(revenue__gte=0), name=f"rankings_{name}_non_negative"),
        ],
        # A period's top N is a forward scan of this index that stops after N rows, whatever the history.
        "indexes": [models.Index(fields=[period_field, "-units_sold", "-revenue", "product"], name=f"rankings_{name}_top")],
    }


class ProductSalesDaily(SalesTotals):
    """Units and revenue of one product on one payment day: the truth the other tables and Redis derive from."""

    day = models.DateField()
    # Raised by every change of the row: Redis keeps the newest version it was told of, so writes
    # that arrive late or twice (a repair racing the consumer) never move a total backwards.
    version = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-day", "-units_sold", "-revenue", "product_id"]
        verbose_name = "daily product sales"
        verbose_name_plural = "daily product sales"
        constraints = _totals_meta("day", "daily")["constraints"]
        indexes = [
            *_totals_meta("day", "daily")["indexes"],
            models.Index(fields=["product", "day"], name="rankings_daily_product_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} product {self.product_id}: {self.units_sold}"


class ProductSalesWeekly(SalesTotals):
    """The ISO week's totals (Monday to Sunday), kept with the daily table."""

    week = models.DateField(help_text="The Monday the week starts on.")

    class Meta:
        ordering = ["-week", "-units_sold", "-revenue", "product_id"]
        verbose_name = "weekly product sales"
        verbose_name_plural = "weekly product sales"
        constraints = _totals_meta("week", "weekly")["constraints"]
        indexes = _totals_meta("week", "weekly")["indexes"]

    def __str__(self) -> str:
        return f"week of {self.week} product {self.product_id}: {self.units_sold}"


class ProductSalesMonthly(SalesTotals):
    """The calendar month's totals, kept with the daily table."""

    month = models.DateField(help_text="The first day of the month.")

    class Meta:
        ordering = ["-month", "-units_sold", "-revenue", "product_id"]
        verbose_name = "monthly product sales"
        verbose_name_plural = "monthly product sales"
        constraints = _totals_meta("month", "monthly")["constraints"]
        indexes = _totals_meta("month", "monthly")["indexes"]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} product {self.product_id}: {self.units_sold}"


class RebuildGate(models.Model):
    """One row: every consumer transaction share-locks it, a rebuild locks it exclusively (locks.py)."""

    name = models.CharField(max_length=20, primary_key=True)

    def __str__(self) -> str:
        return self.name
