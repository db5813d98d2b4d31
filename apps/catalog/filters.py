"""The product-list filters of API.md, shared by the API and the storefront list page."""

from collections.abc import Callable

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from apps.catalog.models import MAX_AMOUNT, Product
from apps.core.validation import parse_whole_number

# ordering value → ORDER BY; every ordering ends with the primary key so pages never overlap.
ORDERINGS = {
    "newest": ("-created_at", "-id"),
    "price": ("price", "id"),
    "-price": ("-price", "-id"),
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
}
ORDERING_LABELS = {
    "newest": "Newest first",
    "price": "Price: low to high",
    "-price": "Price: high to low",
    "name": "Name: A to Z",
    "-name": "Name: Z to A",
}


class PlainIntegerField(forms.IntegerField):
    """ASCII digits only: Django's IntegerField would read "1.0", " 1" and "١" as 1."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        number = parse_whole_number(value)
        if number is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return number


class AmountFilter(django_filters.NumberFilter):
    """A whole amount in minor units (DRF's default would accept decimals)."""

    field_class = PlainIntegerField


class ProductFilter(django_filters.FilterSet):
    category = django_filters.CharFilter(field_name="category__slug", max_length=100)
    q = django_filters.CharFilter(method="search", max_length=100)
    min_price = AmountFilter(field_name="price", lookup_expr="gte", min_value=0, max_value=MAX_AMOUNT)
    max_price = AmountFilter(field_name="price", lookup_expr="lte", min_value=0, max_value=MAX_AMOUNT)
    # `true`/`false` (or 1/0); anything else is a 400 rather than being silently ignored.
    in_stock = django_filters.TypedChoiceFilter(
        choices=[("true", "true"), ("false", "false"), ("1", "1"), ("0", "0")],
        coerce=lambda value: value in ("true", "1"),
        method="filter_in_stock",
    )
    ordering = django_filters.ChoiceFilter(choices=list(ORDERING_LABELS.items()), method="order")

    class Meta:
        model = Product
        fields = ["category", "q", "min_price", "max_price", "in_stock", "ordering"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value))

    def filter_in_stock(self, queryset, name, value):
        return queryset.filter(stock__gt=0) if value else queryset

    def order(self, queryset, name, value):
        return queryset.order_by(*ORDERINGS[value])


# The storefront list may offer more sorts than the API's `ordering` (which keeps API.md's values),
# registered by the apps that own their data (rankings adds "popular" when it is ready), so catalog
# imports none of them: value → (label, function ordering a product queryset).
ProductOrdering = Callable[[QuerySet[Product]], QuerySet[Product]]
_storefront_orderings: dict[str, tuple[str, ProductOrdering]] = {}


def register_storefront_ordering(value: str, *, label: str, order: ProductOrdering) -> None:
    if value in ORDERING_LABELS:
        raise ValueError(f"{value!r} is already a product ordering")
    _storefront_orderings[value] = (label, order)


def storefront_ordering_choices() -> list[tuple[str, str]]:
    """The storefront's sort choices: API.md's orderings, then the registered ones."""
    return [*ORDERING_LABELS.items(), *((value, label) for value, (label, _) in _storefront_orderings.items())]


class StorefrontProductFilter(ProductFilter):
    ordering = django_filters.ChoiceFilter(choices=storefront_ordering_choices, method="order")

    def order(self, queryset, name, value):
        if value in _storefront_orderings:
            _, order = _storefront_orderings[value]
            return order(queryset)
        return super().order(queryset, name, value)
