from integrations.models.activity import (
    Activity,
    ActivityKind,
    ActivityStatus,
    Platform,
)
from integrations.models.connection import BrandConnection, ConnectionStatus, DmKeyword
from integrations.models.delivery import DeliveryStatus, WebhookDelivery
from integrations.models.discovery import DiscoveryCacheEntry
from integrations.models.invitation import (
    ConnectAttempt,
    DataDeletionRequest,
    Invitation,
    InvitationState,
    RateLimitHit,
)
from integrations.models.sandbox import (
    SandboxBrand,
    SandboxGrant,
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
    "ConnectAttempt",
    "ConnectionStatus",
    "DataDeletionRequest",
    "DeliveryStatus",
    "DiscoveryCacheEntry",
    "DmKeyword",
    "Invitation",
    "InvitationState",
    "Platform",
    "RateLimitHit",
    "SandboxBrand",
    "SandboxGrant",
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
