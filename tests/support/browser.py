"""Chromium for browser tests: Debian's /usr/bin/chromium driven by Playwright for Python.

The rule: without Chromium a browser test is skipped with a loud reason, unless
FLINT_REQUIRE_BROWSER=1 (set by .ci/run), where a missing browser is a failure. Tests take
the `browser` fixture (tests/support/fixtures.py), listed last among their fixtures::

    from tests.support.browser import screenshot_path

    @pytest.mark.browser
    def test_sign_up(live_flint, transactional_db, request, allow_sync_orm, browser):
        page = browser.new_page()
        page.goto(live_flint.url + "accounts/signup/")
        ...
        page.screenshot(path=screenshot_path(request, "room"))

Playwright's sync API runs an event loop in the test's thread, so Django refuses ORM
calls there unless DJANGO_ALLOW_ASYNC_UNSAFE is set: the `allow_sync_orm` fixture sets it
for the test only (the live processes never inherit it).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from tests.support.live import REPO

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOT_DIR = REPO / "test-output" / "screenshots"


def browser_required() -> bool:
    return os.environ.get("FLINT_REQUIRE_BROWSER", "").strip().lower() in {"1", "true", "yes"}


def chromium_path() -> str:
    """Path of the Chromium binary; skips (or fails, when required) the test without one."""
    path = CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")
    if path:
        return path
    message = (
        f"BROWSER TEST NOT RUN: no Chromium at {CHROMIUM} (install it: apt-get install -y "
        "chromium). Set FLINT_REQUIRE_BROWSER=1 to make this a failure, as CI does."
    )
    if browser_required():
        pytest.fail(message.replace("NOT RUN", "FAILED"), pytrace=False)
    pytest.skip(message)


def launch_browser(playwright, **options):
    """A headless Chromium Browser; pass Playwright's launch() options to override.

    Its pages watch the console for Content-Security-Policy violations, and
    `browser.close()` fails the test if there was one: every page runs under Flint's
    policy (webapp/settings.py), and a violation means something stopped working.
    """
    options.setdefault("executable_path", chromium_path())
    options.setdefault("args", CHROMIUM_ARGS)
    options.setdefault("headless", True)
    browser = playwright.chromium.launch(**options)
    _watch_csp(browser)
    return browser


def _watch_csp(browser) -> None:
    violations: list[str] = []

    def on_console(message) -> None:
        if "Content Security Policy" in message.text:
            violations.append(f"{message.location.get('url', '')}: {message.text}")

    new_context, new_page, close = browser.new_context, browser.new_page, browser.close

    def watched_context(*args, **kwargs):
        context = new_context(*args, **kwargs)
        context.on("console", on_console)
        return context

    def watched_page(*args, **kwargs):
        page = new_page(*args, **kwargs)
        page.on("console", on_console)
        return page

    def checked_close(*args, **kwargs):
        close(*args, **kwargs)
        if violations:
            raise AssertionError("Content-Security-Policy violations:\n" + "\n".join(violations))

    browser.new_context = watched_context
    browser.new_page = watched_page
    browser.close = checked_close


def screenshot_path(request: pytest.FixtureRequest, name: str) -> Path:
    """test-output/screenshots/<test id>/<name>.png (the folder is made)."""
    test_id = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid).strip("_")
    folder = SCREENSHOT_DIR / test_id
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{name}.png"


def open_room_as(browser, flint, user, room, *, width: int = 1280, height: int = 800):
    """A page in `room` on the live Flint, logged in as `user` with a real session cookie,
    once its room socket is live."""
    from django.test import Client
    from playwright.sync_api import expect

    client = Client()
    client.force_login(user)
    context = browser.new_context(
        viewport={"width": width, "height": height}, accept_downloads=True
    )
    cookie = {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": flint.url}
    context.add_cookies([cookie])
    page = context.new_page()
    page.goto(f"{flint.url}rooms/{room.pk}/")
    expect(page.locator("[data-conn]")).to_have_attribute("data-state", "live")
    return page
