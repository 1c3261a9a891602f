"""editor/rooms/api.py (teams_router): teams and their members.

Outsiders (mallory) get 403 on every /teams/{id}/… path; 404 means the id is unknown.
"""

from __future__ import annotations

import pytest

from editor.rooms.models import RoomMembership, Team, TeamMembership
from tests.api.helpers import assert_error

pytestmark = pytest.mark.django_db


def _roles(team) -> dict[str, str]:
    return {m.user.username: m.role for m in TeamMembership.objects.filter(team=team)}


# --- teams -------------------------------------------------------------------------------


def test_list_shows_my_teams_with_my_role(cast, api_as):
    (team,) = api_as(cast.alice).get("/api/teams").json()
    assert (team["id"], team["name"], team["role"]) == (cast.team.pk, "Acme", "owner")
    assert team["created_at"]
    assert [(t["name"], t["role"]) for t in api_as(cast.bob).get("/api/teams").json()] == [
        ("Acme", "member")
    ]
    assert [t["name"] for t in api_as(cast.mallory).get("/api/teams").json()] == ["Globex"]


def test_create_makes_me_owner(cast, api_as):
    response = api_as(cast.dave).post("/api/teams", {"name": "  Initech  "})
    assert response.status_code == 201
    assert response.json()["name"] == "Initech"
    assert response.json()["role"] == "owner"
    assert _roles(Team.objects.get(name="Initech")) == {"dave": "owner"}


def test_duplicate_team_name_is_409_and_makes_nothing(cast, api_as):
    body = assert_error(api_as(cast.dave).post("/api/teams", {"name": "acme"}), 409, "conflict")
    assert "already exists" in body["message"]
    assert Team.objects.filter(name__iexact="acme").count() == 1
    assert not TeamMembership.objects.filter(user=cast.dave, role="owner").exists()


def test_get_team_as_member(cast, api_as):
    body = api_as(cast.carol).get(f"/api/teams/{cast.team.pk}").json()
    assert (body["name"], body["role"]) == ("Acme", "member")


def test_outsider_gets_403_on_every_team_path(cast, api_as):
    mallory = api_as(cast.mallory)
    team = f"/api/teams/{cast.team.pk}"
    for response in (
        mallory.get(team),
        mallory.patch(team, {"name": "Pwned"}),
        mallory.delete(team),
        mallory.get(f"{team}/members"),
        mallory.post(f"{team}/members", {"username": "mallory"}),
        mallory.patch(f"{team}/members/{cast.bob.pk}", {"role": "owner"}),
        mallory.delete(f"{team}/members/{cast.bob.pk}"),
        mallory.post(f"{team}/invites", {}),
        mallory.get(f"{team}/invites"),
        mallory.delete(f"{team}/invites/1"),
        mallory.post(f"{team}/rooms", {"name": "Backdoor"}),
    ):
        body = assert_error(response, 403, "forbidden")
        assert body["message"] == "You are not a member of this team."
    assert Team.objects.get(pk=cast.team.pk).name == "Acme"
    assert _roles(cast.team) == {
        "alice": "owner", "bob": "member", "carol": "member", "dave": "member"
    }  # fmt: skip
    assert not cast.team.rooms.filter(name="Backdoor").exists()


def test_unknown_team_is_404(cast, api_as):
    alice = api_as(cast.alice)
    assert_error(alice.get("/api/teams/999999"), 404, "not_found")
    assert_error(alice.patch("/api/teams/999999", {"name": "X"}), 404, "not_found")
    assert_error(alice.delete("/api/teams/999999"), 404, "not_found")
    assert_error(alice.get("/api/teams/999999/members"), 404, "not_found")


def test_owner_renames(cast, api_as):
    response = api_as(cast.alice).patch(f"/api/teams/{cast.team.pk}", {"name": "Acme Corp"})
    assert response.status_code == 200
    assert response.json()["name"] == "Acme Corp"
    assert Team.objects.get(pk=cast.team.pk).name == "Acme Corp"


def test_member_cannot_rename_or_delete(cast, api_as):
    bob = api_as(cast.bob)
    body = assert_error(
        bob.patch(f"/api/teams/{cast.team.pk}", {"name": "Bob's"}), 403, "forbidden"
    )
    assert body["message"] == "Only a team owner can do that."
    assert_error(bob.delete(f"/api/teams/{cast.team.pk}"), 403, "forbidden")
    assert Team.objects.get(pk=cast.team.pk).name == "Acme"


def test_rename_to_a_taken_name_is_409(cast, api_as):
    response = api_as(cast.alice).patch(f"/api/teams/{cast.team.pk}", {"name": "GLOBEX"})
    assert_error(response, 409, "conflict")
    assert Team.objects.get(pk=cast.team.pk).name == "Acme"


def test_owner_deletes_the_team_and_its_rooms(cast, api_as):
    response = api_as(cast.alice).delete(f"/api/teams/{cast.team.pk}")
    assert response.status_code == 204
    assert response.content == b""
    assert not Team.objects.filter(pk=cast.team.pk).exists()
    assert not RoomMembership.objects.filter(room_id=cast.room.pk).exists()


