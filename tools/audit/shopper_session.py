"""Prints, as JSON, a logged-in demo shopper's session cookie and the paths the audit visits.

Run after `seed_demo` against the same database as the server under audit. The shopper gets one
paid wallet order (the first time) and a cart of two products, so that the cart, checkout and
order pages show what a real shopper sees.
"""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.test import Client  # noqa: E402

from apps.cart.services import add_to_cart, clear_cart  # noqa: E402
from apps.catalog.models import Product  # noqa: E402
from apps.devtools.management.commands.seed_demo import SHOPPER_EMAIL  # noqa: E402
from apps.orders.models import Order  # noqa: E402
from apps.orders.services import OrderLine, place_order  # noqa: E402


def main() -> None:
    shopper = get_user_model().objects.get(email=SHOPPER_EMAIL)
    products = list(Product.objects.filter(is_active=True, stock__gt=10).order_by("price")[:2])
    order = Order.objects.filter(user=shopper, status=Order.Status.PAID).order_by("-id").first()
    if order is None:
        order = place_order(user=shopper, lines=[OrderLine(product_id=p.pk, quantity=1) for p in products])
    clear_cart(user=shopper)
    for product in products:
        add_to_cart(user=shopper, product_id=product.pk, quantity=1)
    client = Client()
    client.force_login(shopper)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    detail = Product.objects.filter(is_active=True, stock__gt=0).order_by("-created_at", "-id").first()
    print(
        json.dumps(
            {
                "cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}",
                "session_cookie_name": settings.SESSION_COOKIE_NAME,
                "session_key": cookie,
                "product_path": detail.get_absolute_url(),
                "order_path": f"/orders/{order.pk}/",
            }
        )
    )


if __name__ == "__main__":
    main()
