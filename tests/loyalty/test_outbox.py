"""The outbox: queueing, claiming and draining to the Loyalty Engine emulator."""

import threading
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from unittest import mock

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from loyalty import outbox
from loyalty.client import LoyaltyClient, LoyaltyError
from loyalty.models import (
    AttributeWrite,
    LoyaltyEvent,
    OutboxStatus,
    SandboxLoyaltyEvent,
)
from loyalty.tasks import drain_outbox
from tests.factories import (
    MemberFactory,
    SandboxLoyaltyTenantFactory,
    SandboxLoyaltyUserFactory,
    TenantFactory,
)

OCCURRED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def wll(live_server) -> SimpleNamespace:  # type: ignore[no-untyped-def]
    """A tenant and member in the portal, twinned in the emulator."""
    cache.clear()
    remote = SandboxLoyaltyTenantFactory(slug="acme")
    tenant = TenantFactory(
        slug="acme",
        api_base_url=f"{live_server.url}/sandbox/loyalty/v1",
        auth_url=f"{live_server.url}/sandbox/loyalty",
    )
    user = SandboxLoyaltyUserFactory(tenant=remote)
    member = MemberFactory(tenant=tenant, wll_user_id=user.id)
    return SimpleNamespace(remote=remote, tenant=tenant, user=user, member=member)


def queue(wll: SimpleNamespace, key: str = "instagram:dm:m1") -> LoyaltyEvent:
    event = outbox.queue_event(
        tenant=wll.tenant,
        member=wll.member,
        type="DM_YOU_SOCIAL",
        payload={"platform": "instagram", "message": "JOIN"},
        occurred_at=OCCURRED,
        dedupe_key=key,
    )
    assert event is not None
    return event


def script(remote, *faults: dict) -> None:  # type: ignore[no-untyped-def]
    remote.faults = list(faults)
    remote.save()


# -- queueing ------------------------------------------------------------------


@pytest.mark.django_db
def test_it_queues_an_event_once_per_dedupe_key() -> None:
    # given
    member = MemberFactory()
    fields = {
        "tenant": member.tenant,
        "member": member,
        "type": "DM_YOU_SOCIAL",
        "payload": {},
        "occurred_at": OCCURRED,
        "dedupe_key": "instagram:dm:m1",
    }

    # when
    first = outbox.queue_event(**fields)
    second = outbox.queue_event(**fields)

    # then
    assert first is not None
    assert first.subject == member.wll_user_id
    assert first.status == OutboxStatus.PENDING
    assert second is None
    assert LoyaltyEvent.objects.count() == 1


@pytest.mark.django_db
def test_it_survives_a_concurrent_insert_inside_a_transaction() -> None:
    # given: another worker inserts the same key between our check and insert
    member = MemberFactory()
    fields = {
        "tenant": member.tenant,
        "member": member,
        "type": "DM_YOU_SOCIAL",
        "payload": {},
        "occurred_at": OCCURRED,
        "dedupe_key": "instagram:dm:m1",
    }
    outbox.queue_event(**fields)

    # when
    with transaction.atomic():
        with mock.patch.object(QuerySet, "exists", side_effect=[False, True]):
            lost = outbox.queue_event(**fields)
        # then: the outer transaction is still usable
        other = outbox.queue_event(**{**fields, "dedupe_key": "instagram:dm:m2"})

    assert lost is None
    assert other is not None
    assert LoyaltyEvent.objects.count() == 2


@pytest.mark.django_db
def test_it_queues_attribute_writes() -> None:
    member = MemberFactory()

    write = outbox.queue_attributes(
        tenant=member.tenant,
        member=member,
        attributes={"instagram_verified": True},
        reason="dm linked",
    )

    assert write.status == OutboxStatus.PENDING
    assert AttributeWrite.objects.get() == write


# -- draining events -------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_it_sends_a_due_event(wll: SimpleNamespace) -> None:
    event = queue(wll)

    result = outbox.drain()

    assert result == outbox.DrainResult(sent=1)
    event.refresh_from_db()
    assert event.status == OutboxStatus.SENT
    assert event.sent_at is not None
    assert event.attempts == 1
    assert event.response["subject"] == wll.user.id
    remote = SandboxLoyaltyEvent.objects.get()
    assert remote.occurred_at == "2026-12-01T09:00:00.000Z"


