"""Development-only routes, included under /dev/ by config/urls.py when DEBUG is on."""

from django.urls import path

from apps.outbox import views

app_name = "outbox_dev"

urlpatterns = [
    path("data-platform/events", views.dev_data_platform_events, name="data_platform_events"),
]
