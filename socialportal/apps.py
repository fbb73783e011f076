from django.apps import AppConfig


class SocialPortalConfig(AppConfig):
    name = "socialportal"
    verbose_name = "Social portal"
