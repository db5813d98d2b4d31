from django.urls import path

from apps.storefront import views

urlpatterns = [path("", views.home, name="home")]
