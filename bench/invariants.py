"""What the database must hold after a bench run, read inside Django (through bench/call.py).

`shop_invariants` is make bench's check: the facts it reads and the verdicts that need nothing but
the database. The scripts add the verdicts that compare the database with what the server answered.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.apps import apps
from django.db import connection, models
from django.db.models import Count, Max, Min, Sum
from rest_framework.authtoken.models import Token

from apps.catalog.models import Product
from apps.core.models import IdempotencyKey
from apps.coupons.models import Coupon, UserCoupon
from apps.orders.models import Order, OrderItem
from apps.outbox.models import OutboxEvent
from apps.payments.models import Payment
from apps.rankings import selectors as rankings_selectors
from apps.wallets.models import Wallet, WalletTransaction

# The card make bench pays with (the PG simulator approves it): no trace of it may reach the database.
TEST_CARD = "4242424242424242"
HOLDING = (Order.Status.PAID, Order.Status.PENDING_PAYMENT)

WALLET_EVENTS = {
    WalletTransaction.Kind.CHARGE: "wallet.charged",
    WalletTransaction.Kind.PAYMENT: "wallet.debited",
    WalletTransaction.Kind.REFUND: "wallet.refunded",
    WalletTransaction.Kind.ADJUSTMENT: "wallet.adjusted",
}


def units_sold(statuses=(Order.Status.PAID,)) -> dict[int, int]:
    """Units per product in orders of `statuses` (paid, by default)."""
    rows = OrderItem.objects.filter(order__status__in=statuses).values("product_id").annotate(n=Sum("quantity"))
    return {row["product_id"]: row["n"] for row in rows}


def products_where_stock_decrease_differs_from_units_sold(*, initial_stock: int, hot_product_id: int, hot_stock: int) -> list[int]:
    """Products whose stock went down by anything but the units of their paid and pending_payment orders
    (a card order waiting for its payment holds its units)."""
    sold = units_sold(HOLDING)
    return [
        pk
        for pk, stock in Product.objects.values_list("pk", "stock")
        if (hot_stock if pk == hot_product_id else initial_stock) - stock != sold.get(pk, 0)
    ]


def wallets_where_balance_or_version_differs_from_ledger() -> list[int]:
    """Wallets whose balance is not the sum of their ledger lines, or whose version is not their line count."""
    ledger = {
        row["wallet_id"]: (row["total"], row["lines"])
        for row in WalletTransaction.objects.values("wallet_id").annotate(total=Sum("amount"), lines=Count("id")).order_by()
    }
    return [pk for pk, balance, version in Wallet.objects.values_list("pk", "balance", "version") if (balance, version) != ledger.get(pk, (0, 0))]


def _count_by(queryset, field: str) -> dict[str, int]:
    return dict(queryset.values_list(field).annotate(n=Count("id")).order_by())


def percentiles(values: list[float]) -> dict[str, float]:
    """count, p50, p95 and max of `values` (nearest rank), as make bench reports latencies."""
    ordered = sorted(values)
    if not ordered:
        return {"count": 0, "p50": 0.0, "p95": 0.0, "max": 0.0}

    def rank(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]

    return {"count": len(ordered), "p50": rank(50), "p95": rank(95), "max": ordered[-1]}


def card_paid_seconds() -> dict[str, float]:
    """Time from order to `paid` of the paid card orders (paid_at - created_at, both written by the shop)."""
    spans = Order.objects.filter(payment_method=Order.PaymentMethod.CARD, status=Order.Status.PAID).values_list("created_at", "paid_at")
    return percentiles([(paid_at - created_at).total_seconds() for created_at, paid_at in spans])


def text_columns() -> list[tuple[str, str]]:
    """(table, column) of every text-holding column of the shop's tables: char, text and JSON."""
    kinds = (models.CharField, models.TextField, models.JSONField)
    return [
        (model._meta.db_table, field.column)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, kinds)
    ]


