"""Chromium, through the real daphne: sign up, make a team and a room, see each other live.

Two browser contexts are two people: ada signs up and opens a room; grace joins through
an invite link, is added to the room, and appears in ada's presence list without a
reload; when ada removes her, grace's page says so.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.support.browser import screenshot_path

PASSWORD = "correct horse battery staple"
pytestmark = [pytest.mark.live, pytest.mark.browser]


def sign_up(page, username: str, display_name: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Display name").fill(display_name)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()


def test_sign_up_create_a_room_and_see_each_other_live(
    live_flint, transactional_db, allow_sync_orm, request, browser
):
    ada = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    ada.goto(live_flint.url)
    expect(ada).to_have_url(re.compile(r"/accounts/login/"))
    ada.get_by_role("link", name="Create an account").click()
    sign_up(ada, "ada", "Ada Lovelace")
    expect(ada.get_by_text("You are not in a team yet")).to_be_visible()

    ada.get_by_role("link", name="Create a team").click()
    ada.get_by_label("Team name").fill("Analytical")
    ada.get_by_role("button", name="Create team").click()
    expect(ada.get_by_role("heading", name=re.compile("Analytical"))).to_be_visible()

    ada.get_by_label("Room name").fill("Engine")
    ada.get_by_role("button", name="Create room").click()
    expect(ada).to_have_url(re.compile(r"/rooms/\d+/$"))
    room_url = ada.url
    presence = ada.locator("[data-presence] li")
    expect(presence).to_have_count(1)
    expect(presence.first).to_contain_text("Ada Lovelace")
    expect(ada.locator("[data-conn]")).to_have_attribute("data-state", "live")
    ada.screenshot(path=screenshot_path(request, "1-room-alone"))

    # An invite link, opened by someone without an account.
    settings = ada.context.new_page()
    settings.goto(live_flint.url + "teams/")
    settings.get_by_role("link", name="Analytical").click()
    settings.get_by_role("button", name="Create invite link").click()
    link = settings.locator("#invite-link").inner_text()

    grace = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    grace.goto(link)
    grace.get_by_role("link", name="Sign up to accept").click()
    sign_up(grace, "grace", "Grace Hopper")
    expect(grace).to_have_url(link)
    grace.get_by_role("button", name="Accept and join Analytical").click()
    expect(grace.get_by_text("You joined Analytical.")).to_be_visible()

    # ada adds grace to the room; grace opens it and shows up in ada's list live.
    settings.goto(room_url + "settings/")
    settings.get_by_label("Team member").select_option(label="grace")
    settings.get_by_role("button", name="Add", exact=True).click()
    expect(settings.get_by_text("grace is now editor in Engine.")).to_be_visible()

    grace.goto(room_url)
    expect(grace.locator("[data-presence] li")).to_have_count(2)
    expect(presence).to_have_count(2)
    expect(ada.locator("[data-presence] li[data-user='grace']")).to_contain_text("Grace Hopper")
    ada.screenshot(path=screenshot_path(request, "2-room-together"))

    # Removing grace closes her socket with a reason she can read.
    settings.goto(room_url + "settings/")
    settings.once("dialog", lambda dialog: dialog.accept())
    settings.locator("tr[data-member='grace']").get_by_role("button", name="Remove").click()
    expect(grace.locator("[data-banner]")).to_contain_text("You were removed from this room")
    expect(grace.locator("[data-conn]")).to_have_attribute("data-state", "closed")
    expect(presence).to_have_count(1)
    grace.screenshot(path=screenshot_path(request, "3-removed"))
