"""Orders made directly in the database (no services): the rankings only read them."""

from datetime import datetime

import factory
from django.utils import timezone

from apps.orders.models import Order, OrderItem
from tests.factories import ProductFactory, UserFactory


class OrderFactory(factory.django.DjangoModelFactory):
    """`created_at` / `updated_at` may be given: they are written after the save (auto_now ignores them)."""

    class Meta:
        model = Order

    user = factory.SubFactory(UserFactory)
    status = Order.Status.PAID
    subtotal = 0
    discount = 0
    total = 0
    paid_at = factory.LazyFunction(timezone.now)

    @classmethod
    def _create(cls, model_class, *args, created_at=None, updated_at=None, **kwargs):
        order = super()._create(model_class, *args, **kwargs)
        stamps = {name: value for name, value in (("created_at", created_at), ("updated_at", updated_at)) if value is not None}
        if stamps:
            model_class.objects.filter(pk=order.pk).update(**stamps)
            order.refresh_from_db()
        return order


class OrderItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory)
    product = factory.SubFactory(ProductFactory)
    product_name = factory.LazyAttribute(lambda item: item.product.name)
    unit_price = factory.LazyAttribute(lambda item: item.product.price)
    quantity = 1
    line_total = factory.LazyAttribute(lambda item: item.unit_price * item.quantity)


def make_order(*, user, lines, paid_at: datetime, status: str = Order.Status.PAID, updated_at: datetime | None = None) -> Order:
    """A paid (or cancelled) order of `lines` = [(product, quantity), ...] paid at `paid_at`."""
    subtotal = sum(product.price * quantity for product, quantity in lines)
    cancelled_at = paid_at if status == Order.Status.CANCELLED else None
    order = OrderFactory(
        user=user, status=status, subtotal=subtotal, total=subtotal, paid_at=paid_at, cancelled_at=cancelled_at,
        created_at=paid_at, updated_at=updated_at or paid_at,
    )
    for product, quantity in lines:
        OrderItemFactory(order=order, product=product, quantity=quantity)
    return order


def cancel_order(order: Order, *, at: datetime | None = None) -> None:
    """What the orders service does to the row: paid → cancelled, with fresh timestamps."""
    at = at or timezone.now()
    Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELLED, cancelled_at=at, updated_at=at)
