from celery import shared_task

from apps.rankings import services


@shared_task
def aggregate_sales() -> dict:
    """Beat, every RANKINGS_INTERVAL_SECONDS: count new sales and publish the top lists."""
    result = services.aggregate_sales()
    return {"ran": result.ran, "orders_read": result.orders_read, "orders_changed": result.orders_changed}
