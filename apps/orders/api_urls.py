from django.urls import path

from apps.orders import api

urlpatterns = [
    path("orders", api.OrderListCreateApi.as_view(), name="orders"),
    path("orders/<int:order_id>", api.OrderDetailApi.as_view(), name="order"),
    path("orders/<int:order_id>/cancel", api.OrderCancelApi.as_view(), name="order-cancel"),
]
