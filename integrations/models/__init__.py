from integrations.models.activity import (
    Activity,
    ActivityKind,
    ActivityStatus,
    Platform,
)
from integrations.models.connection import BrandConnection, ConnectionStatus, DmKeyword
from integrations.models.delivery import DeliveryStatus, WebhookDelivery
from integrations.models.sandbox import (
    SandboxBrand,
    SandboxInstagramUser,
    SandboxMedia,
    SandboxTikTokState,
    SandboxTikTokUser,
    SandboxTikTokVideo,
)
from integrations.models.tiktok import (
    ScanPlan,
    ScanStatus,
    TikTokDayRead,
    TikTokQuotaDay,
    TikTokScan,
    TrackedHashtag,
)

__all__ = [
    "Activity",
    "ActivityKind",
    "ActivityStatus",
    "BrandConnection",
    "ConnectionStatus",
    "DeliveryStatus",
    "DmKeyword",
    "Platform",
    "SandboxBrand",
    "SandboxInstagramUser",
    "SandboxMedia",
    "SandboxTikTokState",
    "SandboxTikTokUser",
    "SandboxTikTokVideo",
    "ScanPlan",
    "ScanStatus",
    "TikTokDayRead",
    "TikTokQuotaDay",
    "TikTokScan",
    "TrackedHashtag",
    "WebhookDelivery",
]
