from integrations.models.activity import (
    Activity,
    ActivityKind,
    ActivityStatus,
    Platform,
)
from integrations.models.connection import BrandConnection, ConnectionStatus, DmKeyword
from integrations.models.delivery import DeliveryStatus, WebhookDelivery
from integrations.models.discovery import DiscoveryCacheEntry
from integrations.models.sandbox import SandboxBrand, SandboxInstagramUser, SandboxMedia

__all__ = [
    "Activity",
    "ActivityKind",
    "ActivityStatus",
    "BrandConnection",
    "ConnectionStatus",
    "DeliveryStatus",
    "DiscoveryCacheEntry",
    "DmKeyword",
    "Platform",
    "SandboxBrand",
    "SandboxInstagramUser",
    "SandboxMedia",
    "WebhookDelivery",
]
