from django.urls import path

from apps.accounts import api

urlpatterns = [
    path("auth/signup", api.SignupApi.as_view(), name="signup"),
    path("auth/token", api.TokenApi.as_view(), name="token"),
    path("me", api.MeApi.as_view(), name="me"),
]
