"""editor/rooms/api.py (invites_router): invite links, made by owners, accepted by anyone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from editor.rooms.models import TeamInvite, TeamMembership
from tests.api.helpers import assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def erin(make_user):
    return make_user("erin")


def _invite(client, team, **body):
    response = client.post(f"/api/teams/{team.pk}/invites", body)
    assert response.status_code == 201, response.content
    return response.json()


def _members(team) -> set[str]:
    return set(TeamMembership.objects.filter(team=team).values_list("user__username", flat=True))


def test_owner_makes_an_invite_with_a_link_shown_once(cast, api_as):
    created = _invite(api_as(cast.alice), cast.team, max_uses=3)
    assert created["token"] in created["link"]
    assert created["link"].startswith("http://testserver/")
    assert (created["max_uses"], created["uses"], created["created_by"]) == (3, 0, "alice")
    assert created["token"] not in TeamInvite.objects.get(pk=created["id"]).token_hash


def test_invite_list_never_shows_secrets(cast, api_as):
    alice = api_as(cast.alice)
    created = _invite(alice, cast.team)
    response = alice.get(f"/api/teams/{cast.team.pk}/invites")
    assert response.status_code == 200
    assert [i["id"] for i in response.json()] == [created["id"]]
    assert created["token"] not in response.content.decode()
    assert all("token" not in i and "link" not in i for i in response.json())


def test_members_cannot_make_list_or_revoke_invites(cast, api_as):
    invite = _invite(api_as(cast.alice), cast.team)
    bob = api_as(cast.bob)
    base = f"/api/teams/{cast.team.pk}/invites"
    assert_error(bob.post(base, {}), 403, "forbidden")
    assert_error(bob.get(base), 403, "forbidden")
    assert_error(bob.delete(f"{base}/{invite['id']}"), 403, "forbidden")
    assert TeamInvite.objects.filter(team=cast.team).count() == 1
    assert TeamInvite.objects.get(pk=invite["id"]).revoked_at is None


@pytest.mark.parametrize(
    "body",
    [
        {"ttl_hours": 0},
        {"ttl_hours": 24 * 31},
        {"max_uses": -1},
        {"max_uses": True},  # not 1
        {"max_uses": 2**40},  # beyond what PostgreSQL stores (found by schemathesis)
    ],
)
def test_bad_invite_settings_are_400_and_make_nothing(cast, api_as, body):
    response = api_as(cast.alice).post(f"/api/teams/{cast.team.pk}/invites", body)
    assert_error(response, 400, "invalid")
    assert not TeamInvite.objects.exists()


def test_whole_floats_count_as_integers(cast, api_as):
    # JSON Schema says 2.0 is an integer, so the API accepts it too.
    assert _invite(api_as(cast.alice), cast.team, ttl_hours=2.0, max_uses=3.0)["max_uses"] == 3


def test_accepting_joins_the_team_as_member(cast, api_as, erin):
    invite = _invite(api_as(cast.alice), cast.team)
    response = api_as(erin).post(f"/api/invites/{invite['token']}/accept")
    assert response.status_code == 201
    assert (response.json()["name"], response.json()["role"]) == ("Acme", "member")
    assert "erin" in _members(cast.team)
    assert TeamInvite.objects.get(pk=invite["id"]).uses == 1


def test_accepting_when_already_a_member_is_409(cast, api_as):
    invite = _invite(api_as(cast.alice), cast.team)
    body = assert_error(
        api_as(cast.bob).post(f"/api/invites/{invite['token']}/accept"), 409, "conflict"
    )
    assert "already a member" in body["message"]
    assert TeamInvite.objects.get(pk=invite["id"]).uses == 0


def test_unknown_invite_is_404(cast, api_as, erin):
    response = api_as(erin).post("/api/invites/not-a-real-secret/accept")
    body = assert_error(response, 404, "not_found")
    assert "not valid" in body["message"]
    assert "erin" not in _members(cast.team)


def test_revoked_invite_is_410(cast, api_as, erin):
    alice = api_as(cast.alice)
    invite = _invite(alice, cast.team)
    revoke = alice.delete(f"/api/teams/{cast.team.pk}/invites/{invite['id']}")
    assert revoke.status_code == 204
    assert alice.get(f"/api/teams/{cast.team.pk}/invites").json() == []
    body = assert_error(api_as(erin).post(f"/api/invites/{invite['token']}/accept"), 410, "gone")
    assert "revoked" in body["message"]
    assert "erin" not in _members(cast.team)


def test_expired_invite_is_410(cast, api_as, erin):
    invite = _invite(api_as(cast.alice), cast.team)
    TeamInvite.objects.filter(pk=invite["id"]).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    body = assert_error(api_as(erin).post(f"/api/invites/{invite['token']}/accept"), 410, "gone")
    assert "expired" in body["message"]
    assert "erin" not in _members(cast.team)


def test_used_up_invite_is_410(cast, api_as, erin, make_user):
    invite = _invite(api_as(cast.alice), cast.team, max_uses=1)
    assert api_as(erin).post(f"/api/invites/{invite['token']}/accept").status_code == 201
    frank = make_user("frank")
    body = assert_error(api_as(frank).post(f"/api/invites/{invite['token']}/accept"), 410, "gone")
    assert "used up" in body["message"]
    assert "frank" not in _members(cast.team)
    assert TeamInvite.objects.get(pk=invite["id"]).uses == 1


def test_invite_of_another_team_is_404_when_revoking(cast, api_as):
    globex_invite = _invite(api_as(cast.mallory), cast.other_team)
    response = api_as(cast.alice).delete(f"/api/teams/{cast.team.pk}/invites/{globex_invite['id']}")
    assert_error(response, 404, "not_found")
    assert TeamInvite.objects.get(pk=globex_invite["id"]).revoked_at is None


def test_accepting_needs_auth(cast, api_as, anon):
    invite = _invite(api_as(cast.alice), cast.team)
    assert_error(anon.post(f"/api/invites/{invite['token']}/accept"), 401, "not_authenticated")
    assert TeamInvite.objects.get(pk=invite["id"]).uses == 0
