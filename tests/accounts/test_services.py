from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from editor.accounts.services import profile_get, profile_update, user_signup
from editor.core.errors import Conflict, Invalid

PASSWORD = "correct horse battery staple"


def test_first_account_on_a_fresh_install_is_staff(db):
    first = user_signup(username="root", password=PASSWORD)
    second = user_signup(username="other", password=PASSWORD)
    assert first.is_staff and first.is_superuser
    assert not second.is_staff


def test_first_account_is_not_staff_when_turned_off(db, settings):
    settings.FLINT_FIRST_USER_IS_STAFF = False
    assert not user_signup(username="root", password=PASSWORD).is_staff


def test_usernames_are_unique_whatever_the_case(db):
    user_signup(username="alice", password=PASSWORD)
    with pytest.raises(Conflict, match="taken"):
        user_signup(username="Alice", password=PASSWORD)
    assert get_user_model().objects.count() == 1


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("", PASSWORD, "Choose a username"),
        ("bad name!", PASSWORD, "valid username"),
        ("erin", "123", "too short"),
        ("erin", "password", "too common"),
    ],
)
def test_bad_signups_create_nothing(db, username, password, message):
    with pytest.raises(Invalid, match=message):
        user_signup(username=username, password=password)
    assert not get_user_model().objects.exists()


def test_profile_gets_a_colour_and_can_change(db):
    user = user_signup(username="erin", password=PASSWORD, display_name=" Erin ")
    profile = profile_get(user=user)
    assert profile.display_name == "Erin"
    assert profile.cursor_color.startswith("#")
    profile_update(user=user, display_name="Erin M.", cursor_color="#ABCDEF")
    profile.refresh_from_db()
    assert (profile.display_name, profile.cursor_color) == ("Erin M.", "#abcdef")
    with pytest.raises(Invalid):
        profile_update(user=user, cursor_color="red")


def test_profile_is_made_for_accounts_created_elsewhere(db):
    user = get_user_model().objects.create_user("admin2", password=PASSWORD)
    assert profile_get(user=user).name == "admin2"
