import re

from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination as DRFPageNumberPagination

from apps.core.validation import MAX_INT32, parse_whole_number

_ASCII_DIGITS = re.compile(r"[0-9]+")

PAGE_PARAMETER = "page"
PAGE_SIZE_PARAMETER = "page_size"
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

PAGE_MESSAGE = "A page number is a whole number from 1."
PAGE_SIZE_MESSAGE = f"A page size is a whole number from 1 to {MAX_INT32}; sizes above {MAX_PAGE_SIZE} are read as {MAX_PAGE_SIZE}."

# The OpenAPI description of both parameters: `extend_schema(parameters=PAGE_QUERY_PARAMETERS)` on a
# paginated view that is not a generic list view (those get them from the paginator).
PAGE_QUERY_PARAMETERS = [
    OpenApiParameter(
        PAGE_PARAMETER,
        {"type": "integer", "minimum": 1},
        description="From 1; past the last page → 404.",
    ),
    OpenApiParameter(
        PAGE_SIZE_PARAMETER,
        {"type": "integer", "minimum": 1, "maximum": MAX_INT32},
        description=f"Default {DEFAULT_PAGE_SIZE}; sizes above {MAX_PAGE_SIZE} are read as {MAX_PAGE_SIZE}.",
    ),
]


def parse_page_number(raw: str | None) -> int:
    """`?page=`: absent or empty → 1; ASCII digits from 1, else a 400 VALIDATION_ERROR.

    A number too large to be any page (past MAX_INT32) is past the end: 404, like any page there.
    """
    if raw is None or raw == "":
        return 1
    if not _ASCII_DIGITS.fullmatch(raw) or not raw.strip("0"):
        raise ValidationError({PAGE_PARAMETER: [PAGE_MESSAGE]})
    if len(raw) > len(str(MAX_INT32)) or int(raw) > MAX_INT32:
        raise NotFound()
    return int(raw)


def parse_page_size(raw: str | None) -> int:
    """`?page_size=`: absent or empty → the default; larger than MAX_PAGE_SIZE → MAX_PAGE_SIZE."""
    if raw is None or raw == "":
        return DEFAULT_PAGE_SIZE
    number = parse_whole_number(raw)
    if number is None or not 1 <= number <= MAX_INT32:
        raise ValidationError({PAGE_SIZE_PARAMETER: [PAGE_SIZE_MESSAGE]})
    return min(number, MAX_PAGE_SIZE)


class PageNumberPagination(DRFPageNumberPagination):
    """`?page=N&page_size=M` (default 20, larger sizes clamped to 100).

    Both are parsed strictly (ASCII digits, from 1: "²" or "1.5" is a 400 VALIDATION_ERROR, not a
    guess); a page past the end is a 404 NOT_FOUND, as with any address that names nothing.
    """

    page_size = DEFAULT_PAGE_SIZE
    page_query_param = PAGE_PARAMETER
    page_size_query_param = PAGE_SIZE_PARAMETER
    max_page_size = MAX_PAGE_SIZE

    def get_page_number(self, request, paginator):
        raw = request.query_params.get(self.page_query_param)
        if raw in self.last_page_strings:
            return paginator.num_pages
        return parse_page_number(raw)

    def get_page_size(self, request):
        return parse_page_size(request.query_params.get(self.page_size_query_param))

    def get_schema_operation_parameters(self, view):
        return [
            {"name": parameter.name, "in": "query", "required": False, "description": parameter.description, "schema": parameter.type}
            for parameter in PAGE_QUERY_PARAMETERS
        ]
