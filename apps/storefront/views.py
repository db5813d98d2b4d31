from django.shortcuts import render

from apps.catalog import selectors as catalog_selectors
from apps.rankings import selectors as rankings_selectors

HOME_NEWEST = 8
HOME_POPULAR = 5
HOME_POPULAR_DAYS = 3


def home(request):
    return render(
        request,
        "storefront/home.html",
        {
            "categories": catalog_selectors.list_categories(),
            "products": catalog_selectors.newest_products(limit=HOME_NEWEST),
            "popular": rankings_selectors.popular_products(days=HOME_POPULAR_DAYS, limit=HOME_POPULAR),
            "popular_days": HOME_POPULAR_DAYS,
        },
    )
