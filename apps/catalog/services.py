"""Every write to the catalog: products, categories and staff stock adjustments.

Each change clears the cached reads (selectors.invalidate_product_cache) once it is committed.
"""

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from apps.catalog import stock_gate
from apps.catalog.locks import lock_products
from apps.catalog.models import MAX_AMOUNT, Category, Product
from apps.catalog.selectors import invalidate_product_cache
from apps.core.errors import NotFound, OutOfStock, ProductUnavailable, ValidationError
from apps.core.transactions import after_commit
from apps.core.validation import is_whole_number, require_whole_number
from apps.outbox.services import publish

logger = logging.getLogger(__name__)

SLUG_MAX_LENGTH = Product._meta.get_field("slug").max_length


class _Unset:
    """Marks an argument that was not given (None is a meaningful value for category_id)."""


UNSET: Any = _Unset()


def _invalidate_on_commit(product_ids: Iterable[int]) -> None:
    after_commit(invalidate_product_cache, product_ids=sorted(set(product_ids)))


def stock_message(*, name: str, available: int) -> str:
    return f"Only {available} of {name} left." if available > 0 else f"{name} is sold out."


def lock_stock_for(*, lines: Mapping[int, int]) -> dict[int, Product]:
    """Inside the caller's transaction: lock the products of `lines` (product id → units) by ascending id and check them.

    Raises ProductUnavailable or OutOfStock, changing nothing; returns the locked products (their
    prices are what an order pays). take_stock() then decrements, in the same transaction.
    """
    _require_transaction()
    products = lock_products(product_ids=lines)
    for product_id in sorted(lines):
        product = products.get(product_id)
        if product is None or not product.is_active:
            name = product.name if product is not None else f"Product {product_id}"
            raise ProductUnavailable(f"{name} is not available.", details={"product_id": product_id})
    for product_id in sorted(lines):
        product, requested = products[product_id], lines[product_id]
        if product.stock < requested:
            raise OutOfStock(
                stock_message(name=product.name, available=product.stock),
                details={"product_id": product_id, "requested": requested, "available": product.stock},
            )
    return products


def take_stock(*, lines: Mapping[int, int], locked: dict[int, Product] | None = None) -> dict[int, Product]:
    """Inside the caller's transaction: hold `lines` for an order (the products from lock_stock_for, or locked and checked here)."""
    products = locked if locked is not None else lock_stock_for(lines=lines)
    _change_stock({product_id: -quantity for product_id, quantity in lines.items()})
    for product_id, quantity in lines.items():
        products[product_id].stock -= quantity
    emptied = [product_id for product_id in lines if products[product_id].stock == 0]
    if emptied:
        after_commit(stock_gate.note_sold_out, emptied)
    return products


def return_stock(*, lines: Mapping[int, int]) -> None:
    """Inside the caller's transaction: put back units an order held (cancel, failed or expired payment)."""
    _require_transaction()
    lock_products(product_ids=lines)
    _change_stock(lines)


def _change_stock(deltas: Mapping[int, int]) -> None:
    now = timezone.now()
    for product_id in sorted(deltas):
        Product.objects.filter(pk=product_id).update(stock=F("stock") + deltas[product_id], updated_at=now)
    _invalidate_on_commit(deltas)
    increased = [product_id for product_id, delta in deltas.items() if delta > 0]
    if increased:
        after_commit(stock_gate.reopen, increased)


def _require_transaction() -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Stock for an order changes inside the order's transaction.atomic().")


def _check_amount(field: str, value: int) -> None:
    require_whole_number(value, field=field, minimum=0, maximum=MAX_AMOUNT)


def _check_category(category_id: int | None) -> None:
    if category_id is not None and not Category.objects.filter(pk=category_id).exists():
        raise ValidationError(details={"category_id": ["There is no category with this id."]})


def _available_slug(*, name: str, sku: str) -> str:
    base = slugify(name)[:SLUG_MAX_LENGTH] or slugify(sku)[:SLUG_MAX_LENGTH] or "product"
    if not Product.objects.filter(slug=base).exists():
        return base
    return f"{base[: SLUG_MAX_LENGTH - len(slugify(sku)) - 1]}-{slugify(sku)}"


def _duplicate_error(*, sku: str | None, slug: str | None, exclude_id: int | None = None) -> ValidationError:
    others = Product.objects.exclude(pk=exclude_id) if exclude_id else Product.objects.all()
    if sku is not None and others.filter(sku=sku).exists():
        return ValidationError(details={"sku": ["A product with this SKU already exists."]})
    if slug is not None and others.filter(slug=slug).exists():
        return ValidationError(details={"slug": ["A product with this slug already exists."]})
    return ValidationError("The product could not be saved.")


def create_product(
    *,
    sku: str,
    name: str,
    price: int,
    stock: int = 0,
    category_id: int | None = None,
    description: str = "",
    slug: str = "",
    image_url: str = "",
    is_active: bool = True,
) -> Product:
    """A new product; the slug comes from the name (plus the SKU when the name's slug is taken)."""
    sku, name = sku.strip(), name.strip()
    if not sku:
        raise ValidationError(details={"sku": ["This field may not be blank."]})
    if not name:
        raise ValidationError(details={"name": ["This field may not be blank."]})
    _check_amount("price", price)
    _check_amount("stock", stock)
    _check_category(category_id)
    slug = slug or _available_slug(name=name, sku=sku)
    try:
        with transaction.atomic():
            product = Product.objects.create(
                sku=sku,
                name=name,
                slug=slug,
                price=price,
                stock=stock,
                category_id=category_id,
                description=description,
                image_url=image_url,
                is_active=is_active,
            )
            _invalidate_on_commit([product.pk])
    except IntegrityError as exc:
        raise _duplicate_error(sku=sku, slug=slug) from exc
    return product


