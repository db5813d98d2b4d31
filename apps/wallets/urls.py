from django.urls import path

from apps.wallets import views

app_name = "wallets"

urlpatterns = [
    path("", views.wallet_detail, name="detail"),
]
