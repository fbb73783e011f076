from loyalty.models.member import (
    FollowStatus,
    HandleStatus,
    Member,
    TikTokAccountStatus,
)
from loyalty.models.outbox import AttributeWrite, LoyaltyEvent, OutboxStatus
from loyalty.models.sandbox import (
    SandboxLoyaltyEvent,
    SandboxLoyaltyTenant,
    SandboxLoyaltyUser,
)
from loyalty.models.tenant import Tenant

__all__ = [
    "AttributeWrite",
    "FollowStatus",
    "HandleStatus",
    "LoyaltyEvent",
    "Member",
    "OutboxStatus",
    "SandboxLoyaltyEvent",
    "SandboxLoyaltyTenant",
    "SandboxLoyaltyUser",
    "Tenant",
    "TikTokAccountStatus",
]
