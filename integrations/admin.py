"""Admin for onboarding managers: brand connections, DM keywords, and the health
of the pipeline (raw webhook deliveries and the activity made from them), with
actions to replay what failed."""

import json
import logging

from django.conf import settings
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.db.models.functions import Length
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django_q.tasks import async_task

from integrations import invitation_admin  # noqa: F401  (registers its admin)
from integrations.admin_forms import DmKeywordForm
from integrations.instagram import ratelimits
from integrations.meta.connections import check_connection
from integrations.models import (
    Activity,
    ActivityStatus,
    BrandConnection,
    DeliveryStatus,
    DmKeyword,
    SandboxBrand,
    SandboxInstagramUser,
    SandboxMedia,
    WebhookDelivery,
)
from integrations.models.connection import ConnectionQuerySet
from socialportal.admin_helpers import (
    ReadOnlyAdmin,
    SystemRowAdmin,
    WriteOnlySecretsAdmin,
    pretty_body,
    pretty_json,
    short,
    status_badge,
)

logger = logging.getLogger(__name__)

PROCESS_DELIVERY_TASK = "integrations.instagram.tasks.process_delivery"
RESOLVE_ACTIVITY_TASK = "integrations.instagram.tasks.resolve_activity"


@admin.register(DmKeyword)
class DmKeywordAdmin(admin.ModelAdmin):
    form = DmKeywordForm
    list_display = ["keyword", "tenant", "created_at"]
    list_filter = ["tenant"]
    list_select_related = ["tenant"]
    search_fields = ["keyword", "tenant__slug", "tenant__name"]


@admin.register(BrandConnection)
class BrandConnectionAdmin(WriteOnlySecretsAdmin):
    list_display = [
        "username",
        "tenant",
        "ig_user_id",
        "page_id",
        "coloured_status",
        "subscription",
        "checked_at",
        "graph_api_state",
        "tags_scanned_at",
    ]
    list_filter = ["status", "tenant"]
    list_select_related = ["tenant"]
    search_fields = ["username", "ig_user_id", "page_id"]
    actions = ["check_now"]
    # Everything below the editable fields is written by onboarding, the
    # connection check and the scanners; a form opened before a throttle and
    # saved after it must not lift the pause, for one.
    readonly_fields = [
        "subscription",
        "granted_scopes",
        "fb_user_id",
        "connected_at",
        "checked_at",
        "graph_api_state",
        "graph_usage_display",
        "graph_usage_at",
        "graph_paused_until",
        "tags_baseline_at",
        "tags_scanned_at",
        "tags_watermark",
        "is_tags_walk_incomplete",
        "created_at",
        "updated_at",
    ]
    fields = [
        "tenant",
        "ig_user_id",
        "username",
        "page_id",
        "page_token",
        "status",
        "status_reason",
        *readonly_fields,
    ]

    @admin.display(description="status", ordering="status")
    def coloured_status(self, connection: BrandConnection) -> SafeString:
        return status_badge(connection.status, connection.get_status_display())

    @admin.display(description="webhook subscription")
    def subscription(self, connection: BrandConnection) -> str:
        fields = connection.subscribed_fields or []
        return f"subscribed: {', '.join(fields)}" if fields else "not subscribed"

    @admin.action(description="Check the selected connections with Meta now")
    def check_now(self, request: HttpRequest, queryset: ConnectionQuerySet) -> None:
        outcomes = [check_connection(c) for c in queryset.connected()]
        skipped = queryset.count() - len(outcomes)
        self.message_user(
            request,
            f"Checked {len(outcomes)}: {', '.join(outcomes) or 'none'}; "
            f"{skipped} not connected, skipped.",
        )

    @admin.display(description="Graph API rate limit")
    def graph_api_state(self, connection: BrandConnection) -> str:
        return ratelimits.describe(connection)

    @admin.display(description="latest usage headers")
    def graph_usage_display(self, connection: BrandConnection) -> SafeString:
        return pretty_json(connection.graph_usage)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(SystemRowAdmin):
    list_display = [
        "id",
        "provider",
        "received_at",
        "coloured_status",
        "size",
        "short_summary",
    ]
    list_filter = ["status", "provider"]
    search_fields = ["error"]
    actions = ["reprocess"]
    fields = readonly_fields = (
        "provider",
        "received_at",
        "coloured_status",
        "attempts",
        "processed_at",
        "error",
        "activities",
        "summary_display",
        "body_display",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookDelivery]:
        # Bodies can be megabytes; the list needs only their length.
        queryset = super().get_queryset(request)
        return queryset.annotate(body_size=Length("body")).defer("body")

    @admin.display(description="status", ordering="status")
    def coloured_status(self, delivery: WebhookDelivery) -> SafeString:
        return status_badge(delivery.status, delivery.get_status_display())

    @admin.display(description="size", ordering="body_size")
    def size(self, delivery: WebhookDelivery) -> str:
        return filesizeformat(getattr(delivery, "body_size", 0) or 0)

    @admin.display(description="summary")
    def short_summary(self, delivery: WebhookDelivery) -> str:
        return (
            short(json.dumps(delivery.summary, ensure_ascii=False))
            if delivery.summary
            else ""
        )

    @admin.display(description="summary")
    def summary_display(self, delivery: WebhookDelivery) -> SafeString:
        return pretty_json(delivery.summary)

    @admin.display(description="body")
    def body_display(self, delivery: WebhookDelivery) -> SafeString:
        return pretty_body(delivery.body)

    @admin.display(description="activities")
    def activities(self, delivery: WebhookDelivery) -> SafeString:
        url = reverse("admin:integrations_activity_changelist")
        count = Activity.objects.filter(delivery=delivery).count()
        return format_html(
            '<a href="{}?delivery__id__exact={}">{} activities</a>',
            url,
            delivery.pk,
            count,
        )

    @admin.action(description="Reprocess selected deliveries", permissions=["change"])
    def reprocess(self, request: HttpRequest, queryset: QuerySet) -> None:
        rejected = queryset.filter(status=DeliveryStatus.REJECTED).count()
        with transaction.atomic():
            ids = list(
                queryset.exclude(status=DeliveryStatus.REJECTED).values_list(
                    "pk", flat=True
                )
            )
            # A manual replay starts a fresh attempt budget, so the stall sweeper
            # picks it up again should this task be lost.
            WebhookDelivery.objects.filter(pk__in=ids).update(
                status=DeliveryStatus.RECEIVED, attempts=0
            )
            # With the ORM broker the task rows commit with the status change.
            for delivery_id in ids:
                async_task(PROCESS_DELIVERY_TASK, delivery_id)
        logger.info("admin reprocess of %d deliveries", len(ids))
        self.message_user(request, f"{len(ids)} delivery(ies) queued for processing.")
        if rejected:
            self.message_user(
                request,
                f"{rejected} rejected delivery(ies) skipped: their body is not JSON, "
                "so processing it again cannot succeed. They are kept for inspection.",
                messages.WARNING,
            )


