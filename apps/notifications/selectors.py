from apps.orders.models import Order


def order_for_mail(*, order_id: int) -> Order | None:
    """The order a mail is about, with its shopper and lines (a plain read: no transaction, no lock)."""
    return Order.objects.select_related("user").prefetch_related("items").filter(pk=order_id).first()
