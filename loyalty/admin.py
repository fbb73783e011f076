"""Admin for onboarding managers: tenants and their Loyalty Engine credentials,
the member index, and the outbox of events and attribute writes."""

import logging

from django.conf import settings
from django.contrib import admin, messages
from django.db import models, transaction
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django_q.tasks import async_task

from integrations import latency
from integrations.admin_forms import DmKeywordInline, TrackedHashtagInline
from integrations.models import BrandConnection
from loyalty.models import (
    AttributeWrite,
    LoyaltyEvent,
    Member,
    OutboxStatus,
    SandboxLoyaltyEvent,
    SandboxLoyaltyTenant,
    SandboxLoyaltyUser,
    Tenant,
)
from socialportal.admin_helpers import (
    HTTPS_URL_FIELDS,
    ReadOnlyAdmin,
    SystemRowAdmin,
    WriteOnlySecretsAdmin,
    pretty_json,
    short,
    status_badge,
)

logger = logging.getLogger(__name__)

admin.site.site_header = "Social portal"
admin.site.site_title = "Social portal"
admin.site.index_title = "Administration"

DRAIN_OUTBOX_TASK = "loyalty.tasks.drain_outbox"


def _count_per_tenant(model: type[Member] | type[BrandConnection]) -> Subquery:
    """A correlated COUNT, so two counts on one changelist do not multiply rows."""
    rows = (
        model.objects.filter(tenant=OuterRef("pk"))
        .order_by()
        .values("tenant")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Subquery(rows, output_field=models.IntegerField())


@admin.register(Tenant)
class TenantAdmin(WriteOnlySecretsAdmin):
    list_display = [
        "slug",
        "name",
        "api_base_url",
        "member_count",
        "connection_count",
        "instagram_latency",
    ]
    search_fields = ["slug", "name"]
    readonly_fields = [
        "created_at",
        "updated_at",
        "instagram_invitation",
        "instagram_latency",
    ]
    formfield_overrides = HTTPS_URL_FIELDS
    inlines = [DmKeywordInline, TrackedHashtagInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "slug",
                    "name",
                    "rematch_window_days",
                    "tag_backfill_days",
                    "tiktok_scan_hours",
                    "instagram_latency",
                ]
            },
        ),
        ("Instagram", {"fields": ["instagram_invitation"]}),
        (
            "Loyalty Engine",
            {
                "fields": [
                    "api_base_url",
                    "auth_url",
                    "token_audience",
                    "api_key",
                    "client_id",
                    "client_secret",
                    "webhook_secret",
                ]
            },
        ),
        ("History", {"fields": ["created_at", "updated_at"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tenant]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                members=_count_per_tenant(Member),
                connections=_count_per_tenant(BrandConnection),
            )
        )

    @admin.display(description="connect a brand")
    def instagram_invitation(self, tenant: Tenant) -> SafeString | str:
        if tenant.pk is None:
            return "Save the tenant first."
        url = reverse("admin:integrations_invitation_add") + f"?tenant={tenant.pk}"
        return format_html(
            '<a class="button" href="{}">Create Instagram invitation</a>', url
        )

    @admin.display(description="members", ordering="members")
    def member_count(self, tenant: Tenant) -> int:
        return getattr(tenant, "members", None) or 0

    @admin.display(description="connections", ordering="connections")
    def connection_count(self, tenant: Tenant) -> int:
        return getattr(tenant, "connections", None) or 0

    @admin.display(description="latency (median, p95)")
    def instagram_latency(self, tenant: Tenant) -> str:
        if tenant.pk is None:
            return "-"
        return str(latency.for_tenant(tenant.pk))


