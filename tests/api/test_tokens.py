"""editor/accounts/api.py (tokens_router): list, create (secret once), revoke."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from editor.accounts.models import AccessToken
from tests.api.helpers import ApiClient, assert_error

pytestmark = pytest.mark.django_db


def test_create_returns_the_secret_once_and_it_works(cast, api_as):
    response = api_as(cast.carol).post("/api/tokens", {"name": "laptop", "days": 7})
    assert response.status_code == 201
    created = response.json()
    assert created["name"] == "laptop"
    assert created["token"].startswith(created["prefix"])
    assert created["active"] is True
    expires = AccessToken.objects.get(pk=created["id"]).expires_at
    assert timedelta(days=6) < expires - timezone.now() <= timedelta(days=7)
    me = ApiClient(created["token"]).get("/api/me")
    assert me.json()["username"] == "carol"


def test_create_without_days_uses_the_server_default(cast, api_as):
    created = api_as(cast.carol).post("/api/tokens", {"name": "ci"}).json()
    lifetime = AccessToken.objects.get(pk=created["id"]).expires_at - timezone.now()
    assert lifetime.days == settings.FLINT_TOKEN_TTL_DAYS - 1


def test_only_the_hash_is_stored(cast, api_as):
    created = api_as(cast.carol).post("/api/tokens", {"name": "ci"}).json()
    row = AccessToken.objects.get(pk=created["id"])
    assert created["token"] not in {row.token_hash, row.prefix, row.name}


def test_list_shows_my_tokens_without_secrets(cast, api_as):
    client = api_as(cast.carol)
    secret = client.post("/api/tokens", {"name": "laptop"}).json()["token"]
    response = client.get("/api/tokens")
    assert response.status_code == 200
    names = [t["name"] for t in response.json()]
    assert "laptop" in names
    assert secret not in response.content.decode()
    assert client.token not in response.content.decode()
    assert all("token" not in t for t in response.json())


def test_list_shows_only_my_tokens(cast, api_as):
    api_as(cast.mallory).post("/api/tokens", {"name": "mallory's"})
    names = [t["name"] for t in api_as(cast.carol).get("/api/tokens").json()]
    assert "mallory's" not in names


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "  "}, "Give the token a name"),
        ({"name": "x" * 81}, "at most 80"),
        ({"name": "ci", "days": 0}, "days: "),
        ({"name": "ci", "days": 4000}, "days: "),
        ({"name": "ci", "days": True}, "days: "),
        ({"name": "ci\x0fbell"}, "control characters"),
    ],
)
def test_create_refuses_bad_input_and_makes_nothing(cast, api_as, body, message):
    client = api_as(cast.carol)
    before = AccessToken.objects.count()
    error = assert_error(client.post("/api/tokens", body), 400, "invalid")
    assert message in error["message"]
    assert AccessToken.objects.count() == before


def test_revoke_is_204_and_the_token_stops_working(cast, api_as):
    client = api_as(cast.carol)
    created = client.post("/api/tokens", {"name": "old"}).json()
    assert client.delete(f"/api/tokens/{created['id']}").status_code == 204
    listed = {t["id"]: t for t in client.get("/api/tokens").json()}
    assert listed[created["id"]]["active"] is False
    assert listed[created["id"]]["revoked_at"] is not None
    body = assert_error(ApiClient(created["token"]).get("/api/me"), 401, "not_authenticated")
    assert "revoked" in body["message"]


def test_revoking_twice_is_harmless(cast, api_as):
    client = api_as(cast.carol)
    token_id = client.post("/api/tokens", {"name": "old"}).json()["id"]
    assert client.delete(f"/api/tokens/{token_id}").status_code == 204
    assert client.delete(f"/api/tokens/{token_id}").status_code == 204


def test_revoking_the_token_in_use_logs_the_caller_out(cast, api_as):
    client = api_as(cast.carol)
    own = AccessToken.objects.get(user=cast.carol)
    assert client.delete(f"/api/tokens/{own.pk}").status_code == 204
    assert_error(client.get("/api/me"), 401, "not_authenticated")


def test_someone_elses_token_is_404_and_stays_active(cast, api_as):
    victim = api_as(cast.alice)
    alice_token = AccessToken.objects.get(user=cast.alice)
    assert_error(api_as(cast.mallory).delete(f"/api/tokens/{alice_token.pk}"), 404, "not_found")
    assert victim.get("/api/me").status_code == 200


def test_unknown_token_id_is_404(cast, api_as):
    assert_error(api_as(cast.carol).delete("/api/tokens/999999"), 404, "not_found")


def test_tokens_need_auth(cast, anon):
    assert_error(anon.get("/api/tokens"), 401, "not_authenticated")
    assert_error(anon.post("/api/tokens", {"name": "x"}), 401, "not_authenticated")
