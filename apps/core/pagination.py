from rest_framework.pagination import PageNumberPagination as DRFPageNumberPagination


class PageNumberPagination(DRFPageNumberPagination):
    """`?page=N&page_size=M` (default 20, at most 100); a bad page number is a 404 NOT_FOUND."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
