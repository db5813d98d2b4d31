from django.urls import path

from apps.payments import api

urlpatterns = [
    path("payments/callback", api.CallbackApi.as_view(), name="payments-callback"),
]
