from django.db import models
from django.db.models import Q


class ProductSalesDaily(models.Model):
    """Units sold and revenue (sum of line totals, minor units) of one product on one calendar day.

    The day is the order's payment day in settings.TIME_ZONE. Only paid orders that are not
    cancelled count; the aggregation keeps each row equal to the sum over RankedOrder's counted orders.
    """

    day = models.DateField()
    # No database-level foreign keys on these derived tables: an InnoDB foreign-key check share-locks
    # the parent row until commit, which would make checkouts (they lock product rows) wait for,
    # or deadlock with, an aggregation batch. Products and orders are never deleted.
    product = models.ForeignKey("catalog.Product", on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False)
    units_sold = models.BigIntegerField(default=0)
    revenue = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-day", "-units_sold", "product_id"]
        verbose_name = "daily product sales"
        verbose_name_plural = "daily product sales"
        constraints = [
            models.UniqueConstraint(fields=["day", "product"], name="rankings_daily_day_product_unique"),
            models.CheckConstraint(condition=Q(units_sold__gte=0) & Q(revenue__gte=0), name="rankings_daily_non_negative"),
        ]
        indexes = [models.Index(fields=["product", "day"], name="rankings_daily_product_day")]

    def __str__(self) -> str:
        return f"{self.day} product {self.product_id}: {self.units_sold}"


class RankedOrder(models.Model):
    """What the aggregation has counted for one order: its lines on `counted_day`, or nothing (NULL).

    Each run compares an order's current contribution with this row and applies only the
    difference, in the same transaction that updates the row, so repeating a run is harmless.
    """

    order = models.OneToOneField("orders.Order", primary_key=True, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False)
    counted_day = models.DateField(null=True, blank=True)
    counted_status = models.CharField(max_length=12, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["counted_day"], name="rankings_ranked_counted_day")]

    def __str__(self) -> str:
        return f"Order #{self.order_id} counted on {self.counted_day}"


class AggregationWatermark(models.Model):
    """Where the next aggregation run starts reading orders by `updated_at` (minus a safety overlap)."""

    name = models.CharField(max_length=50, primary_key=True)
    watermark = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name}: {self.watermark}"
