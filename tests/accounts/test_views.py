"""The account pages: sign up, log in and out, profile, personal access tokens."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from editor.accounts.models import AccessToken
from editor.accounts.tokens import token_authenticate, token_create
from editor.core.errors import NotAuthenticated

PASSWORD = "correct horse battery staple"
User = get_user_model()


def page(response) -> str:
    return response.content.decode()


def signup(client: Client, **overrides):
    data = {
        "username": "erin",
        "display_name": "Erin Example",
        "password1": PASSWORD,
        "password2": PASSWORD,
    }
    data.update(overrides)
    return client.post(reverse("signup"), data)


# --- home ----------------------------------------------------------------------------------


def test_home_sends_visitors_to_login(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response.url == reverse("login")


def test_home_sends_members_to_their_rooms(client, cast):
    client.force_login(cast.bob)
    response = client.get("/")
    assert response.url == reverse("rooms:list")


# --- sign up -------------------------------------------------------------------------------


def test_signup_creates_the_account_logs_in_and_opens_the_rooms(client, db):
    response = signup(client)
    assert response.status_code == 302
    assert response.url == reverse("rooms:list")
    user = User.objects.get(username="erin")
    assert user.profile.display_name == "Erin Example"
    assert client.get(reverse("profile")).status_code == 200  # the session is logged in


def test_signup_returns_to_a_local_next_page(client, db):
    response = signup(client, next="/invite/abc/")
    assert response.url == "/invite/abc/"


def test_signup_ignores_a_next_page_on_another_site(client, db):
    response = signup(client, next="https://evil.example/phish")
    assert response.url == reverse("rooms:list")


def test_signup_with_two_different_passwords_makes_nothing(client, db):
    response = signup(client, password2="correct horse battery stapler")
    assert response.status_code == 200
    assert "The two passwords differ" in page(response)
    assert not User.objects.filter(username="erin").exists()


def test_signup_with_a_taken_username_says_so(client, cast):
    response = signup(client, username="Alice")
    assert "is taken" in page(response)
    assert User.objects.filter(username__iexact="alice").count() == 1


def test_signup_with_a_weak_password_says_why(client, db):
    response = signup(client, password1="12345678", password2="12345678")
    assert "too common" in page(response) or "entirely numeric" in page(response)
    assert not User.objects.filter(username="erin").exists()


def test_signup_form_is_protected_by_csrf(db):
    client = Client(enforce_csrf_checks=True)
    response = signup(client)
    assert response.status_code == 403
    assert not User.objects.filter(username="erin").exists()


# --- log in and out --------------------------------------------------------------------------


def test_login_page_renders_with_a_form(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert 'name="password"' in page(response)


def test_login_with_a_wrong_password_says_so(client, cast):
    response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    assert response.status_code == 200
    assert "That username and password do not match" in page(response)
    assert "_auth_user_id" not in client.session


def test_login_with_the_right_password_opens_the_rooms(client, cast):
    response = client.post(reverse("login"), {"username": "alice", "password": cast.password})
    assert response.status_code == 302
    assert response.url == reverse("rooms:list")


def test_logout_needs_a_post(client, cast):
    client.force_login(cast.alice)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.url == reverse("login")
    assert client.get(reverse("profile")).status_code == 302


# --- profile ---------------------------------------------------------------------------------


def test_profile_needs_login(client, db):
    response = client.get(reverse("profile"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_profile_saves_display_name_and_cursor_colour(client, cast):
    client.force_login(cast.alice)
    response = client.post(
        reverse("profile"), {"display_name": "Alice A.", "cursor_color": "#123ABC"}, follow=True
    )
    assert "Profile saved." in page(response)
    cast.alice.profile.refresh_from_db()
    assert cast.alice.profile.display_name == "Alice A."
    assert cast.alice.profile.cursor_color == "#123abc"


def test_profile_refuses_a_bad_colour_and_keeps_the_old_one(client, cast):
    client.force_login(cast.alice)
    before = cast.alice.profile.cursor_color
    response = client.post(reverse("profile"), {"display_name": "X", "cursor_color": "red"})
    assert response.status_code == 400
    assert "Use a colour like" in page(response)
    cast.alice.profile.refresh_from_db()
    assert cast.alice.profile.cursor_color == before
    assert cast.alice.profile.display_name == "Alice"


# --- tokens ----------------------------------------------------------------------------------


def test_a_new_token_is_shown_once_and_works(client, cast):
    client.force_login(cast.bob)
    response = client.post(reverse("token-create"), {"name": "laptop CLI", "expires_in_days": 30})
    assert response.status_code == 200
    token = AccessToken.objects.get(user=cast.bob)
    body = page(response)
    start = body.index('id="new-token-value">') + len('id="new-token-value">')
    raw = body[start : body.index("<", start)]
    assert raw.startswith(token.prefix)
    assert "shown only once" in body
    assert token_authenticate(raw) == cast.bob
    assert token.expires_at is not None
    # The next visit lists the token but can no longer show its secret.
    listing = page(client.get(reverse("profile")))
    assert "laptop CLI" in listing and token.prefix in listing
    assert raw not in listing


def test_a_token_without_expiry_days_never_expires(client, cast):
    client.force_login(cast.bob)
    client.post(reverse("token-create"), {"name": "ci", "expires_in_days": ""})
    assert AccessToken.objects.get(user=cast.bob).expires_at is None


@pytest.mark.parametrize(
    ("data", "message"),
    [({"name": "", "expires_in_days": ""}, "This field is required"),
     ({"name": "x", "expires_in_days": "0"}, "greater than or equal to 1")],
)  # fmt: skip
def test_a_bad_token_request_makes_no_token(client, cast, data, message):
    client.force_login(cast.bob)
    response = client.post(reverse("token-create"), data)
    assert response.status_code == 400
    assert message in page(response)
    assert not AccessToken.objects.filter(user=cast.bob).exists()


def test_revoking_a_token_stops_it_working(client, cast):
    token, raw = token_create(user=cast.bob, name="old")
    client.force_login(cast.bob)
    response = client.post(reverse("token-revoke", args=[token.pk]), follow=True)
    assert "revoked" in page(response)
    with pytest.raises(NotAuthenticated):
        token_authenticate(raw)


def test_nobody_can_revoke_someone_elses_token(client, cast):
    token, raw = token_create(user=cast.bob, name="bob's")
    client.force_login(cast.mallory)
    response = client.post(reverse("token-revoke", args=[token.pk]))
    assert response.status_code == 404
    assert token_authenticate(raw) == cast.bob
