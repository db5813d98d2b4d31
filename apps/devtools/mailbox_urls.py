"""The development mailbox, under /dev/mailbox/ (included by apps/devtools/urls.py)."""

from django.urls import path

from apps.devtools import mailbox_views

urlpatterns = [
    path("", mailbox_views.mailbox_list, name="mailbox"),
    path("<str:file>/<int:index>/", mailbox_views.mailbox_html, name="mailbox_html"),
]
