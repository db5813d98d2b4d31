from django.urls import path

from apps.cart import api

urlpatterns = [
    path("cart", api.CartApi.as_view(), name="cart"),
    path("cart/items", api.CartItemAddApi.as_view(), name="cart-items"),
    path("cart/items/<int:item_id>", api.CartItemApi.as_view(), name="cart-item"),
]
