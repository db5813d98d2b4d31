"""Development-only routes, included under /dev/ by config/urls.py when this app is installed."""

from django.urls import include, path

from apps.devtools import views

app_name = "devtools"

urlpatterns = [
    path("data-platform/events", views.data_platform_events, name="data_platform_events"),
    path("mailbox/", include("apps.devtools.mailbox_urls")),
]
