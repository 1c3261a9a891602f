"""editor/rooms/api.py (rooms_router): rooms and room members.

Outsiders (mallory, and dave who is in the team but not the room) get 403 on every
/rooms/{id}/… path; 404 means the id is unknown.
"""

from __future__ import annotations

import pytest

from editor.rooms.models import Room, RoomMembership
from tests.api.helpers import assert_error

pytestmark = pytest.mark.django_db


def _room_roles(room) -> dict[str, str]:
    return {m.user.username: m.role for m in RoomMembership.objects.filter(room=room)}


def test_my_rooms_with_my_role(cast, api_as):
    def rooms(user):
        return [
            (r["name"], r["team"]["name"], r["role"]) for r in api_as(user).get("/api/rooms").json()
        ]

    assert rooms(cast.alice) == [("Compiler", "Acme", "admin")]
    assert rooms(cast.bob) == [("Compiler", "Acme", "editor")]
    assert rooms(cast.carol) == [("Compiler", "Acme", "viewer")]
    assert rooms(cast.dave) == []
    assert rooms(cast.mallory) == [("Secret", "Globex", "admin")]


def test_team_member_creates_a_room_and_edits_it(cast, api_as):
    response = api_as(cast.dave).post(f"/api/teams/{cast.team.pk}/rooms", {"name": "Parser"})
    assert response.status_code == 201
    body = response.json()
    assert (body["name"], body["team"]["id"], body["role"]) == ("Parser", cast.team.pk, "editor")
    assert _room_roles(Room.objects.get(pk=body["id"])) == {"dave": "editor"}


def test_duplicate_room_name_in_a_team_is_409(cast, api_as):
    response = api_as(cast.bob).post(f"/api/teams/{cast.team.pk}/rooms", {"name": "compiler"})
    assert_error(response, 409, "conflict")
    assert cast.team.rooms.count() == 1


def test_same_room_name_in_another_team_is_fine(cast, api_as):
    response = api_as(cast.mallory).post(
        f"/api/teams/{cast.other_team.pk}/rooms", {"name": "Compiler"}
    )
    assert response.status_code == 201


def test_room_name_is_required(cast, api_as):
    response = api_as(cast.bob).post(f"/api/teams/{cast.team.pk}/rooms", {"name": " "})
    assert_error(response, 400, "invalid")
    assert cast.team.rooms.count() == 1


def test_room_in_an_unknown_team_is_404(cast, api_as):
    assert_error(api_as(cast.bob).post("/api/teams/999999/rooms", {"name": "X"}), 404, "not_found")


def test_members_see_the_room(cast, api_as):
    for user, role in ((cast.alice, "admin"), (cast.bob, "editor"), (cast.carol, "viewer")):
        body = api_as(user).get(f"/api/rooms/{cast.room.pk}").json()
        assert (body["name"], body["role"]) == ("Compiler", role)


@pytest.mark.parametrize("who", ["dave", "mallory"])
def test_outsiders_get_403_on_every_room_path(cast, api_as, who):
    client = api_as(getattr(cast, who))
    room = f"/api/rooms/{cast.room.pk}"
    for response in (
        client.get(room),
        client.patch(room, {"name": "Pwned"}),
        client.delete(room),
        client.get(f"{room}/members"),
        client.put(f"{room}/members/{cast.dave.pk}", {"role": "editor"}),
        client.delete(f"{room}/members/{cast.bob.pk}"),
    ):
        body = assert_error(response, 403, "forbidden")
        assert body["message"] == "You are not a member of this room."
    assert Room.objects.get(pk=cast.room.pk).name == "Compiler"
    assert _room_roles(cast.room) == {"alice": "editor", "bob": "editor", "carol": "viewer"}


def test_unknown_room_is_404(cast, api_as):
    alice = api_as(cast.alice)
    for response in (
        alice.get("/api/rooms/999999"),
        alice.patch("/api/rooms/999999", {"name": "X"}),
        alice.delete("/api/rooms/999999"),
        alice.get("/api/rooms/999999/members"),
        alice.put(f"/api/rooms/999999/members/{cast.bob.pk}", {"role": "viewer"}),
    ):
        assert_error(response, 404, "not_found")


def test_owner_renames_the_room(cast, api_as):
    response = api_as(cast.alice).patch(f"/api/rooms/{cast.room.pk}", {"name": "Linker"})
    assert response.status_code == 200
    assert response.json()["name"] == "Linker"
    assert Room.objects.get(pk=cast.room.pk).name == "Linker"


