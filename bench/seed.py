"""Bench data, created inside Django on a bench database (the scripts run these through bench/call.py).

Users with API tokens, categories and products are bulk-inserted: they start plain, and speed matters
at thousands of rows. Coupon campaigns are created by the coupon service, and wallets are funded by
the wallet service (adjust_wallet), so every funded wallet starts with what the shop itself writes:
the balance, its version, one ledger line and one outbox event.
"""

from __future__ import annotations

import random

from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.authtoken.models import Token

from apps.catalog.models import Category, Product
from apps.coupons.services import create_coupon
from apps.outbox.models import OutboxEvent
from apps.wallets.services import adjust_wallet

EMAIL_DOMAIN = "bench.example"
FUNDING_NOTE = "bench seed"
# Wallets funded per transaction: adjust_wallet runs in a savepoint of it, so a batch costs one commit.
FUNDING_BATCH = 250
BULK_BATCH = 1000


def bench_users(prefix: str):
    """The users seed_users created with `prefix`, in creation order."""
    return get_user_model().objects.filter(email__startswith=prefix, email__endswith=f"@{EMAIL_DOMAIN}").order_by("id")


def seed_users(*, count: int, prefix: str, staff: bool = False) -> list[str]:
    """`count` users (prefix0@bench.example, ...) with unusable passwords and API tokens; their token keys in creation order."""
    User = get_user_model()
    users = [User(email=f"{prefix}{i}@{EMAIL_DOMAIN}", name=f"Bench {prefix}{i}", is_staff=staff) for i in range(count)]
    for user in users:
        user.set_unusable_password()
    User.objects.bulk_create(users, batch_size=BULK_BATCH)
    tokens = [Token(key=Token.generate_key(), user=user) for user in bench_users(prefix)]
    Token.objects.bulk_create(tokens, batch_size=BULK_BATCH)
    return [token.key for token in tokens]


def fund_wallets(*, prefix: str, amount: int) -> int:
    """Adds `amount` to the wallet of every bench user with `prefix` through adjust_wallet; returns how many."""
    users = list(bench_users(prefix))
    for start in range(0, len(users), FUNDING_BATCH):
        with transaction.atomic():
            for user in users[start : start + FUNDING_BATCH]:
                adjust_wallet(user=user, amount=amount, note=FUNDING_NOTE)
    return len(users)


def seed_products(*, products: int, categories: int, stock: int, hot_stock: int) -> dict:
    """`products` products of `stock` each over `categories` categories, plus one hot product with `hot_stock` and a
    marker product of `stock` that only the popular-products lag probe buys (so its count moves only with the probe)."""
    rng = random.Random(7)
    created = Category.objects.bulk_create([Category(name=f"Bench {i}", slug=f"bench-{i}") for i in range(1, categories + 1)])
    Product.objects.bulk_create(
        [
            Product(
                sku=f"BENCH-{i:05d}",
                name=f"Bench product {i}",
                slug=f"bench-product-{i}",
                description="A product for the load bench.",
                price=rng.randint(100, 5000),
                stock=stock,
                category=created[i % categories],
            )
            for i in range(products)
        ],
        batch_size=BULK_BATCH,
    )
    hot = Product.objects.create(sku="BENCH-HOT", name="Hot deal", slug="hot-deal", price=999, stock=hot_stock, category=created[0])
    marker = Product.objects.create(sku="BENCH-MARKER", name="Marker", slug="bench-marker", price=100, stock=stock, category=created[0])
    product_ids = list(Product.objects.exclude(pk__in=(hot.pk, marker.pk)).order_by("pk").values_list("pk", flat=True))
    return {"product_ids": product_ids, "hot_product_id": hot.pk, "marker_product_id": marker.pk}


def seed_shop(*, shopper_prefix: str, wallet_funds: int, products: int, categories: int, stock: int, hot_stock: int, coupons: int = 0) -> dict:
    """The checkout benches' shop: products (seed_products), funded wallets for the shoppers and, when
    `coupons` is given, a fixed-discount campaign of that many coupons."""
    seeded = seed_products(products=products, categories=categories, stock=stock, hot_stock=hot_stock)
    if coupons:
        seeded["coupon_id"] = create_coupon(name="Bench rush", discount_type="fixed", discount_value=500, total_quantity=coupons).pk
    seeded["funded_wallets"] = fund_wallets(prefix=shopper_prefix, amount=wallet_funds)
    return seeded


def seed_search_catalog(*, products: int, categories: int) -> list[int]:
    """Products with searchable names, a spread of prices and stock (some sold out), for the catalog reads bench."""
    rng = random.Random(7)
    words = ["blue", "red", "quiet", "fast", "smart", "classic", "mini", "pro", "eco", "travel"]
    nouns = ["lamp", "kettle", "speaker", "jacket", "bottle", "chair", "puzzle", "mat", "headphones", "tent"]
    created = Category.objects.bulk_create([Category(name=f"Category {i}", slug=f"category-{i}") for i in range(categories)])
    Product.objects.bulk_create(
        [
            Product(
                sku=f"B-{i:06d}",
                name=f"{rng.choice(words).title()} {rng.choice(nouns)} {i}",
                slug=f"bench-product-{i}",
                description=f"A {rng.choice(words)} {rng.choice(nouns)} for everyday use.",
                price=rng.randint(199, 49999),
                stock=rng.choice([0, 3, 25, 100, 500]),
                category=created[i % categories],
            )
            for i in range(products)
        ],
        batch_size=BULK_BATCH,
    )
    return list(Product.objects.order_by("id").values_list("id", flat=True))


def seed_pending_events(*, events: int, per_aggregate: int) -> int:
    """`events` pending order.paid events, `per_aggregate` per order id, for the relay bench; returns the pending count.

    Bulk-inserted rather than published one by one: the relay bench measures delivery, and its orders
    need not exist (the relay reads only the events).
    """
    aggregates = max(1, events // per_aggregate)
    OutboxEvent.objects.bulk_create(
        (
            OutboxEvent(
                type="order.paid",
                aggregate_type="orders.order",
                aggregate_id=str(i % aggregates),
                payload={"order_id": i % aggregates, "seq": i // aggregates, "total": 12990, "currency": "USD"},
            )
            for i in range(events)
        ),
        batch_size=BULK_BATCH,
    )
    return OutboxEvent.objects.filter(status=OutboxEvent.Status.PENDING).count()