@admin.register(Activity)
class ActivityAdmin(SystemRowAdmin):
    list_display = [
        "occurred_at",
        "tenant",
        "platform",
        "kind",
        "coloured_status",
        "member",
        "username",
        "error_code",
        "short_error",
    ]
    list_filter = ["status", "platform", "kind", "tenant", "error_code"]
    list_select_related = ["tenant", "member"]
    search_fields = ["source_id", "username", "sender_id"]
    date_hierarchy = "occurred_at"
    actions = ["retry"]
    fields = readonly_fields = (
        "tenant",
        "platform",
        "kind",
        "source_id",
        "coloured_status",
        "error_code",
        "error",
        "member",
        "sender_id",
        "username",
        "connection",
        "delivery",
        "occurred_at",
        "seen_at",
        "resolved_at",
        "attempts",
        "raw_display",
        "details_display",
    )

    @admin.display(description="status", ordering="status")
    def coloured_status(self, activity: Activity) -> SafeString:
        return status_badge(activity.status, activity.get_status_display())

    @admin.display(description="error")
    def short_error(self, activity: Activity) -> str:
        return short(activity.error, 60)

    @admin.display(description="raw")
    def raw_display(self, activity: Activity) -> SafeString:
        return pretty_json(activity.raw)

    @admin.display(description="details")
    def details_display(self, activity: Activity) -> SafeString:
        return pretty_json(activity.details)

    @admin.action(description="Retry selected", permissions=["change"])
    def retry(self, request: HttpRequest, queryset: QuerySet) -> None:
        retryable = [ActivityStatus.FAILED, ActivityStatus.UNMATCHED]
        with transaction.atomic():
            ids = list(
                queryset.filter(status__in=retryable).values_list("pk", flat=True)
            )
            # A fresh attempt budget, as for a new activity (see deliveries).
            Activity.objects.filter(pk__in=ids, status__in=retryable).update(
                status=ActivityStatus.PENDING, attempts=0
            )
            for activity_id in ids:
                async_task(RESOLVE_ACTIVITY_TASK, activity_id)
        skipped = queryset.count() - len(ids)
        logger.info("admin retry of %d activities, %d skipped", len(ids), skipped)
        self.message_user(request, f"{len(ids)} activity(ies) queued to resolve again.")
        if skipped:
            self.message_user(
                request,
                f"{skipped} activity(ies) skipped: only failed or unmatched activity "
                "is retried (reported and ignored are final, pending is queued).",
                messages.WARNING,
            )


class SandboxBrandAdmin(ReadOnlyAdmin):
    list_display = ["slug", "username", "ig_user_id", "page_id"]
    # Same token as the brand connection's; hidden here too.
    exclude = ["page_token"]


class SandboxInstagramUserAdmin(ReadOnlyAdmin):
    list_display = ["username", "igsid", "account_type", "is_private", "follower_count"]
    list_filter = ["account_type", "is_private"]
    search_fields = ["username", "igsid"]


class SandboxMediaAdmin(ReadOnlyAdmin):
    list_display = ["media_id", "username", "media_product_type", "timestamp"]
    list_filter = ["media_product_type"]
    search_fields = ["media_id", "username", "caption"]


if settings.SANDBOX:
    admin.site.register(SandboxBrand, SandboxBrandAdmin)
    admin.site.register(SandboxInstagramUser, SandboxInstagramUserAdmin)
    admin.site.register(SandboxMedia, SandboxMediaAdmin)

# TikTok's admin lives beside its code; importing it registers it.
import integrations.tiktok.admin  # noqa: E402,F401
