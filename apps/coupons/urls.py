from django.urls import path

from apps.coupons import views

app_name = "coupons"

urlpatterns = [
    path("", views.coupon_list, name="list"),
    path("<int:coupon_id>/claim/", views.coupon_claim, name="claim"),
    path("mine/", views.my_coupons, name="mine"),
]