@pytest.mark.django_db(transaction=True)
def test_it_sends_an_event_once_when_drained_twice(wll: SimpleNamespace) -> None:
    queue(wll)

    first = outbox.drain()
    second = outbox.drain()

    assert (first.sent, second.total) == (1, 0)
    assert SandboxLoyaltyEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_leaves_rows_that_are_not_due_yet(wll: SimpleNamespace) -> None:
    event = queue(wll)
    LoyaltyEvent.objects.filter(pk=event.pk).update(
        next_attempt_at=timezone.now() + timedelta(minutes=5)
    )

    assert outbox.drain().total == 0
    assert SandboxLoyaltyEvent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_it_lets_only_one_worker_claim_a_row(
    wll: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: two workers listed the same due row
    event = queue(wll)
    listing = [event.pk]
    monkeypatch.setattr(outbox, "_due_event_ids", lambda batch_size: listing)

    # when: both try to send it
    first = outbox.drain()
    second = outbox.drain()

    # then
    assert (first.sent, second.total) == (1, 0)
    assert SandboxLoyaltyEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_skips_a_row_another_worker_is_sending(wll: SimpleNamespace) -> None:
    event = queue(wll)
    LoyaltyEvent.objects.filter(pk=event.pk).update(
        status=OutboxStatus.SENDING, claimed_at=timezone.now() - timedelta(minutes=1)
    )

    assert outbox.drain().total == 0
    assert SandboxLoyaltyEvent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_it_reclaims_a_row_stuck_in_sending(wll: SimpleNamespace) -> None:
    # given: a worker died mid-send eleven minutes ago
    event = queue(wll)
    LoyaltyEvent.objects.filter(pk=event.pk).update(
        status=OutboxStatus.SENDING,
        claimed_at=timezone.now() - timedelta(minutes=11),
        attempts=1,
    )

    # when
    result = outbox.drain()

    # then
    assert result.sent == 1
    event.refresh_from_db()
    assert (event.status, event.attempts) == (OutboxStatus.SENT, 2)


@pytest.mark.django_db(transaction=True)
def test_a_row_orphaned_after_its_send_arrived_is_not_sent_again(
    wll: SimpleNamespace,
) -> None:
    # given: the event reached WLL, then the worker died before marking it
    event = queue(wll)
    outbox.drain()
    LoyaltyEvent.objects.filter(pk=event.pk).update(
        status=OutboxStatus.SENDING,
        claimed_at=timezone.now() - timedelta(minutes=11),
    )

    # when
    result = outbox.drain()

    # then
    assert result.sent == 1
    assert SandboxLoyaltyEvent.objects.count() == 1
    event.refresh_from_db()
    assert (event.status, event.outcome_unknown) == (OutboxStatus.SENT, False)


@pytest.mark.django_db(transaction=True)
def test_an_event_whose_answer_was_lost_is_looked_up_not_resent(
    wll: SimpleNamespace,
) -> None:
    # given: WLL stores the event, but the answer is lost behind a 502
    event = queue(wll)
    script(wll.remote, {"status": 502, "after_processing": True})

    # when
    first = outbox.drain()
    LoyaltyEvent.objects.filter(pk=event.pk).update(next_attempt_at=timezone.now())
    second = outbox.drain()

    # then
    assert (first.retried, second.sent) == (1, 1)
    assert SandboxLoyaltyEvent.objects.count() == 1
    event.refresh_from_db()
    assert event.status == OutboxStatus.SENT
    assert event.outcome_unknown is False


@pytest.mark.django_db(transaction=True)
def test_an_event_refused_before_processing_is_simply_sent_again(
    wll: SimpleNamespace,
) -> None:
    # given: a 429 means WLL never looked at the request
    event = queue(wll)
    script(wll.remote, {"status": 429})

    # when
    outbox.drain()
    event.refresh_from_db()
    flagged = event.outcome_unknown
    LoyaltyEvent.objects.filter(pk=event.pk).update(next_attempt_at=timezone.now())
    outbox.drain()

    # then
    assert flagged is False
    assert SandboxLoyaltyEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_unknown_outcome_that_did_not_arrive_is_sent_once(
    wll: SimpleNamespace,
) -> None:
    # given: a send flagged unknown that WLL never stored
    event = queue(wll)
    LoyaltyEvent.objects.filter(pk=event.pk).update(outcome_unknown=True)

    # when
    result = outbox.drain()

    # then
    assert result.sent == 1
    assert SandboxLoyaltyEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_claims_nothing_once_its_time_is_up(wll: SimpleNamespace) -> None:
    event = queue(wll)

    result = outbox.drain(deadline=time.monotonic() - 1)

    assert result.total == 0
    event.refresh_from_db()
    assert (event.status, event.attempts) == (OutboxStatus.PENDING, 0)


@pytest.mark.django_db(transaction=True)
def test_an_unreadable_success_reply_is_treated_as_maybe_delivered(
    wll: SimpleNamespace,
) -> None:
    # given WLL stores the event but answers with something we cannot read
    event = queue(wll)
    real_report = LoyaltyClient.report_event

    def report_then_garble(self, *args):  # type: ignore[no-untyped-def]
        real_report(self, *args)
        raise LoyaltyError("expected a JSON object, got list")

    # when
    with mock.patch.object(LoyaltyClient, "report_event", report_then_garble):
        outbox.drain()
    LoyaltyEvent.objects.filter(pk=event.pk).update(next_attempt_at=timezone.now())
    outbox.drain()

    # then
    assert SandboxLoyaltyEvent.objects.count() == 1
    event.refresh_from_db()
    assert event.status == OutboxStatus.SENT


@pytest.mark.django_db(transaction=True)
def test_it_backs_off_at_least_as_long_as_retry_after(wll: SimpleNamespace) -> None:
    # given
    event = queue(wll)
    script(wll.remote, {"status": 429, "retry_after": 120})
    before = timezone.now()

    # when
    result = outbox.drain()

    # then
    assert result == outbox.DrainResult(retried=1)
    event.refresh_from_db()
    assert event.status == OutboxStatus.PENDING
    assert event.attempts == 1
    assert event.next_attempt_at >= before + timedelta(seconds=120)
    assert "429" in event.last_error
    assert SandboxLoyaltyEvent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_it_backs_off_exponentially_without_retry_after(wll: SimpleNamespace) -> None:
    # given: the row already failed three times
    event = queue(wll)
    LoyaltyEvent.objects.filter(pk=event.pk).update(attempts=3)
    script(wll.remote, {"status": 503})
    before = timezone.now()

    # when
    outbox.drain()

    # then: fourth attempt failed -> 30 s * 2**3, halved at most by jitter
    event.refresh_from_db()
    delay = event.next_attempt_at - before
    assert timedelta(seconds=120) <= delay <= timedelta(seconds=241)


def test_it_caps_the_backoff_at_an_hour() -> None:
    assert outbox.retry_delay(30, None) <= 3600
    assert outbox.retry_delay(1, 7200) == 3600
    assert outbox.retry_delay(1, 100) == 100


@pytest.mark.django_db(transaction=True)
def test_it_fails_a_rejected_row_with_the_reason(wll: SimpleNamespace) -> None:
    event = outbox.queue_event(
        tenant=wll.tenant,
        member=MemberFactory(tenant=wll.tenant, wll_user_id="not-in-wll"),
        type="DM_YOU_SOCIAL",
        payload={},
        occurred_at=OCCURRED,
        dedupe_key="instagram:dm:ghost",
    )

    result = outbox.drain()

    assert result == outbox.DrainResult(failed=1)
    event.refresh_from_db()
    assert event.status == OutboxStatus.FAILED
    assert event.last_error == "404 Not Found: User not-in-wll not found"


@pytest.mark.django_db(transaction=True)
def test_it_gives_up_after_twelve_attempts(wll: SimpleNamespace) -> None:
    event = queue(wll)
    LoyaltyEvent.objects.filter(pk=event.pk).update(attempts=11)
    script(wll.remote, {"status": 500})

    result = outbox.drain()

    assert result == outbox.DrainResult(failed=1)
    event.refresh_from_db()
    assert event.status == OutboxStatus.FAILED
    assert event.attempts == 12
    assert event.last_error.startswith("gave up after 12 attempts")


@pytest.mark.django_db(transaction=True)
def test_it_keeps_one_bad_row_from_blocking_the_next(wll: SimpleNamespace) -> None:
    queue(wll, key="first")
    queue(wll, key="second")
    script(wll.remote, {"status": 503})

    result = outbox.drain()

    assert result == outbox.DrainResult(sent=1, retried=1)


# -- draining attribute writes -------------------------------------------------------


def queue_writes(wll: SimpleNamespace, *attribute_sets: dict) -> list[AttributeWrite]:
    return [
        outbox.queue_attributes(
            tenant=wll.tenant, member=wll.member, attributes=attributes, reason="test"
        )
        for attributes in attribute_sets
    ]


@pytest.mark.django_db(transaction=True)
def test_it_merges_a_members_writes_into_one_patch(
    wll: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    writes = queue_writes(
        wll,
        {"instagram_handle": "jane", "instagram_followers": 100},
        {"instagram_followers": 120},
        {"instagram_verified": True},
    )
    patches = []
    real_patch = LoyaltyClient.patch_attributes

    def spy(self: LoyaltyClient, user_id: str, attributes: dict) -> dict:
        patches.append(dict(attributes))
        return real_patch(self, user_id, attributes)

    monkeypatch.setattr(LoyaltyClient, "patch_attributes", spy)

    # when
    result = outbox.drain()

    # then
    assert result == outbox.DrainResult(sent=3)
    assert patches == [
        {
            "instagram_handle": "jane",
            "instagram_followers": 120,
            "instagram_verified": True,
        }
    ]
    wll.user.refresh_from_db()
    assert wll.user.profile["attributes"] == {
        "instagramHandle": "@Jane.Doe",
        "instagram_handle": "jane",
        "instagram_followers": 120,
        "instagram_verified": True,
    }
    statuses = {
        write.status
        for write in AttributeWrite.objects.filter(pk__in=[w.pk for w in writes])
    }
    assert statuses == {OutboxStatus.SENT}


@pytest.mark.django_db(transaction=True)
def test_it_waits_while_another_worker_writes_the_member(wll: SimpleNamespace) -> None:
    # given: a write of this member is being sent by another worker
    busy, waiting = queue_writes(
        wll, {"instagram_followers": 1}, {"tiktok_followers": 2}
    )
    AttributeWrite.objects.filter(pk=busy.pk).update(
        status=OutboxStatus.SENDING, claimed_at=timezone.now()
    )

    # when
    result = outbox.drain()

    # then
    assert result.total == 0
    waiting.refresh_from_db()
    assert (waiting.status, waiting.attempts) == (OutboxStatus.PENDING, 0)
    wll.user.refresh_from_db()
    assert "tiktok_followers" not in wll.user.profile["attributes"]


@pytest.mark.django_db(transaction=True)
def test_it_retries_a_members_writes_together(wll: SimpleNamespace) -> None:
    queue_writes(wll, {"instagram_followers": 1}, {"instagram_followers": 2})
    script(wll.remote, {"status": 503})  # the GET of the read-modify-write

    with mock.patch("loyalty.client.GET_RETRIES", 0):
        result = outbox.drain()

    assert result == outbox.DrainResult(retried=2)
    rows = AttributeWrite.objects.all()
    assert {row.status for row in rows} == {OutboxStatus.PENDING}
    assert len({row.next_attempt_at for row in rows}) == 1


# -- the task ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_task_drains_until_nothing_is_due(wll: SimpleNamespace) -> None:
    for number in range(3):
        queue(wll, key=f"dm-{number}")
    queue_writes(wll, {"instagram_verified": True})

    # given: small batches, so the task needs several passes
    real_drain = outbox.drain

    # when
    with mock.patch(
        "loyalty.tasks.drain",
        lambda deadline=None: real_drain(batch_size=2, deadline=deadline),
    ):
        summary = drain_outbox()

    # then
    assert summary == "outbox: 4 sent, 0 retried, 0 failed"
    assert SandboxLoyaltyEvent.objects.count() == 3


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"),
    # The suite's in-memory SQLite shares one cache between threads and raises
    # "table is locked" instead of waiting; the file database in use waits.
    reason="needs a database that serves concurrent writers (PostgreSQL)",
)
def test_it_sends_each_row_once_with_two_workers_racing(
    wll: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: two workers that listed the same ten due rows
    ids = [queue(wll, key=f"dm-{number}").pk for number in range(10)]
    monkeypatch.setattr(outbox, "_due_event_ids", lambda batch_size: ids)
    results: list[outbox.DrainResult] = []

    def worker() -> None:
        try:
            results.append(outbox.drain())
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # then
    assert sum(result.sent for result in results) == 10
    assert SandboxLoyaltyEvent.objects.count() == 10
