import pytest

from apps.cart import services
from apps.cart.models import Cart, CartItem
from apps.cart.selectors import cart_item_count, cart_summary
from apps.core.errors import NotFound, OutOfStock, ProductUnavailable, ValidationError
from tests.concurrency import race
from tests.factories import ProductFactory, UserFactory


@pytest.mark.django_db
def test_add_creates_cart_and_line_then_adds_to_the_same_line(user):
    product = ProductFactory(stock=5, price=250)

    services.add_to_cart(user=user, product_id=product.pk, quantity=2)
    item = services.add_to_cart(user=user, product_id=product.pk, quantity=3)

    assert item.quantity == 5
    assert CartItem.objects.filter(cart__user=user).count() == 1
    assert Cart.objects.filter(user=user).count() == 1
    summary = cart_summary(user=user)
    assert summary.subtotal == 1250
    assert [(line.product.pk, line.quantity, line.line_total) for line in summary.lines] == [(product.pk, 5, 1250)]
    assert cart_item_count(user=user) == 5


@pytest.mark.django_db
def test_add_more_than_stock_counts_what_is_already_in_the_cart(user):
    product = ProductFactory(stock=4)
    services.add_to_cart(user=user, product_id=product.pk, quantity=3)

    with pytest.raises(OutOfStock) as excinfo:
        services.add_to_cart(user=user, product_id=product.pk, quantity=2)

    assert excinfo.value.details == {"product_id": product.pk, "requested": 5, "available": 4}
    assert CartItem.objects.get(cart__user=user).quantity == 3


@pytest.mark.django_db
def test_add_more_than_stock_on_a_new_line_creates_nothing(user):
    product = ProductFactory(stock=1)
    with pytest.raises(OutOfStock) as excinfo:
        services.add_to_cart(user=user, product_id=product.pk, quantity=2)
    assert excinfo.value.details == {"product_id": product.pk, "requested": 2, "available": 1}
    assert not CartItem.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("make_id", [lambda: ProductFactory(is_active=False).pk, lambda: 987654321])
def test_inactive_or_unknown_product_is_unavailable(user, make_id):
    product_id = make_id()
    with pytest.raises(ProductUnavailable) as excinfo:
        services.add_to_cart(user=user, product_id=product_id, quantity=1)
    assert excinfo.value.details == {"product_id": product_id}
    assert not CartItem.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("quantity", [0, -1, 1001, "2", 2.0, True, None])
def test_bad_quantities_are_validation_errors(user, quantity):
    product = ProductFactory(stock=5000)
    with pytest.raises(ValidationError) as excinfo:
        services.add_to_cart(user=user, product_id=product.pk, quantity=quantity)
    assert "quantity" in excinfo.value.details
    assert not CartItem.objects.exists()


@pytest.mark.django_db
def test_line_never_grows_beyond_the_per_line_maximum(user, settings):
    settings.ORDER_MAX_LINE_QUANTITY = 10
    product = ProductFactory(stock=100)
    services.add_to_cart(user=user, product_id=product.pk, quantity=8)
    with pytest.raises(ValidationError):
        services.add_to_cart(user=user, product_id=product.pk, quantity=3)
    assert CartItem.objects.get().quantity == 8


@pytest.mark.django_db
def test_update_remove_and_clear(user):
    first, second = ProductFactory(stock=9), ProductFactory(stock=9)
    line = services.add_to_cart(user=user, product_id=first.pk, quantity=1)
    services.add_to_cart(user=user, product_id=second.pk, quantity=2)

    assert services.update_cart_item(user=user, item_id=line.pk, quantity=7).quantity == 7
    assert CartItem.objects.get(pk=line.pk).quantity == 7
    with pytest.raises(OutOfStock) as excinfo:
        services.update_cart_item(user=user, item_id=line.pk, quantity=10)
    assert excinfo.value.details == {"product_id": first.pk, "requested": 10, "available": 9}
    assert CartItem.objects.get(pk=line.pk).quantity == 7

    services.remove_cart_item(user=user, item_id=line.pk)
    assert list(CartItem.objects.values_list("product_id", flat=True)) == [second.pk]
    services.clear_cart(user=user)
    assert not CartItem.objects.exists()


@pytest.mark.django_db
def test_another_users_line_is_not_found_and_untouched(user):
    other = UserFactory()
    product = ProductFactory(stock=9)
    line = services.add_to_cart(user=other, product_id=product.pk, quantity=2)

    with pytest.raises(NotFound):
        services.update_cart_item(user=user, item_id=line.pk, quantity=1)
    with pytest.raises(NotFound):
        services.remove_cart_item(user=user, item_id=line.pk)
    services.clear_cart(user=user)

    assert CartItem.objects.get(pk=line.pk).quantity == 2


@pytest.mark.django_db
def test_update_of_a_product_taken_off_sale_is_unavailable(user):
    product = ProductFactory(stock=9)
    line = services.add_to_cart(user=user, product_id=product.pk, quantity=2)
    product.is_active = False
    product.save()
    with pytest.raises(ProductUnavailable):
        services.update_cart_item(user=user, item_id=line.pk, quantity=1)
    assert CartItem.objects.get(pk=line.pk).quantity == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_adds_of_one_product_end_in_one_line_with_every_unit():
    """Threads race to create the same (cart, product) line: one creates it, the others add to it."""
    user = UserFactory()
    product = ProductFactory(stock=1000)
    threads_count = 12

    outcomes = race([lambda: services.add_to_cart(user=user, product_id=product.pk, quantity=3)] * threads_count)

    assert [exc for exc in outcomes if isinstance(exc, Exception)] == []
    assert Cart.objects.filter(user=user).count() == 1
    assert list(CartItem.objects.filter(cart__user=user).values_list("quantity", flat=True)) == [3 * threads_count]


@pytest.mark.django_db(transaction=True)
def test_concurrent_adds_never_put_more_than_the_stock_in_one_line():
    user = UserFactory()
    product = ProductFactory(stock=10)
    threads_count = 8

    outcomes = race([lambda: services.add_to_cart(user=user, product_id=product.pk, quantity=3)] * threads_count)

    assert sum(isinstance(outcome, CartItem) for outcome in outcomes) == 3
    assert sum(isinstance(outcome, OutOfStock) for outcome in outcomes) == threads_count - 3
    assert CartItem.objects.get(cart__user=user).quantity == 9


@pytest.mark.django_db(transaction=True)
def test_merges_racing_adds_on_a_new_cart_never_exceed_the_stock_and_lose_no_unit():
    """Logins in two tabs and adds from a third, on a shopper with no cart yet: one cart, one line,
    at most the stock, and every unit reported as added is in it."""
    user = UserFactory()
    product = ProductFactory(stock=10)
    merges = [lambda: services.merge_guest_cart(user=user, quantities={product.pk: 3})] * 4
    adds = [lambda: services.add_to_cart(user=user, product_id=product.pk, quantity=2)] * 4

    outcomes = race(merges + adds)

    merged, added = outcomes[:4], outcomes[4:]
    assert all(isinstance(outcome, list) for outcome in merged), merged
    assert all(isinstance(outcome, CartItem | OutOfStock) for outcome in added), added
    units_merged = sum(shortfalls[0].added if shortfalls else 3 for shortfalls in merged)
    units_added = 2 * sum(isinstance(outcome, CartItem) for outcome in added)
    assert Cart.objects.filter(user=user).count() == 1
    assert list(CartItem.objects.filter(cart__user=user).values_list("quantity", flat=True)) == [units_merged + units_added]
    # Twelve units are merged in all, more than the stock: some merge fills the line to the stock.
    assert units_merged + units_added == 10
