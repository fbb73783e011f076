"""Admin for TikTok tracking: hashtags, the source's daily quota, and scans."""

from django.conf import settings
from django.contrib import admin
from django.utils.safestring import SafeString

from integrations.admin_forms import TrackedHashtagForm
from integrations.models import (
    SandboxTikTokState,
    SandboxTikTokUser,
    SandboxTikTokVideo,
    TikTokQuotaDay,
    TikTokScan,
    TrackedHashtag,
)
from integrations.tiktok.research import RECORDS_PER_DAY, REQUESTS_PER_DAY
from socialportal.admin_helpers import (
    ReadOnlyAdmin,
    SystemRowAdmin,
    pretty_json,
    short,
    status_badge,
)


@admin.register(TrackedHashtag)
class TrackedHashtagAdmin(admin.ModelAdmin):
    form = TrackedHashtagForm
    list_display = ["__str__", "tenant", "created_at"]
    list_filter = ["tenant"]
    list_select_related = ["tenant"]
    search_fields = ["hashtag", "tenant__slug"]


@admin.register(TikTokQuotaDay)
class TikTokQuotaDayAdmin(ReadOnlyAdmin):
    list_display = ["day", "source", "requests_used", "records_used", "is_exhausted"]
    list_filter = ["source"]

    @admin.display(description="requests", ordering="requests")
    def requests_used(self, row: TikTokQuotaDay) -> str:
        return f"{row.requests} / {REQUESTS_PER_DAY}"

    @admin.display(description="records", ordering="records")
    def records_used(self, row: TikTokQuotaDay) -> str:
        return f"{row.records} / {RECORDS_PER_DAY}"


@admin.register(TikTokScan)
class TikTokScanAdmin(SystemRowAdmin):
    list_display = [
        "started_at",
        "tenant",
        "plan",
        "coloured_status",
        "estimated_requests",
        "requests",
        "reported",
        "short_note",
        "finished_at",
    ]
    list_filter = ["status", "plan", "tenant"]
    list_select_related = ["tenant"]
    readonly_fields = [
        "tenant",
        "source",
        "plan",
        "status",
        "estimated_requests",
        "counters_display",
        "units_display",
        "note",
        "claimed_at",
        "started_at",
        "finished_at",
    ]
    exclude = ["counters", "units"]

    @admin.display(description="status", ordering="status")
    def coloured_status(self, row: TikTokScan) -> SafeString:
        return status_badge(row.status, row.get_status_display())

    @admin.display(description="requests")
    def requests(self, row: TikTokScan) -> int:
        return row.counters.get("requests", 0)

    @admin.display(description="reported")
    def reported(self, row: TikTokScan) -> int:
        return row.counters.get("reported", 0)

    @admin.display(description="note")
    def short_note(self, row: TikTokScan) -> str:
        return short(row.note)

    @admin.display(description="counters")
    def counters_display(self, row: TikTokScan) -> SafeString:
        return pretty_json(row.counters)

    @admin.display(description="work left")
    def units_display(self, row: TikTokScan) -> SafeString:
        return pretty_json(row.units)


class SandboxTikTokUserAdmin(ReadOnlyAdmin):
    list_display = ["username", "display_name", "follower_count", "is_private"]
    search_fields = ["username"]


class SandboxTikTokVideoAdmin(ReadOnlyAdmin):
    list_display = ["video_id", "username", "video_description", "create_time"]
    search_fields = ["video_id", "username"]


if settings.SANDBOX:
    admin.site.register(SandboxTikTokUser, SandboxTikTokUserAdmin)
    admin.site.register(SandboxTikTokVideo, SandboxTikTokVideoAdmin)
    admin.site.register(SandboxTikTokState, ReadOnlyAdmin)
