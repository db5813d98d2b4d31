from django.urls import path

from apps.coupons import api

urlpatterns = [
    path("coupons", api.CouponListApi.as_view(), name="coupons"),
    path("coupons/<int:coupon_id>/issue", api.CouponIssueApi.as_view(), name="coupon-issue"),
    path("me/coupons", api.MyCouponListApi.as_view(), name="me-coupons"),
    path("staff/coupons", api.StaffCouponCreateApi.as_view(), name="staff-coupons"),
]
