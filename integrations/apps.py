from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Social integrations"

    def ready(self) -> None:
        from integrations.instagram import signals  # noqa: F401  (connects receivers)
