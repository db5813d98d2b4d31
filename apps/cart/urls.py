from django.urls import path

from apps.cart import views

app_name = "cart"

urlpatterns = [
    path("", views.cart_detail, name="detail"),
    path("add/", views.cart_add, name="add"),
    path("items/<int:item_id>/", views.cart_item_update, name="update_item"),
    path("items/<int:item_id>/remove/", views.cart_item_remove, name="remove_item"),
]