def update_product(
    *,
    product_id: int,
    name: str | None = None,
    price: int | None = None,
    description: str | None = None,
    is_active: bool | None = None,
    category_id: int | None = UNSET,
    slug: str | None = None,
    image_url: str | None = None,
) -> Product:
    """Change the given fields (one UPDATE of only those columns); stock changes go through adjust_stock."""
    changes: dict[str, Any] = {}
    if name is not None:
        if not name.strip():
            raise ValidationError(details={"name": ["This field may not be blank."]})
        changes["name"] = name.strip()
    if price is not None:
        _check_amount("price", price)
        changes["price"] = price
    if description is not None:
        changes["description"] = description
    if is_active is not None:
        changes["is_active"] = is_active
    if category_id is not UNSET:
        _check_category(category_id)
        changes["category_id"] = category_id
    if slug is not None:
        if not slug:
            raise ValidationError(details={"slug": ["This field may not be blank."]})
        changes["slug"] = slug
    if image_url is not None:
        changes["image_url"] = image_url
    try:
        with transaction.atomic():
            updated = Product.objects.filter(pk=product_id).update(**changes, updated_at=timezone.now())
            if not updated:
                raise NotFound("This product does not exist.")
            _invalidate_on_commit([product_id])
    except IntegrityError as exc:
        raise _duplicate_error(sku=None, slug=changes.get("slug"), exclude_id=product_id) from exc
    return Product.objects.select_related("category").get(pk=product_id)


def adjust_stock(*, product_id: int, delta: int, reason: str, actor=None) -> Product:
    """Add `delta` (negative to remove) to a product's stock, safe against concurrent sales.

    One guarded UPDATE (`SET stock = stock + delta WHERE id = ? AND stock + delta >= 0`) and no
    prior read: two adjustments or an adjustment and an order can never overwrite each other.
    If the result would be negative nothing changes and OutOfStock says what is on hand.
    Publishes "product.stock_adjusted" in the same transaction.
    """
    if not is_whole_number(delta) or delta == 0 or abs(delta) > MAX_AMOUNT:
        raise ValidationError(details={"delta": [f"Must be a whole number other than 0, at most {MAX_AMOUNT} either way."]})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(details={"reason": ["Say why the stock changes."]})
    with transaction.atomic():
        # `stock >= -delta` is `stock + delta >= 0`, written so the column stands alone; the upper
        # bound keeps the sum inside the column's range.
        updated = Product.objects.filter(pk=product_id, stock__gte=-delta, stock__lte=MAX_AMOUNT - delta).update(
            stock=F("stock") + delta, updated_at=timezone.now()
        )
        if not updated:
            current = Product.objects.filter(pk=product_id).values_list("stock", flat=True).first()
            if current is None:
                raise NotFound("This product does not exist.")
            if current + delta < 0:
                raise OutOfStock(
                    f"Only {current} in stock: cannot remove {-delta}.",
                    details={"product_id": product_id, "requested": -delta, "available": current},
                )
            raise ValidationError(details={"delta": [f"Stock cannot exceed {MAX_AMOUNT}."]})
        product = Product.objects.select_related("category").get(pk=product_id)
        # After the UPDATE, which holds the row lock: this product's events keep their commit order.
        publish(
            type="product.stock_adjusted",
            aggregate=product,
            data={
                "product_id": product.pk,
                "sku": product.sku,
                "delta": delta,
                "stock": product.stock,
                "reason": reason,
                "actor_id": getattr(actor, "pk", None),
            },
        )
        _invalidate_on_commit([product_id])
        if delta > 0:
            after_commit(stock_gate.reopen, [product_id])
        elif product.stock == 0:
            after_commit(stock_gate.note_sold_out, [product_id])
    logger.info(
        "stock of product %s adjusted by %s to %s by %s: %s",
        product_id, delta, product.stock, getattr(actor, "pk", None), reason,
    )
    return product


def create_category(*, name: str, slug: str) -> Category:
    try:
        with transaction.atomic():
            category = Category.objects.create(name=name.strip(), slug=slug)
            _invalidate_on_commit([])
    except IntegrityError as exc:
        raise ValidationError(details={"slug": ["A category with this slug already exists."]}) from exc
    return category


def update_category(*, category_id: int, name: str, slug: str) -> Category:
    """Rename a category; its products' cached copies carry the category, so they are cleared too."""
    try:
        with transaction.atomic():
            if not Category.objects.filter(pk=category_id).update(name=name.strip(), slug=slug):
                raise NotFound("This category does not exist.")
            _invalidate_on_commit(Product.objects.filter(category_id=category_id).values_list("pk", flat=True))
    except IntegrityError as exc:
        raise ValidationError(details={"slug": ["A category with this slug already exists."]}) from exc
    return Category.objects.get(pk=category_id)


def delete_category(*, category_id: int) -> None:
    """Delete a category; its products stay, without a category."""
    with transaction.atomic():
        product_ids = list(Product.objects.filter(category_id=category_id).values_list("pk", flat=True))
        deleted, _ = Category.objects.filter(pk=category_id).delete()
        if not deleted:
            raise NotFound("This category does not exist.")
        _invalidate_on_commit(product_ids)
