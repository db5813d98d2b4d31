from django.apps import AppConfig


class StorefrontConfig(AppConfig):
    """Shop pages that bring several apps together (the home page), so catalog need not import rankings."""

    name = "apps.storefront"
    label = "storefront"
