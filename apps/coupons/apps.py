from django.apps import AppConfig


class CouponsConfig(AppConfig):
    name = "apps.coupons"
    label = "coupons"

    def ready(self):
        from apps.coupons import receivers  # noqa: F401  (connects the campaign cache's safety net)
