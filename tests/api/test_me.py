"""editor/accounts/api.py (me_router): who am I, and my profile."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from editor.accounts.models import Profile
from tests.api.helpers import ApiClient, assert_error

pytestmark = pytest.mark.django_db


def test_me_describes_the_caller(cast, api_as):
    body = api_as(cast.alice).get("/api/me").json()
    assert body["id"] == cast.alice.pk
    assert body["username"] == "alice"
    assert body["display_name"] == "Alice"
    assert body["cursor_color"].startswith("#")
    assert body["is_staff"] is True  # the first account on a fresh install
    assert "password" not in body


def test_me_works_for_an_account_without_a_profile(db, token_for):
    user = get_user_model().objects.create_user(username="root", password="x" * 12)
    body = ApiClient(token_for(user)).get("/api/me").json()
    assert body["display_name"] == "root"
    assert not Profile.objects.filter(user=user).exists()  # reading wrote nothing


def test_patch_me_changes_name_and_colour(cast, api_as):
    client = api_as(cast.bob)
    response = client.patch("/api/me", {"display_name": "Bobby", "cursor_color": "#ABCDEF"})
    assert response.status_code == 200
    assert response.json()["display_name"] == "Bobby"
    assert response.json()["cursor_color"] == "#abcdef"
    profile = Profile.objects.get(user=cast.bob)
    assert (profile.display_name, profile.cursor_color) == ("Bobby", "#abcdef")


def test_patch_me_leaves_omitted_fields_alone(cast, api_as):
    before = Profile.objects.get(user=cast.bob).cursor_color
    api_as(cast.bob).patch("/api/me", {"display_name": "Robert"})
    assert Profile.objects.get(user=cast.bob).cursor_color == before


@pytest.mark.parametrize(
    "change",
    [{"cursor_color": "red"}, {"cursor_color": "#12345"}, {"display_name": "x" * 81}],
)
def test_patch_me_refuses_bad_values_and_changes_nothing(cast, api_as, change):
    before = Profile.objects.get(user=cast.bob)
    body = assert_error(
        api_as(cast.bob).patch("/api/me", {"display_name": "New", **change}), 400, "invalid"
    )
    assert body["message"]
    after = Profile.objects.get(user=cast.bob)
    assert (after.display_name, after.cursor_color) == (before.display_name, before.cursor_color)


def test_patch_me_needs_auth(cast, anon):
    assert_error(anon.patch("/api/me", {"display_name": "Eve"}), 401, "not_authenticated")
