"""Connecting a brand after Facebook's login dialog answered with a ``code``.

The steps, in order: exchange the code, get the long-lived user token, check the
granted scopes (``debug_token``), list the Pages with their Instagram accounts,
and for the chosen account check its Page token, subscribe the Page to our
webhook fields and read the subscription back. Only then is the invitation
claimed and the connection written, in one transaction.
"""

import logging
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from integrations.meta.graph import GraphClient, GraphError
from integrations.meta.login import redirect_uri
from integrations.models import BrandConnection, ConnectionStatus, Invitation

logger = logging.getLogger(__name__)

# Reference §6.2: the product's permission set (the set itself is INFERENCE),
# each with the words the brand owner reads on the invitation page.
PERMISSIONS: dict[str, tuple[str, str]] = {
    "instagram_basic": ("Your Instagram profile", "to know which account is connected"),
    "instagram_manage_messages": (
        "Your Instagram messages",
        "to notice when a member messages you or mentions you in a story",
    ),
    "instagram_manage_comments": (
        "Mentions and tags",
        "to notice posts and comments that mention your brand",
    ),
    "instagram_manage_insights": (
        "Public account details",
        "to read a member's public follower and post counts",
    ),
    "pages_show_list": (
        "Your Facebook Pages",
        "to find the Page your Instagram account is linked to",
    ),
    "pages_read_engagement": (
        "Page content",
        "to read the Page's linked Instagram account",
    ),
    "pages_manage_metadata": (
        "Page settings",
        "to switch on the notifications Instagram sends us",
    ),
}
REQUIRED_SCOPES = tuple(PERMISSIONS)
# Reference §6.5: a Page is installed with subscribed_apps; an account then gets
# every field the app subscribes to at app level, so `messages` is what the Page
# install needs (INFERENCE, as the reference marks it).
# Limitation: only `messages` is asked for on the Page; unverified live.
SUBSCRIBED_FIELDS = ("messages",)


class OnboardingProblem(Exception):
    """Connecting stopped; ``kind`` picks the page the owner sees."""

    def __init__(self, kind: str, items: list[str] | None = None) -> None:
        super().__init__(kind)
        self.kind = kind
        self.items = items or []


@dataclass
class Candidate:
    page_id: str
    page_name: str
    ig_user_id: str
    username: str
    page_token: str = ""

    def public(self) -> dict[str, str]:
        """What may be kept between requests: everything but the token."""
        return {
            "page_id": self.page_id,
            "page_name": self.page_name,
            "ig_user_id": self.ig_user_id,
            "username": self.username,
        }


@dataclass
class Login:
    user_token: str
    fb_user_id: str
    scopes: list[str]
    candidates: list[Candidate]


def log_in(code: str) -> Login:
    """From the dialog's code to the person's Instagram accounts."""
    try:
        short = GraphClient(None).exchange_code(code, redirect_uri())
        user_token = GraphClient(None).exchange_long_lived(short["access_token"])[
            "access_token"
        ]
        inspected = GraphClient.for_app().debug_token(user_token)
        candidates = candidates_for(user_token)
    except (GraphError, KeyError) as error:
        raise graph_problem(error) from None
    return Login(
        user_token=user_token,
        fb_user_id=str(inspected.get("user_id") or ""),
        scopes=_checked_scopes(inspected),
        candidates=_checked_candidates(candidates),
    )


def candidates_for(user_token: str) -> list[Candidate]:
    found = []
    for page in GraphClient(user_token).accounts():
        account = page.get("instagram_business_account")
        if not isinstance(account, dict) or not account.get("id"):
            continue  # no IG professional account linked to this Page
        found.append(
            Candidate(
                page_id=str(page.get("id", "")),
                page_name=str(page.get("name", "")),
                ig_user_id=str(account["id"]),
                username=str(account.get("username", "")),
                page_token=str(page.get("access_token", "")),
            )
        )
    return found


def connect(invitation: Invitation, login: Login, chosen: Candidate) -> BrandConnection:
    """Check, subscribe, then claim the invitation and write the connection."""
    _refuse_other_tenants(invitation, chosen)
    try:
        _check_page_token(chosen)
        fields = _subscribe(chosen)
    except GraphError as error:
        raise graph_problem(error) from None
    return _save(invitation, login, chosen, fields)


def _checked_scopes(inspected: dict[str, Any]) -> list[str]:
    scopes = [str(scope) for scope in inspected.get("scopes") or []]
    missing = [scope for scope in REQUIRED_SCOPES if scope not in scopes]
    if not inspected.get("is_valid") or missing:
        raise OnboardingProblem(
            "missing_permissions", [PERMISSIONS[s][0] for s in missing]
        )
    return scopes


def _checked_candidates(candidates: list[Candidate]) -> list[Candidate]:
    if not candidates:
        raise OnboardingProblem("no_instagram")
    return candidates


