from django.apps import AppConfig


class DevtoolsConfig(AppConfig):
    """Development only: installed by local and test settings, never by production."""

    name = "apps.devtools"
    label = "devtools"
