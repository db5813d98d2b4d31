from django.urls import path

from apps.rankings import api

urlpatterns = [
    path("products/popular", api.PopularProductsApi.as_view(), name="popular-products"),
    path("products/rankings", api.CalendarRankingsApi.as_view(), name="product-rankings"),
]
