from django.urls import path

from apps.rankings import views

app_name = "rankings"

urlpatterns = [path("", views.rankings, name="rankings")]
