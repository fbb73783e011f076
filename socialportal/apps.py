from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SocialPortalConfig(AppConfig):
    name = "socialportal"
    verbose_name = "Social portal"

    def ready(self) -> None:
        from socialportal.schedules import ensure_schedules

        # Sent once per app; django_q's is the one after which its tables exist.
        post_migrate.connect(ensure_schedules, dispatch_uid="ensure_schedules")
