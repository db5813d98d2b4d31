"""Orders for the rankings tests: placed through apps.orders.services (the events the consumer reads),
or written directly with their sales counted by the rankings service (pages and reads only)."""

from collections import defaultdict
from datetime import datetime

import factory
from django.db import transaction
from django.utils import timezone

from apps.orders.models import Order, OrderItem
from apps.rankings import selectors, services
from tests.factories import ProductFactory, UserFactory


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    user = factory.SubFactory(UserFactory)
    status = Order.Status.PAID
    subtotal = 0
    discount = 0
    total = 0
    paid_at = factory.LazyFunction(timezone.now)


class OrderItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory)
    product = factory.SubFactory(ProductFactory)
    product_name = factory.LazyAttribute(lambda item: item.product.name)
    unit_price = factory.LazyAttribute(lambda item: item.product.price)
    quantity = 1
    line_total = factory.LazyAttribute(lambda item: item.unit_price * item.quantity)


def make_order(*, user, lines, paid_at: datetime) -> Order:
    """A paid order of `lines` = [(product, quantity), ...] paid at `paid_at`, its sale counted as the consumer would."""
    subtotal = sum(product.price * quantity for product, quantity in lines)
    order = OrderFactory(user=user, subtotal=subtotal, total=subtotal, paid_at=paid_at)
    for product, quantity in lines:
        OrderItemFactory(order=order, product=product, quantity=quantity)
    counted: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for item in order.items.all():
        counted[item.product_id][0] += item.quantity
        counted[item.product_id][1] += item.line_total
    with transaction.atomic():
        services.record_sales(day=selectors.sales_day(paid_at), lines={pid: (units, revenue) for pid, (units, revenue) in counted.items()})
    return order