# --- members -----------------------------------------------------------------------------


def test_members_are_listed_for_members(cast, api_as):
    members = api_as(cast.dave).get(f"/api/teams/{cast.team.pk}/members").json()
    assert {m["user"]["username"]: m["role"] for m in members} == _roles(cast.team)
    assert set(members[0]["user"]) == {"id", "username", "display_name", "cursor_color"}


def test_owner_adds_a_member_by_username(cast, api_as, make_user):
    make_user("erin")
    response = api_as(cast.alice).post(f"/api/teams/{cast.team.pk}/members", {"username": "Erin"})
    assert response.status_code == 201
    assert response.json()["user"]["username"] == "erin"
    assert response.json()["role"] == "member"
    assert _roles(cast.team)["erin"] == "member"


def test_adding_an_existing_member_is_409(cast, api_as):
    response = api_as(cast.alice).post(f"/api/teams/{cast.team.pk}/members", {"username": "bob"})
    body = assert_error(response, 409, "conflict")
    assert "already a member" in body["message"]


def test_adding_an_unknown_username_is_404(cast, api_as):
    response = api_as(cast.alice).post(f"/api/teams/{cast.team.pk}/members", {"username": "zed"})
    body = assert_error(response, 404, "not_found")
    assert "zed" in body["message"]


def test_member_cannot_add_members(cast, api_as, make_user):
    make_user("erin")
    response = api_as(cast.bob).post(f"/api/teams/{cast.team.pk}/members", {"username": "erin"})
    assert_error(response, 403, "forbidden")
    assert "erin" not in _roles(cast.team)


def test_owner_changes_a_role(cast, api_as):
    path = f"/api/teams/{cast.team.pk}/members/{cast.bob.pk}"
    response = api_as(cast.alice).patch(path, {"role": "owner"})
    assert response.status_code == 200
    assert response.json()["role"] == "owner"
    assert _roles(cast.team)["bob"] == "owner"


def test_member_cannot_change_roles(cast, api_as):
    path = f"/api/teams/{cast.team.pk}/members/{cast.bob.pk}"
    assert_error(api_as(cast.bob).patch(path, {"role": "owner"}), 403, "forbidden")
    assert _roles(cast.team)["bob"] == "member"


def test_last_owner_cannot_step_down(cast, api_as):
    path = f"/api/teams/{cast.team.pk}/members/{cast.alice.pk}"
    body = assert_error(api_as(cast.alice).patch(path, {"role": "member"}), 409, "conflict")
    assert "at least one owner" in body["message"]
    assert _roles(cast.team)["alice"] == "owner"


def test_role_of_a_non_member_is_404(cast, api_as):
    path = f"/api/teams/{cast.team.pk}/members/{cast.mallory.pk}"
    assert_error(api_as(cast.alice).patch(path, {"role": "owner"}), 404, "not_found")
    assert_error(api_as(cast.alice).delete(path), 404, "not_found")
    path = f"/api/teams/{cast.team.pk}/members/999999"
    assert_error(api_as(cast.alice).patch(path, {"role": "owner"}), 404, "not_found")


def test_owner_removes_a_member_and_their_room_access(cast, api_as):
    response = api_as(cast.alice).delete(f"/api/teams/{cast.team.pk}/members/{cast.bob.pk}")
    assert response.status_code == 204
    assert "bob" not in _roles(cast.team)
    assert not RoomMembership.objects.filter(room=cast.room, user=cast.bob).exists()


def test_member_cannot_remove_others(cast, api_as):
    response = api_as(cast.bob).delete(f"/api/teams/{cast.team.pk}/members/{cast.carol.pk}")
    assert_error(response, 403, "forbidden")
    assert "carol" in _roles(cast.team)


def test_removing_myself_is_leaving(cast, api_as):
    response = api_as(cast.carol).delete(f"/api/teams/{cast.team.pk}/members/{cast.carol.pk}")
    assert response.status_code == 204
    assert "carol" not in _roles(cast.team)
    assert not RoomMembership.objects.filter(user=cast.carol).exists()
    assert api_as(cast.carol).get("/api/teams").json() == []


def test_last_owner_cannot_leave(cast, api_as):
    response = api_as(cast.alice).delete(f"/api/teams/{cast.team.pk}/members/{cast.alice.pk}")
    body = assert_error(response, 409, "conflict")
    assert "last owner" in body["message"]
    assert _roles(cast.team)["alice"] == "owner"


def test_teams_need_auth(cast, anon):
    assert_error(anon.get("/api/teams"), 401, "not_authenticated")
    assert_error(anon.post("/api/teams", {"name": "Anon"}), 401, "not_authenticated")
    assert_error(anon.delete(f"/api/teams/{cast.team.pk}"), 401, "not_authenticated")
    assert Team.objects.filter(pk=cast.team.pk).exists()
