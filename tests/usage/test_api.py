"""GET /api/usage: the dashboard's figures as JSON, for the same people as the page."""

from __future__ import annotations

import pytest

from editor.accounts.tokens import token_create
from editor.usage.services import usage_record

pytestmark = pytest.mark.django_db


def _get(client, user, query: str = ""):
    _, token = token_create(user=user, name="usage")
    return client.get(f"/api/usage{query}", HTTP_AUTHORIZATION=f"Bearer {token}")


def _record(cast, room):
    usage_record(user=cast.bob, team_id=room.team_id, room_id=room.pk, tier="fast",
                 model="sim-fast", feature="qa", status="ok", prompt_tokens=100,
                 completion_tokens=20, tokens_estimated=False, duration_ms=50)  # fmt: skip


def test_a_team_owner_sees_their_team_and_only_it(client, cast):
    _record(cast, cast.room)
    _record(cast, cast.other_room)
    assert not cast.mallory.is_staff  # (alice, the first account, is staff)
    answer = _get(client, cast.mallory, "?range=24h")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["team"] == cast.other_team.pk
    assert body["totals"]["requests"] == 1 and body["totals"]["tokens"] == 120
    assert _get(client, cast.mallory, f"?team={cast.team.pk}").status_code == 403


def test_staff_see_every_team(client, cast):
    _record(cast, cast.room)
    _record(cast, cast.other_room)
    assert cast.alice.is_staff
    body = _get(client, cast.alice).json()
    assert body["team"] is None and body["totals"]["requests"] == 2
    assert [row["name"] for row in body["top_users"]] == ["bob"]


def test_members_and_viewers_are_refused(client, cast):
    for user in (cast.bob, cast.carol):
        answer = _get(client, user)
        assert answer.status_code == 403
        assert answer.json()["error"] == "forbidden"
    assert client.get("/api/usage").status_code == 401
    assert _get(client, cast.alice, "?range=1y").status_code == 400
    assert _get(client, cast.alice, f"?team={2**64}").status_code in (400, 404)
