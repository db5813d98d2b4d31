from django.urls import path

from apps.wallets import api

urlpatterns = [
    path("wallet", api.WalletApi.as_view(), name="wallet"),
    path("wallet/charge", api.WalletChargeApi.as_view(), name="wallet-charge"),
    path("wallet/transactions", api.WalletTransactionsApi.as_view(), name="wallet-transactions"),
]
