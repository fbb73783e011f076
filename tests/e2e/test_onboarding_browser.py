"""A real browser through the whole onboarding flow on the sandbox.

Headless Chromium (the system package, driven by Playwright) plays both people:
the onboarding manager in the admin and the brand owner on a phone-sized screen,
through the emulated Facebook dialog. Every page is saved as a screenshot under
``var/screenshots/onboarding/``; any console error fails the test. A DM sent
afterwards must reach the Loyalty Engine emulator.
"""

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, WORLD, Stack, wait_for

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "var" / "screenshots" / "onboarding"
PASSWORD = "e2e-admin-password-5b1f"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("chromium is not installed (.ci/run installs it)")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


class Screens:
    """Pages of one browser context: console errors collected, shots numbered."""

    def __init__(self, context: object, errors: list[str]) -> None:
        self.page = context.new_page()  # type: ignore[attr-defined]
        self.page.on(
            "console",
            lambda msg: errors.append(msg.text) if msg.type == "error" else None,
        )
        self.page.on("pageerror", lambda exc: errors.append(str(exc)))
        self.page.on(
            "response",
            lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
        )
        self.count = 0

    def shot(self, name: str) -> None:
        self.count += 1
        self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_manager_and_a_brand_owner_connect_a_brand(
    stack: Stack, browser: object
) -> None:
    # given the demo world, whose cedar tenant starts unconnected, and an admin
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    made = stack.manage(
        "shell", "-c",
        "from django.contrib.auth.models import User; "
        f"User.objects.create_superuser('manager', 'm@example.com', '{PASSWORD}')",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    errors: list[str] = []
    admin = Screens(browser.new_context(), errors)  # type: ignore[attr-defined]
    phone = Screens(
        browser.new_context(  # type: ignore[attr-defined]
            viewport={"width": 390, "height": 844}, is_mobile=True
        ),
        errors,
    )

    # when the manager logs in and creates an invitation for cedar
    admin.page.goto(f"{stack.base_url}/admin/login/")
    admin.shot("01-admin-login")
    admin.page.fill("#id_username", "manager")
    admin.page.fill("#id_password", PASSWORD)
    admin.page.click("input[type=submit]")
    admin.page.goto(f"{stack.base_url}/admin/loyalty/tenant/?q=cedar")
    admin.page.click("text=cedar")
    admin.shot("02-tenant")
    admin.page.click("text=Create Instagram invitation")
    admin.shot("03-invitation-form")
    admin.page.click("input[name=_save]")
    admin.shot("04-invitation-link")
    link = admin.page.input_value("#invitation-link")

    # and the brand owner opens it, continues, and grants cedar's Page
    phone.page.goto(link)
    phone.shot("05-landing")
    assert "Cedar Bakery" in phone.page.inner_text("h1")
    phone.page.click("text=Continue with Facebook")
    phone.page.wait_for_selector("text=Facebook (sandbox)")
    phone.shot("06-dialog")
    for box in phone.page.query_selector_all("input[name=page]"):
        box.uncheck()
    phone.page.check("input[name=page][value='118205733619240']")
    phone.page.click("button[name=grant]")
    phone.page.wait_for_selector("text=is connected")
    phone.shot("07-connected")

    # then the admin shows the connection connected and subscribed
    admin.page.goto(f"{stack.base_url}/admin/integrations/brandconnection/?q=cedar")
    admin.shot("08-connections")
    row = admin.page.inner_text("#result_list tbody tr")
    assert "cedarbakery" in row
    assert "connected" in row
    assert "subscribed: messages" in row
    assert errors == []
    assert len(list(SHOTS.glob("*.png"))) == 8

    # and a DM sent afterwards reaches the Loyalty Engine emulator
    _dm_reaches_the_loyalty_engine(stack)


def _dm_reaches_the_loyalty_engine(stack: Stack) -> None:
    world = json.loads(WORLD.read_text())
    noah = next(u for u in world["loyalty_users"] if u["tenant"] == "cedar")
    synced = stack.manage("sync_members", "--tenant", "cedar")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    sent = stack.manage(
        "sandbox_send_dm",
        "--tenant", "cedar",
        "--from", "noah.baker",
        "--text", "Fresh BREAD please",
        "--url", stack.base_url,
    )  # fmt: skip
    assert sent.returncode == 0, sent.stdout + sent.stderr
    path = f"/sandbox/loyalty/v1/events?subject={noah['id']}"
    events = wait_for(lambda: stack.get_json(path, "k-cedar")["data"], 1)
    assert "DM_YOU_SOCIAL" in {event["type"] for event in events}
