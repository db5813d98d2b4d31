from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """E-mail to shoppers: an outbox consumer sending the order mails (API.md "E-mail to shoppers")."""

    name = "apps.notifications"
    label = "notifications"

    def ready(self):
        from apps.notifications.services import EMAIL_CONSUMER
        from apps.outbox.consumers import register

        register(EMAIL_CONSUMER)
