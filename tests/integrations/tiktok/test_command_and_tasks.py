from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from django_q.models import OrmQ

from integrations.models import SandboxTikTokUser, TikTokScan
from integrations.tiktok.tasks import scan_due_tenants
from tests.factories import TenantFactory
from tests.integrations.tiktok.conftest import tiktok_member, tiktok_tenant


@pytest.mark.usefixtures("emulator")
def test_scan_tiktok_runs_one_scan_and_says_what_it_did() -> None:
    tenant = tiktok_tenant()
    tiktok_member(tenant, "janedoe")
    SandboxTikTokUser.objects.create(username="janedoe")
    out = StringIO()

    call_command("scan_tiktok", "--tenant", "acme", stdout=out)

    assert out.getvalue().startswith("acme: scan ")
    assert "done" in out.getvalue() and "requests" in out.getvalue()
    assert TikTokScan.objects.get().tenant == tenant


@pytest.mark.django_db
def test_scan_tiktok_refuses_an_unknown_tenant() -> None:
    with pytest.raises(CommandError, match="nope"):
        call_command("scan_tiktok", "--tenant", "nope")


@pytest.mark.django_db
def test_only_tenants_due_by_their_interval_are_queued() -> None:
    # given
    due = tiktok_tenant("due")
    recent = tiktok_tenant("recent", hashtags=("recent",))
    TenantFactory(slug="no-hashtags")
    old = TikTokScan.objects.create(
        tenant=due, source="research", plan="hashtags", status="done"
    )
    TikTokScan.objects.filter(pk=old.pk).update(
        started_at=timezone.now() - timedelta(hours=7)
    )
    TikTokScan.objects.create(
        tenant=recent, source="research", plan="hashtags", status="done"
    )

    # when
    summary = scan_due_tenants()

    # then
    assert summary == "TikTok scans queued: due"
    assert [row.task["args"] for row in OrmQ.objects.all()] == [("due",)]
