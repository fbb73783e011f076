"""Brand connections (a brand's Instagram account, reached through its Page) and
the DM keywords a tenant tracks."""

from django.db import models
from django.db.models.functions import Lower

from socialportal.crypto import EncryptedTextField


class ConnectionStatus(models.TextChoices):
    CONNECTED = "connected", "connected"
    NEEDS_RECONNECT = "needs_reconnect", "needs reconnect"
    DISCONNECTED = "disconnected", "disconnected"


class ConnectionQuerySet(models.QuerySet["BrandConnection"]):
    def connected(self) -> "ConnectionQuerySet":
        """The connections any scanner or pipeline step may use: only these."""
        return self.filter(status=ConnectionStatus.CONNECTED)

    def connected_of(self, tenant_slug: str | None) -> "ConnectionQuerySet":
        """Connected brands, with their tenant, of one tenant (or of all)."""
        rows = self.connected().select_related("tenant")
        return rows.filter(tenant__slug=tenant_slug) if tenant_slug else rows


class BrandConnection(models.Model):
    """A brand's Instagram professional account, reached through its Facebook Page.

    One row per Instagram account for its whole life: reconnecting through a new
    invitation replaces the token on the same row, so its history stays.
    """

    tenant = models.ForeignKey("loyalty.Tenant", on_delete=models.CASCADE)
    # The IG professional account id: Meta's ``entry[].id`` for instagram webhooks,
    # so deliveries are routed to a tenant by it.
    ig_user_id = models.CharField("Instagram account id", max_length=64, unique=True)
    username = models.CharField(max_length=30, blank=True)
    page_id = models.CharField("Facebook Page id", max_length=64, blank=True)
    page_token = EncryptedTextField(blank=True)
    status = models.CharField(
        max_length=16,
        choices=ConnectionStatus.choices,
        default=ConnectionStatus.CONNECTED,
    )
    status_reason = models.TextField(blank=True)
    # The app-scoped Facebook user id of whoever granted access: Meta's
    # deauthorize and data-deletion callbacks name people by it.
    fb_user_id = models.CharField("Facebook user id", max_length=64, blank=True)
    granted_scopes = models.JSONField(default=list, blank=True)
    subscribed_fields = models.JSONField(default=list, blank=True)
    connected_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField("last checked", null=True, blank=True)
    # The latest X-App-Usage / X-Business-Use-Case-Usage values (percent of the
    # limits) seen on this brand's Graph calls, and when.
    graph_usage = models.JSONField(default=dict, blank=True)
    graph_usage_at = models.DateTimeField(null=True, blank=True)
    # Set after a throttling error: no Graph call for this brand before then.
    graph_paused_until = models.DateTimeField(null=True, blank=True)
    # The tag scanner's claim (a run in progress since then) and its progress.
    tags_scan_started_at = models.DateTimeField(null=True, blank=True)
    tags_scanned_at = models.DateTimeField(null=True, blank=True)
    # Null until the first scan, which records existing tags as a baseline.
    tags_baseline_at = models.DateTimeField(null=True, blank=True)
    # Newest tagged media timestamp a complete scan has seen.
    tags_watermark = models.DateTimeField(null=True, blank=True)
    # A scan stopped early (throttled): the next one must not stop at the first
    # media it already knows, as the pages behind it were never read.
    is_tags_walk_incomplete = models.BooleanField(default=False)
    # The ``after`` cursor where an incomplete walk stopped (page limit or a
    # throttle): the next scan continues from it instead of the first page.
    tags_resume_after = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ConnectionQuerySet.as_manager()

    class Meta:
        ordering = ["tenant", "username"]
        indexes = [
            # Meta's callbacks look connections up by the person who made them.
            models.Index(fields=["fb_user_id"], name="connection_fb_user_idx"),
        ]

    def __str__(self) -> str:
        return f"@{self.username or self.ig_user_id} ({self.tenant})"

    @property
    def is_connected(self) -> bool:
        return self.status == ConnectionStatus.CONNECTED


class DmKeyword(models.Model):
    """A word that, in a member's first DM, tells the tenant where they came from."""

    tenant = models.ForeignKey("loyalty.Tenant", on_delete=models.CASCADE)
    keyword = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tenant", "keyword"]
        verbose_name = "DM keyword"
        constraints = [
            models.UniqueConstraint(
                "tenant", Lower("keyword"), name="dmkeyword_unique_per_tenant"
            ),
        ]

    def __str__(self) -> str:
        return self.keyword
