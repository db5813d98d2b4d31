"""Helpers for storefront and admin page tests."""

from django.contrib.messages import get_messages


def messages_of(response) -> list[str]:
    """The texts of the messages the page set for the shopper (or staff member)."""
    return [str(message) for message in get_messages(response.wsgi_request)]
