"""Chromium, through the real daphne: /api/docs works with no internet.

Swagger UI's script and styles come from Flint's own static files (django-ninja's, served
because `ninja` is an installed app), so the page renders when every other host is
unreachable, and under Flint's Content-Security-Policy (the `browser` fixture fails the
test on a violation).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.browser import screenshot_path

pytestmark = [pytest.mark.live, pytest.mark.browser]


def test_api_docs_render_with_no_other_host_reachable(
    live_flint, transactional_db, request, browser
):
    page = browser.new_page()
    elsewhere: list[str] = []

    def only_flint(route) -> None:
        if route.request.url.startswith(live_flint.url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort("internetdisconnected")

    page.route("**/*", only_flint)
    page.goto(live_flint.url + "api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Flint API")
    expect(page.locator(".opblock-summary-path", has_text="/api/rooms").first).to_be_visible()
    assert elsewhere == []
    page.screenshot(path=screenshot_path(request, "api-docs-offline"), full_page=False)