def rows_holding_card_number(number: str) -> dict[str, int]:
    """Rows, per table.column, whose text holds the card number (as digits, or in groups of four split by spaces)."""
    grouped = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    found = {}
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table, column in text_columns():
            cursor.execute(
                f"SELECT COUNT(*) FROM {quote(table)} WHERE CAST({quote(column)} AS CHAR) LIKE %s OR CAST({quote(column)} AS CHAR) LIKE %s",
                [f"%{number}%", f"%{grouped}%"],
            )
            (n,) = cursor.fetchone()
            if n:
                found[f"{table}.{column}"] = n
    return found


def shop_facts(
    *, hot_product_id: int, hot_stock: int, spread_stock: int, coupon_id: int, card_number: str = TEST_CARD, hot_run: list[str] | None = None
) -> dict:
    """Everything make bench reports about the database after a run. `hot_run` ([start, end], ISO times) bounds
    the checkout-hot scenario: its orders and selling window leave out other steps' orders of the product."""
    coupon = Coupon.objects.get(pk=coupon_id)
    issued = UserCoupon.objects.filter(coupon=coupon)
    hot_orders = Order.objects.filter(items__product_id=hot_product_id)
    if hot_run:
        hot_orders = hot_orders.filter(created_at__range=[datetime.fromisoformat(moment) for moment in hot_run])
    window = hot_orders.aggregate(first=Min("created_at"), last=Max("created_at"))
    events = _count_by(OutboxEvent.objects.all(), "type")
    return {
        "coupon_issued_quantity": coupon.issued_quantity,
        "coupon_rows": issued.count(),
        "coupon_distinct_users": issued.values("user").distinct().count(),
        "products_where_stock_decrease_differs_from_units_sold": products_where_stock_decrease_differs_from_units_sold(
            initial_stock=spread_stock, hot_product_id=hot_product_id, hot_stock=hot_stock
        )[:10],
        "min_stock": Product.objects.aggregate(m=Min("stock"))["m"],
        "hot_stock_left": Product.objects.get(pk=hot_product_id).stock,
        "hot_units_sold": units_sold(HOLDING).get(hot_product_id, 0),
        "hot_orders": hot_orders.count(),
        "hot_window_seconds": (window["last"] - window["first"]).total_seconds() if window["first"] else 0,
        "wallets_where_balance_or_version_differs_from_ledger": wallets_where_balance_or_version_differs_from_ledger()[:10],
        "min_balance": Wallet.objects.aggregate(m=Min("balance"))["m"],
        "orders": Order.objects.count(),
        "orders_by_method_and_status": {
            f"{method} {status}": n for (method, status), n in _count_pairs(Order.objects.all(), "payment_method", "status").items()
        },
        "paid_orders": Order.objects.filter(status=Order.Status.PAID).count(),
        "card_orders": Order.objects.filter(payment_method=Order.PaymentMethod.CARD).count(),
        "paid_card_orders_without_approved_payment": list(
            Order.objects.filter(payment_method=Order.PaymentMethod.CARD, status=Order.Status.PAID)
            .exclude(payment__status=Payment.Status.APPROVED)
            .values_list("pk", flat=True)[:10]
        ),
        "paid_card_totals": Order.objects.filter(payment_method=Order.PaymentMethod.CARD, status=Order.Status.PAID).aggregate(s=Sum("total"))["s"] or 0,
        "approved_card_payments": Payment.objects.filter(method=Payment.Method.CARD, status=Payment.Status.APPROVED).aggregate(s=Sum("amount"))["s"] or 0,
        "card_paid_seconds": card_paid_seconds(),
        "rows_holding_card_number": rows_holding_card_number(card_number),
        "order_totals": Order.objects.filter(payment_method=Order.PaymentMethod.WALLET).aggregate(s=Sum("total"))["s"] or 0,
        "wallet_payments": -(WalletTransaction.objects.filter(kind=WalletTransaction.Kind.PAYMENT).aggregate(s=Sum("amount"))["s"] or 0),
        "ledger_lines": _count_by(WalletTransaction.objects.all(), "kind"),
        "events": events,
        "events_total": sum(events.values()),
        "events_by_status": _count_by(OutboxEvent.objects.all(), "status"),
        "idempotency_in_progress": IdempotencyKey.objects.filter(status=IdempotencyKey.Status.IN_PROGRESS).count(),
    }


