from django.conf import settings
from django.http import Http404
from django.shortcuts import render

from apps.catalog import selectors
from apps.catalog.forms import SEARCH_MAX_LENGTH, ProductSearchForm
from apps.catalog.models import Product
from apps.core.errors import NotFound

PAGE_SIZE = 24


def _page_number(raw: str | None) -> int:
    try:
        return max(1, min(int(raw or 1), 10**6))
    except ValueError:
        return 1


def product_list(request):
    form = ProductSearchForm(request.GET)
    filters = form.filters()
    page = selectors.product_page(filters=filters, page=_page_number(request.GET.get("page")), page_size=PAGE_SIZE, storefront=True)
    categories = selectors.list_categories()
    current_category = next((c for c in categories if c.slug == filters["category"]), None)
    return render(
        request,
        "catalog/product_list.html",
        {
            "form": form,
            "page": page,
            "categories": categories,
            "current_category": current_category,
            "unknown_category": bool(filters["category"]) and current_category is None,
            "query": filters["q"],
            "search_query": filters["q"],
            "query_shortened": form.query_shortened,
            "search_max_length": SEARCH_MAX_LENGTH,
        },
    )


def product_detail(request, slug: str):
    try:
        product = selectors.get_product_by_slug(slug=slug)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    picture = product.picture
    image_url = request.build_absolute_uri(picture.src) if picture else ""
    return render(
        request,
        "catalog/product_detail.html",
        {"product": product, "picture": picture, "image_url": image_url, "structured_data": structured_data(request, product, image_url)},
    )


def structured_data(request, product: Product, image_url: str) -> dict:
    """schema.org's Product with its offer (JSON-LD), as shops give search engines."""
    url = request.build_absolute_uri(product.get_absolute_url())
    data = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": product.name,
        "sku": product.sku,
        "url": url,
        "offers": {
            "@type": "Offer",
            "url": url,
            "price": f"{product.price // 100}.{product.price % 100:02d}",
            "priceCurrency": settings.CURRENCY,
            "availability": "https://schema.org/InStock" if product.stock > 0 else "https://schema.org/OutOfStock",
            "itemCondition": "https://schema.org/NewCondition",
        },
    }
    if product.description:
        data["description"] = product.description
    if product.category:
        data["category"] = product.category.name
    if image_url:
        data["image"] = [image_url]
    return data
