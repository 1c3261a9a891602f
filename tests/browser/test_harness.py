"""tests/support/browser.py: Debian's Chromium, driven by Playwright, reaches a live Flint."""

from __future__ import annotations

import pytest

from tests.support.browser import screenshot_path

pytestmark = [pytest.mark.live, pytest.mark.browser]


def test_chromium_opens_the_login_page_of_a_live_flint(
    live_flint, transactional_db, request, browser
):

    page = browser.new_page()
    response = page.goto(live_flint.url + "accounts/login/")
    assert response is not None and response.status == 200
    assert page.locator("form input[type=password]").count() == 1
    shot = screenshot_path(request, "login")
    page.screenshot(path=shot)

    assert shot.stat().st_size > 1000


def test_a_missing_chromium_skips_loudly_or_fails_when_required(monkeypatch):
    from _pytest.outcomes import Failed, Skipped

    from tests.support import browser

    monkeypatch.setattr(browser, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setattr(browser.shutil, "which", lambda name: None)

    monkeypatch.delenv("FLINT_REQUIRE_BROWSER", raising=False)
    with pytest.raises(Skipped, match="BROWSER TEST NOT RUN"):
        browser.chromium_path()

    monkeypatch.setenv("FLINT_REQUIRE_BROWSER", "1")
    with pytest.raises(Failed, match="BROWSER TEST FAILED"):
        browser.chromium_path()