def _count_pairs(queryset, first: str, second: str) -> dict[tuple[str, str], int]:
    return {(a, b): n for a, b, n in queryset.values_list(first, second).annotate(n=Count("id")).order_by()}


def shop_checks(facts: dict, *, hot_stock: int, coupons_issued: int) -> list[tuple[str, bool]]:
    """The verdicts on shop_facts that need nothing but the database: (what was checked, whether it holds)."""
    events, lines = facts["events"], facts["ledger_lines"]
    wallet_events = ", ".join(f"{event} {events.get(event, 0)} == {kind} lines {lines.get(kind, 0)}" for kind, event in WALLET_EVENTS.items())
    return [
        (
            f"coupons issued: campaign count {facts['coupon_issued_quantity']}, rows {facts['coupon_rows']}, distinct users "
            f"{facts['coupon_distinct_users']}, coupon.issued events {events.get('coupon.issued', 0)}: all exactly {coupons_issued}",
            {facts["coupon_issued_quantity"], facts["coupon_rows"], facts["coupon_distinct_users"], events.get("coupon.issued", 0)} == {coupons_issued},
        ),
        (f"no stock below zero (min {facts['min_stock']})", facts["min_stock"] >= 0),
        (
            "every product's stock decrease equals its units in paid and pending_payment orders (pending orders hold stock) "
            f"(mismatches: {facts['products_where_stock_decrease_differs_from_units_sold']})",
            not facts["products_where_stock_decrease_differs_from_units_sold"],
        ),
        (
            f"hot product: {facts['hot_units_sold']} sold or held + {facts['hot_stock_left']} left == stock {hot_stock}",
            facts["hot_units_sold"] + facts["hot_stock_left"] == hot_stock,
        ),
        (f"no wallet below zero (min {facts['min_balance']})", facts["min_balance"] >= 0),
        (
            "every wallet's balance == its ledger sum and its version == its ledger lines "
            f"(mismatches: {facts['wallets_where_balance_or_version_differs_from_ledger']})",
            not facts["wallets_where_balance_or_version_differs_from_ledger"],
        ),
        (
            f"wallet order totals {facts['order_totals']:,} == wallet payments {facts['wallet_payments']:,}",
            facts["order_totals"] == facts["wallet_payments"],
        ),
        (
            f"paid card order totals {facts['paid_card_totals']:,} == approved card payments {facts['approved_card_payments']:,}",
            facts["paid_card_totals"] == facts["approved_card_payments"],
        ),
        (
            f"no paid card order without an approved payment (found: {facts['paid_card_orders_without_approved_payment']})",
            not facts["paid_card_orders_without_approved_payment"],
        ),
        (
            "the test card's number is nowhere in the database (every char, text and JSON column searched; found: "
            f"{facts['rows_holding_card_number'] or 'none'})",
            not facts["rows_holding_card_number"],
        ),
        (
            f"one order.paid event per paid order ({events.get('order.paid', 0)} events, {facts['paid_orders']} paid orders) and one order.placed "
            f"per card order ({events.get('order.placed', 0)} events, {facts['card_orders']} card orders)",
            events.get("order.paid", 0) == facts["paid_orders"] and events.get("order.placed", 0) == facts["card_orders"],
        ),
        (
            f"one wallet event per ledger line: {wallet_events}",
            all(events.get(event, 0) == lines.get(kind, 0) for kind, event in WALLET_EVENTS.items()),
        ),
        (f"no idempotency key left in progress ({facts['idempotency_in_progress']})", facts["idempotency_in_progress"] == 0),
    ]


def shop_invariants(
    *,
    hot_product_id: int,
    hot_stock: int,
    spread_stock: int,
    coupon_id: int,
    coupons_issued: int,
    card_number: str = TEST_CARD,
    hot_run: list[str] | None = None,
) -> dict:
    """make bench's database check: {"facts": shop_facts, "checks": shop_checks}."""
    facts = shop_facts(
        hot_product_id=hot_product_id, hot_stock=hot_stock, spread_stock=spread_stock, coupon_id=coupon_id, card_number=card_number, hot_run=hot_run
    )
    return {"facts": facts, "checks": shop_checks(facts, hot_stock=hot_stock, coupons_issued=coupons_issued)}


