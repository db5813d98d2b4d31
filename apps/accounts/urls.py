from django.urls import path

from apps.accounts import views

app_name = "accounts"

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("login/", views.ThrottledLoginView.as_view(), name="login"),
    path("logout/", views.MessageLogoutView.as_view(), name="logout"),
    path("password-reset/", views.ThrottledPasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", views.ShopPasswordResetDoneView.as_view(), name="password_reset_done"),
    path("reset/<uidb64>/<token>/", views.ShopPasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("reset/done/", views.ShopPasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("password-change/", views.ShopPasswordChangeView.as_view(), name="password_change"),
]
