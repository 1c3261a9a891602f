"""editor/api/auth.py: bearer tokens, sessions with CSRF, and the 401s in between."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from editor.accounts.models import AccessToken
from editor.accounts.tokens import token_create, token_revoke
from tests.api.helpers import ApiClient, assert_error

pytestmark = pytest.mark.django_db


def test_bearer_token_authenticates_its_owner(cast, api_as):
    response = api_as(cast.bob).get("/api/me")
    assert response.status_code == 200
    assert response.json()["username"] == "bob"


def test_token_answers_set_no_cookies(cast, api_as):
    assert not api_as(cast.bob).get("/api/me").cookies


def test_token_use_is_recorded(cast, token_for):
    raw = token_for(cast.bob)
    ApiClient(raw).get("/api/me")
    assert AccessToken.objects.get(user=cast.bob).last_used_at is not None


def test_no_credentials_is_401_with_the_error_shape(cast, anon):
    body = assert_error(anon.get("/api/me"), 401, "not_authenticated")
    assert "Bearer" in body["message"]


def test_anonymous_write_is_401_not_a_csrf_403(cast, anon):
    assert_error(anon.post("/api/teams", {"name": "Initech"}), 401, "not_authenticated")


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("Bearer flint_not-a-real-token", "Unknown access token."),
        ("Bearer ghp_somebody-elses-token", "That is not a Flint access token."),
        ("Bearer ", "That is not a Flint access token."),
        ("Token flint_abc", "Authorization: Bearer <token>"),
        ("Basic YWxpY2U6cGFzcw==", "Authorization: Bearer <token>"),
    ],
)
def test_bad_token_is_401_with_its_reason(cast, header, reason):
    client = ApiClient(client=Client(headers={"Authorization": header}))
    body = assert_error(client.get("/api/me"), 401, "not_authenticated")
    assert reason in body["message"]


def test_revoked_token_is_401_saying_so(cast):
    token, raw = token_create(user=cast.alice, name="ci")
    token_revoke(token=token, actor=cast.alice)
    body = assert_error(ApiClient(raw).get("/api/me"), 401, "not_authenticated")
    assert body["message"] == "This access token was revoked."


def test_expired_token_is_401_saying_so(cast):
    token, raw = token_create(user=cast.alice, name="ci", ttl_days=1)
    AccessToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(1))
    body = assert_error(ApiClient(raw).get("/api/me"), 401, "not_authenticated")
    assert body["message"] == "This access token has expired."


def test_token_of_a_disabled_account_is_401(cast, token_for):
    raw = token_for(cast.bob)
    cast.bob.is_active = False
    cast.bob.save()
    body = assert_error(ApiClient(raw).get("/api/me"), 401, "not_authenticated")
    assert "disabled" in body["message"]


def test_bad_token_does_not_fall_back_to_the_session(cast):
    # A script with a stale token must not quietly act as whoever is logged in.
    client = Client(headers={"Authorization": "Bearer flint_stale"})
    client.force_login(cast.alice)
    assert_error(ApiClient(client=client).get("/api/me"), 401, "not_authenticated")


def test_session_reads_work_without_csrf(cast):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.carol)
    response = client.get("/api/me")
    assert response.status_code == 200
    assert response.json()["username"] == "carol"
    assert "csrftoken" in response.cookies  # so a page's fetch() can write next


def test_session_write_without_csrf_token_is_refused_and_changes_nothing(cast):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.alice)
    api = ApiClient(client=client)
    body = assert_error(api.post("/api/teams", {"name": "Initech"}), 403, "csrf_failed")
    assert "X-CSRFToken" in body["message"]
    from editor.rooms.models import Team

    assert not Team.objects.filter(name="Initech").exists()
    assert_error(api.delete(f"/api/rooms/{cast.room.pk}"), 403, "csrf_failed")
    assert type(cast.room).objects.filter(pk=cast.room.pk).exists()


def test_session_write_with_csrf_token_succeeds(cast):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.alice)
    csrf = client.get("/api/me").cookies["csrftoken"].value
    response = ApiClient(client=client).post(
        "/api/teams", {"name": "Initech"}, headers={"X-CSRFToken": csrf}
    )
    assert response.status_code == 201, response.content
    assert response.json()["name"] == "Initech"


def test_token_writes_need_no_csrf_token(cast, token_for):
    client = Client(
        enforce_csrf_checks=True, headers={"Authorization": f"Bearer {token_for(cast.alice)}"}
    )
    response = ApiClient(client=client).post("/api/teams", {"name": "Initech"})
    assert response.status_code == 201, response.content
