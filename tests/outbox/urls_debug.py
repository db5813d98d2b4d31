"""The project's URLs plus the DEBUG-only ones, for tests (which run with DEBUG off)."""

from django.urls import include, path

from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [*project_urlpatterns, path("dev/", include("apps.outbox.dev_urls"))]