def _handle(handle: str, status: str) -> SafeString:
    return format_html("{} <small>({})</small>", handle or "—", status)


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = [
        "wll_user_id",
        "tenant",
        "auth_identifier",
        "instagram",
        "tiktok",
        "igsid",
        "follow_status",
        "dm_keyword",
        "linked_at",
    ]
    list_filter = [
        "tenant",
        "instagram_handle_status",
        "tiktok_handle_status",
        "tiktok_account_status",
        "follow_status",
    ]
    list_select_related = ["tenant"]
    search_fields = [
        "wll_user_id",
        "auth_identifier",
        "instagram_handle",
        "instagram_handle_raw",
        "tiktok_handle",
        "tiktok_handle_raw",
        "igsid",
    ]
    # The index mirrors the Loyalty Engine and what DMs taught us; editing these
    # here would only be overwritten by the next sync. IGSID, follow status and
    # DM keyword stay editable so a wrong link can be undone.
    readonly_fields = [
        "tenant",
        "wll_user_id",
        "auth_identifier",
        "instagram_handle_raw",
        "instagram_handle",
        "instagram_handle_status",
        "tiktok_handle_raw",
        "tiktok_handle",
        "tiktok_handle_status",
        "tiktok_account_status",
        "tiktok_checked_at",
        "linked_at",
        "last_profile_display",
        "last_profile_at",
        "synced_at",
        "created_at",
        "updated_at",
    ]
    exclude = ["last_profile"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Members arrive from the Loyalty Engine (sync or its webhook).
        return False

    @admin.display(description="Instagram", ordering="instagram_handle")
    def instagram(self, member: Member) -> SafeString:
        return _handle(member.instagram_handle, member.instagram_handle_status)

    @admin.display(description="TikTok", ordering="tiktok_handle")
    def tiktok(self, member: Member) -> SafeString:
        status = member.tiktok_handle_status
        if status == "valid" and member.tiktok_account_status != "unknown":
            status = member.get_tiktok_account_status_display()
        return _handle(member.tiktok_handle, status)

    @admin.display(description="last profile seen")
    def last_profile_display(self, member: Member) -> SafeString:
        return pretty_json(member.last_profile)


class OutboxAdmin(SystemRowAdmin):
    """Shared by events and attribute writes: same lifecycle, same retry."""

    list_filter = ["status", "tenant"]
    list_select_related = ["tenant", "member"]
    actions = ["retry_now"]
    readonly_fields = [
        "tenant",
        "member",
        "status",
        "attempts",
        "next_attempt_at",
        "claimed_at",
        "last_error",
        "sent_at",
        "created_at",
        "updated_at",
    ]

    @admin.display(description="status", ordering="status")
    def coloured_status(self, row: LoyaltyEvent | AttributeWrite) -> SafeString:
        return status_badge(row.status, row.get_status_display())

    @admin.display(description="last error")
    def short_error(self, row: LoyaltyEvent | AttributeWrite) -> str:
        return short(row.last_error)

    @admin.action(description="Retry now", permissions=["change"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        retryable = [OutboxStatus.FAILED, OutboxStatus.PENDING]
        # A conditional UPDATE: a row a worker is sending right now is left alone.
        # A manual retry starts a fresh attempt budget, so a row that gave up
        # after too many attempts is not failed again on its first new error.
        with transaction.atomic():
            count = queryset.filter(status__in=retryable).update(
                status=OutboxStatus.PENDING, next_attempt_at=timezone.now(), attempts=0
            )
            if count:
                # With the ORM broker the task row commits with the update.
                async_task(DRAIN_OUTBOX_TASK)
        skipped = queryset.count() - count
        logger.info("admin retry of %d outbox rows, %d skipped", count, skipped)
        self.message_user(request, f"{count} row(s) queued to be sent now.")
        if skipped:
            self.message_user(
                request,
                f"{skipped} row(s) skipped: only failed or pending rows are retried "
                "(sent rows were delivered; sending rows are in a worker's hands).",
                messages.WARNING,
            )


@admin.register(LoyaltyEvent)
class LoyaltyEventAdmin(OutboxAdmin):
    list_display = [
        "created_at",
        "tenant",
        "type",
        "subject",
        "coloured_status",
        "attempts",
        "next_attempt_at",
        "short_error",
    ]
    list_filter = ["status", "outcome_unknown", "tenant", "type"]
    search_fields = ["subject", "dedupe_key"]
    readonly_fields = [
        "type",
        "subject",
        "occurred_at",
        "dedupe_key",
        "outcome_unknown",
        "payload_display",
        "response_display",
        *OutboxAdmin.readonly_fields,
    ]
    exclude = ["payload", "response"]

    @admin.display(description="payload")
    def payload_display(self, event: LoyaltyEvent) -> SafeString:
        return pretty_json(event.payload)

    @admin.display(description="response")
    def response_display(self, event: LoyaltyEvent) -> SafeString:
        return pretty_json(event.response)


@admin.register(AttributeWrite)
class AttributeWriteAdmin(OutboxAdmin):
    list_display = [
        "created_at",
        "tenant",
        "member",
        "attribute_names",
        "coloured_status",
        "attempts",
        "next_attempt_at",
        "short_error",
    ]
    search_fields = ["member__wll_user_id", "reason"]
    readonly_fields = ["reason", "attributes_display", *OutboxAdmin.readonly_fields]
    exclude = ["attributes"]

    @admin.display(description="attributes")
    def attribute_names(self, write: AttributeWrite) -> str:
        return short(", ".join(sorted(write.attributes)))

    @admin.display(description="attributes")
    def attributes_display(self, write: AttributeWrite) -> SafeString:
        return pretty_json(write.attributes)


class SandboxLoyaltyTenantAdmin(ReadOnlyAdmin):
    list_display = ["slug", "client_id"]
    # The emulator holds the same credentials as the real tenant row, so they
    # stay as hidden here as they are there.
    exclude = ["api_key", "client_secret"]


class SandboxLoyaltyUserAdmin(ReadOnlyAdmin):
    list_display = ["id", "tenant", "auth_identifier", "created_at"]
    list_filter = ["tenant"]
    search_fields = ["id", "auth_identifier"]


class SandboxLoyaltyEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "tenant", "type", "subject", "occurred_at", "reported_at"]
    list_filter = ["tenant", "type"]
    search_fields = ["subject"]


if settings.SANDBOX:
    admin.site.register(SandboxLoyaltyTenant, SandboxLoyaltyTenantAdmin)
    admin.site.register(SandboxLoyaltyUser, SandboxLoyaltyUserAdmin)
    admin.site.register(SandboxLoyaltyEvent, SandboxLoyaltyEventAdmin)
