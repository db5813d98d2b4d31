from django.urls import path

from apps.catalog import api

# `products/<int:...>` only matches digits, so /products/popular stays free for the rankings app.
urlpatterns = [
    path("categories", api.CategoryListApi.as_view(), name="categories"),
    path("products", api.ProductListApi.as_view(), name="products"),
    path("products/<int:product_id>", api.ProductDetailApi.as_view(), name="product_detail"),
    path("staff/products", api.StaffProductCreateApi.as_view(), name="staff_products"),
    path("staff/products/<int:product_id>", api.StaffProductUpdateApi.as_view(), name="staff_product"),
    path("staff/products/<int:product_id>/stock", api.StaffProductStockApi.as_view(), name="staff_product_stock"),
]
