from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"

    def ready(self):
        # Each app's business metrics (apps.core.metrics): imported by module name, so core imports no app.
        autodiscover_modules("metrics")