@pytest.mark.parametrize("who", ["bob", "carol"])
def test_editors_and_viewers_cannot_manage_the_room(cast, api_as, who):
    client = api_as(getattr(cast, who))
    room = f"/api/rooms/{cast.room.pk}"
    for response in (
        client.patch(room, {"name": "Mine"}),
        client.delete(room),
        client.put(f"{room}/members/{cast.dave.pk}", {"role": "editor"}),
        client.delete(f"{room}/members/{cast.carol.pk}"),
    ):
        body = assert_error(response, 403, "forbidden")
        assert body["message"] == "Only a team owner can manage this room."
    assert Room.objects.get(pk=cast.room.pk).name == "Compiler"
    assert _room_roles(cast.room) == {"alice": "editor", "bob": "editor", "carol": "viewer"}


def test_rename_to_a_taken_name_is_409(cast, api_as):
    api_as(cast.alice).post(f"/api/teams/{cast.team.pk}/rooms", {"name": "Parser"})
    response = api_as(cast.alice).patch(f"/api/rooms/{cast.room.pk}", {"name": "PARSER"})
    assert_error(response, 409, "conflict")
    assert Room.objects.get(pk=cast.room.pk).name == "Compiler"


def test_owner_deletes_the_room(cast, api_as):
    response = api_as(cast.alice).delete(f"/api/rooms/{cast.room.pk}")
    assert response.status_code == 204
    assert not Room.objects.filter(pk=cast.room.pk).exists()
    assert api_as(cast.bob).get("/api/rooms").json() == []


def test_members_list(cast, api_as):
    members = api_as(cast.carol).get(f"/api/rooms/{cast.room.pk}/members").json()
    assert {m["user"]["username"]: m["role"] for m in members} == _room_roles(cast.room)


def test_owner_adds_a_team_member_with_201(cast, api_as):
    path = f"/api/rooms/{cast.room.pk}/members/{cast.dave.pk}"
    response = api_as(cast.alice).put(path, {"role": "viewer"})
    assert response.status_code == 201
    assert (response.json()["user"]["username"], response.json()["role"]) == ("dave", "viewer")
    assert _room_roles(cast.room)["dave"] == "viewer"
    assert api_as(cast.dave).get(f"/api/rooms/{cast.room.pk}").json()["role"] == "viewer"


def test_owner_changes_a_room_role_with_200(cast, api_as):
    path = f"/api/rooms/{cast.room.pk}/members/{cast.carol.pk}"
    response = api_as(cast.alice).put(path, {"role": "editor"})
    assert response.status_code == 200
    assert _room_roles(cast.room)["carol"] == "editor"


def test_someone_outside_the_team_cannot_be_added(cast, api_as):
    path = f"/api/rooms/{cast.room.pk}/members/{cast.mallory.pk}"
    body = assert_error(api_as(cast.alice).put(path, {"role": "editor"}), 404, "not_found")
    assert "not a member of this team" in body["message"]
    assert "mallory" not in _room_roles(cast.room)


def test_bad_room_role_is_400(cast, api_as):
    path = f"/api/rooms/{cast.room.pk}/members/{cast.dave.pk}"
    assert_error(api_as(cast.alice).put(path, {"role": "admin"}), 400, "invalid")
    assert "dave" not in _room_roles(cast.room)


def test_owner_removes_a_room_member(cast, api_as):
    response = api_as(cast.alice).delete(f"/api/rooms/{cast.room.pk}/members/{cast.carol.pk}")
    assert response.status_code == 204
    assert "carol" not in _room_roles(cast.room)
    assert_error(api_as(cast.carol).get(f"/api/rooms/{cast.room.pk}"), 403, "forbidden")


def test_removing_someone_not_in_the_room_is_404(cast, api_as):
    response = api_as(cast.alice).delete(f"/api/rooms/{cast.room.pk}/members/{cast.dave.pk}")
    assert_error(response, 404, "not_found")


def test_rooms_need_auth(cast, anon):
    assert_error(anon.get("/api/rooms"), 401, "not_authenticated")
    assert_error(anon.get(f"/api/rooms/{cast.room.pk}"), 401, "not_authenticated")
    assert_error(
        anon.post(f"/api/teams/{cast.team.pk}/rooms", {"name": "X"}), 401, "not_authenticated"
    )
    assert cast.team.rooms.count() == 1
