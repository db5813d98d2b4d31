from django.http import Http404
from django.shortcuts import render

from apps.catalog import selectors
from apps.catalog.forms import ProductSearchForm
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
        },
    )


def product_detail(request, slug: str):
    try:
        product = selectors.get_product_by_slug(slug=slug)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    return render(request, "catalog/product_detail.html", {"product": product})