def _refuse_other_tenants(invitation: Invitation, chosen: Candidate) -> None:
    """Early answer before any Graph call; ``_save`` checks again under a lock."""
    if chosen.ig_user_id in taken_elsewhere(invitation, [chosen.ig_user_id]):
        raise OnboardingProblem("taken")


def taken_elsewhere(invitation: Invitation, ig_user_ids: list[str]) -> set[str]:
    """The accounts among ``ig_user_ids`` that another tenant holds a row for.

    Whatever that row's status: a disconnected row still carries the other
    tenant's history (tag baseline, activities), so only an operator deleting it
    in the admin frees the account.
    """
    return set(
        BrandConnection.objects.filter(ig_user_id__in=ig_user_ids)
        .exclude(tenant=invitation.tenant)
        .values_list("ig_user_id", flat=True)
    )


def _check_page_token(chosen: Candidate) -> None:
    """The Page token is valid and its grant names this Page and IG account."""
    inspected = GraphClient.for_app().debug_token(chosen.page_token)
    if not inspected.get("is_valid"):
        raise OnboardingProblem("graph")
    for grant in inspected.get("granular_scopes") or []:
        targets = grant.get("target_ids")
        if targets is None or grant.get("scope") not in REQUIRED_SCOPES:
            continue  # no target_ids: granted for everything the person manages
        wanted = (
            chosen.page_id
            if grant["scope"].startswith("pages_")
            else (chosen.ig_user_id)
        )
        if wanted not in [str(target) for target in targets]:
            raise OnboardingProblem(
                "missing_permissions", [PERMISSIONS[grant["scope"]][0]]
            )


def _subscribe(chosen: Candidate) -> list[str]:
    client = GraphClient(chosen.page_token)
    client.subscribe(chosen.page_id, list(SUBSCRIBED_FIELDS))
    fields = client.subscribed_fields(chosen.page_id)
    if not set(SUBSCRIBED_FIELDS) <= set(fields):
        logger.warning(
            "Page subscription not confirmed", extra={"page_id": chosen.page_id}
        )
        raise OnboardingProblem("graph")
    return fields


def _save(
    invitation: Invitation, login: Login, chosen: Candidate, fields: list[str]
) -> BrandConnection:
    now = timezone.now()
    values = {
        "username": chosen.username,
        "page_id": chosen.page_id,
        "page_token": chosen.page_token,
        "status": ConnectionStatus.CONNECTED,
        "status_reason": "",
        "fb_user_id": login.fb_user_id,
        "granted_scopes": login.scopes,
        "subscribed_fields": fields,
        "connected_at": now,
        "checked_at": now,
    }
    # Any OnboardingProblem raised inside rolls the claim back: the invitation
    # stays usable.
    with transaction.atomic():
        # Two racing callbacks both reach this point; one claims the invitation.
        claimed = Invitation.objects.filter(
            pk=invitation.pk, used_at=None, revoked_at=None, expires_at__gt=now
        ).update(used_at=now)
        if not claimed:
            raise OnboardingProblem("used_meanwhile")
        connection, created = _write_connection(invitation, chosen, values)
        Invitation.objects.filter(pk=invitation.pk).update(connection=connection)
    logger.info(
        "Brand connected",
        extra={
            "tenant": invitation.tenant.slug,
            "connection": connection.pk,
            "reconnected": not created,
        },
    )
    return connection


def _write_connection(
    invitation: Invitation, chosen: Candidate, values: dict[str, Any]
) -> tuple[BrandConnection, bool]:
    """Reuse this tenant's row for the account, or insert one; else "taken".

    Must run inside the transaction that claimed the invitation. The row lock
    makes the ownership check and the write one step against another tenant's
    callback; when there is no row to lock yet, the unique constraint on
    ``ig_user_id`` decides which of two racing inserts wins.
    """
    existing = _locked_connection(chosen.ig_user_id)
    if existing is None:
        try:
            with transaction.atomic():  # a savepoint: the claim survives a loss
                created = BrandConnection.objects.create(
                    tenant=invitation.tenant, ig_user_id=chosen.ig_user_id, **values
                )
            return created, True
        except IntegrityError:
            # Another callback inserted it first; it has committed by now.
            existing = _locked_connection(chosen.ig_user_id)
    if existing is None or existing.tenant_id != invitation.tenant_id:
        raise OnboardingProblem("taken")
    for name, value in values.items():
        setattr(existing, name, value)
    existing.save(update_fields=[*values, "updated_at"])
    return existing, False


def _locked_connection(ig_user_id: str) -> BrandConnection | None:
    return (
        # Ordered by pk: the model's default ordering joins the tenant table,
        # whose row FOR UPDATE would lock as well.
        BrandConnection.objects.select_for_update()
        .filter(ig_user_id=ig_user_id)
        .order_by("pk")
        .first()
    )


def graph_problem(error: Exception) -> OnboardingProblem:
    code = getattr(error, "code", None)
    logger.warning(
        "Onboarding stopped on a Graph API answer",
        extra={"code": code, "fbtrace_id": getattr(error, "fbtrace_id", "")},
    )
    return OnboardingProblem("graph")
