from django.apps import AppConfig


class RankingsConfig(AppConfig):
    name = "apps.rankings"
    label = "rankings"

    def ready(self):
        from apps.catalog.filters import register_storefront_ordering
        from apps.rankings.selectors import order_by_popularity

        register_storefront_ordering("popular", label="Most popular", order=order_by_popularity)
