from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"

    def ready(self):
        from prometheus_client import REGISTRY

        from apps.core.metrics import BusinessMetricsCollector

        if not getattr(REGISTRY, "_flashcart_business_metrics", False):
            REGISTRY.register(BusinessMetricsCollector())
            REGISTRY._flashcart_business_metrics = True
