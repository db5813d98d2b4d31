from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination as DRFPageNumberPagination


class PageNumberPagination(DRFPageNumberPagination):
    """`?page=N&page_size=M` (default 20, larger sizes clamped to 100).

    A page that is not a positive whole number is a 400 VALIDATION_ERROR; a page past the end is
    a 404 NOT_FOUND, as with any address that names nothing.
    """

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_number(self, request, paginator):
        raw = request.query_params.get(self.page_query_param)
        if raw is None or raw in self.last_page_strings:
            return super().get_page_number(request, paginator)
        if not raw.isdigit() or int(raw) < 1:
            raise ValidationError({self.page_query_param: ["A page number is a whole number from 1."]})
        return raw