def checkout_facts(*, hot_product_id: int, hot_stock: int, spread_stock: int) -> dict:
    """bench/checkout.py's facts: orders and events, stock against units sold, wallets against their ledger."""
    return {
        "orders": Order.objects.count(),
        "order_paid_events": OutboxEvent.objects.filter(type="order.paid").count(),
        "min_stock": Product.objects.aggregate(m=Min("stock"))["m"],
        "hot_stock_left": Product.objects.get(pk=hot_product_id).stock,
        "hot_units_sold": units_sold().get(hot_product_id, 0),
        "products_where_units_sold_differ_from_stock_decrease": products_where_stock_decrease_differs_from_units_sold(
            initial_stock=spread_stock, hot_product_id=hot_product_id, hot_stock=hot_stock
        ),
        "wallets_where_balance_or_version_differs_from_ledger": wallets_where_balance_or_version_differs_from_ledger(),
        "min_balance": Wallet.objects.aggregate(m=Min("balance"))["m"],
        "order_totals": Order.objects.aggregate(s=Sum("total"))["s"] or 0,
        "payments": -(WalletTransaction.objects.filter(kind=WalletTransaction.Kind.PAYMENT).aggregate(s=Sum("amount"))["s"] or 0),
    }


def coupon_counts(*, coupon_id: int) -> dict:
    """bench/coupon_rush.py's counts: each must equal the campaign's quantity."""
    coupon = Coupon.objects.get(pk=coupon_id)
    issued = UserCoupon.objects.filter(coupon=coupon)
    return {
        "issued_quantity": coupon.issued_quantity,
        "user_coupons": issued.count(),
        "distinct_users": issued.values("user").distinct().count(),
        "coupon_issued_events": OutboxEvent.objects.filter(type="coupon.issued").count(),
    }


def wallets_by_token() -> dict:
    """bench/wallet_charge.py's report: each wallet (by its owner's API token) with its ledger, and the completed idempotency keys."""
    ledger = {
        row["wallet_id"]: (row["total"], row["lines"])
        for row in WalletTransaction.objects.values("wallet_id").annotate(total=Sum("amount"), lines=Count("id")).order_by()
    }
    tokens = dict(Token.objects.values_list("user_id", "key"))
    wallets = [
        {
            "token": tokens[wallet.user_id],
            "balance": wallet.balance,
            "version": wallet.version,
            "ledger_sum": ledger.get(wallet.pk, (0, 0))[0],
            "ledger_lines": ledger.get(wallet.pk, (0, 0))[1],
        }
        for wallet in Wallet.objects.all()
    ]
    return {"wallets": wallets, "idempotency_keys": IdempotencyKey.objects.filter(status=IdempotencyKey.Status.COMPLETED).count()}


def popular_list_matches_orders() -> dict:
    """bench/popular.py's check: the 7-day popular list (50 entries) equals a GROUP BY over the paid orders."""
    today = rankings_selectors.local_today()
    rows = (
        OrderItem.objects.filter(
            order__status=Order.Status.PAID,
            order__paid_at__gte=rankings_selectors.day_start(today - timedelta(days=6)),
            product__is_active=True,
        )
        .values("product_id")
        .annotate(u=Sum("quantity"), r=Sum("line_total"))
        .order_by("-u", "-r", "product_id")[:50]
    )
    brute = [[row["product_id"], row["u"], row["r"]] for row in rows]
    popular = rankings_selectors.popular_products(days=7, limit=50)
    return {"equal": [[entry.product.pk, entry.quantity_sold, entry.revenue] for entry in popular] == brute, "top": brute[:3]}


def events_not_sent() -> int:
    return OutboxEvent.objects.exclude(status=OutboxEvent.Status.SENT).count()
