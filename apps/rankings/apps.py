from django.apps import AppConfig


class RankingsConfig(AppConfig):
    name = "apps.rankings"
    label = "rankings"

    def ready(self):
        from apps.catalog.filters import register_storefront_ordering
        from apps.outbox.consumers import Consumer, register
        from apps.rankings.selectors import order_by_popularity
        from apps.rankings.services import CONSUMER_NAME, EVENT_TYPES, handle_order_event

        register_storefront_ordering("popular", label="Most popular", order=order_by_popularity)
        register(Consumer(name=CONSUMER_NAME, event_types=EVENT_TYPES, handle=handle_order_event, transactional=True))
