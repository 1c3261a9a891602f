"""Teams, invites, rooms, memberships: each refusal is clear and leaves nothing half-made."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from editor.core.errors import Conflict, Forbidden, Gone, Invalid, NotFound
from editor.rooms.models import Room, RoomMembership, RoomRole, Team, TeamInvite, TeamMembership
from editor.rooms.services import (
    room_create,
    room_delete,
    room_member_remove,
    room_member_set,
    room_rename,
    team_create,
    team_delete,
    team_invite_accept,
    team_invite_create,
    team_invite_revoke,
    team_leave,
    team_member_add,
    team_member_remove,
    team_member_set_role,
    team_rename,
)


def test_team_creator_becomes_its_owner(make_user):
    erin = make_user("erin")
    team = team_create(name="  Initech  ", owner=erin)
    assert team.name == "Initech"
    assert TeamMembership.objects.get(team=team, user=erin).role == "owner"


def test_duplicate_team_name_is_refused_whatever_the_case(cast):
    before = Team.objects.count()
    with pytest.raises(Conflict, match="already exists"):
        team_create(name="ACME", owner=cast.bob)
    assert Team.objects.count() == before


@pytest.mark.parametrize("name", ["", "   ", "x" * 81, "tab\tname\x01"])
def test_bad_team_names_are_refused(cast, name):
    with pytest.raises(Invalid):
        team_create(name=name, owner=cast.bob)


def test_only_owners_manage_the_team(cast):
    with pytest.raises(Forbidden):
        team_rename(team=cast.team, actor=cast.bob, name="Bob's")
    with pytest.raises(Forbidden):
        team_member_add(team=cast.team, actor=cast.bob, username="mallory")
    with pytest.raises(Forbidden):
        team_delete(team=cast.team, actor=cast.mallory)
    cast.team.refresh_from_db()
    assert cast.team.name == "Acme"


def test_adding_an_unknown_or_existing_member(cast):
    with pytest.raises(NotFound, match="no user called 'nobody'"):
        team_member_add(team=cast.team, actor=cast.alice, username="nobody")
    with pytest.raises(Conflict, match="already a member"):
        team_member_add(team=cast.team, actor=cast.alice, username="BOB")


def test_last_owner_cannot_leave_or_be_demoted(cast):
    with pytest.raises(Conflict, match="last owner"):
        team_leave(team=cast.team, user=cast.alice)
    with pytest.raises(Conflict, match="at least one owner"):
        team_member_set_role(team=cast.team, actor=cast.alice, user=cast.alice, role="member")
    team_member_set_role(team=cast.team, actor=cast.alice, user=cast.bob, role="owner")
    team_leave(team=cast.team, user=cast.alice)
    assert not TeamMembership.objects.filter(team=cast.team, user=cast.alice).exists()


def test_removing_a_member_removes_their_room_memberships(cast):
    team_member_remove(team=cast.team, actor=cast.alice, user=cast.bob)
    assert not RoomMembership.objects.filter(user=cast.bob, room__team=cast.team).exists()
    with pytest.raises(NotFound):
        team_member_remove(team=cast.team, actor=cast.alice, user=cast.bob)


def test_removing_yourself_is_leaving(cast):
    team_member_remove(team=cast.team, actor=cast.carol, user=cast.carol)
    assert not TeamMembership.objects.filter(team=cast.team, user=cast.carol).exists()


def test_invite_link_lets_someone_join_once(cast, make_user):
    erin = make_user("erin")
    invite, secret = team_invite_create(team=cast.team, actor=cast.alice)
    assert secret not in invite.token_hash
    assert team_invite_accept(raw_token=secret, user=erin) == cast.team
    assert TeamMembership.objects.get(team=cast.team, user=erin).role == "member"
    with pytest.raises(Conflict, match="already a member"):
        team_invite_accept(raw_token=secret, user=erin)


@pytest.mark.parametrize(
    ("spoil", "error", "message"),
    [
        ("expire", Gone, "expired"),
        ("revoke", Gone, "revoked"),
        ("use_up", Gone, "used up"),
        ("garble", NotFound, "not valid"),
    ],
)
def test_unusable_invites_say_why(cast, make_user, spoil, error, message):
    erin = make_user("erin")
    invite, secret = team_invite_create(team=cast.team, actor=cast.alice, max_uses=1)
    if spoil == "expire":
        TeamInvite.objects.filter(pk=invite.pk).update(expires_at=timezone.now() - timedelta(1))
    elif spoil == "revoke":
        team_invite_revoke(invite=invite, actor=cast.alice)
    elif spoil == "use_up":
        team_invite_accept(raw_token=secret, user=make_user("frank"))
    elif spoil == "garble":
        secret = secret[::-1]
    with pytest.raises(error, match=message):
        team_invite_accept(raw_token=secret, user=erin)
    assert not TeamMembership.objects.filter(team=cast.team, user=erin).exists()


def test_members_cannot_make_invites(cast):
    with pytest.raises(Forbidden):
        team_invite_create(team=cast.team, actor=cast.bob)
    assert not TeamInvite.objects.exists()


def test_room_creator_becomes_editor_and_names_are_unique_per_team(cast):
    room = room_create(team=cast.team, actor=cast.dave, name="Parser")
    assert RoomMembership.objects.get(room=room, user=cast.dave).role == RoomRole.EDITOR
    with pytest.raises(Conflict, match="already has a room"):
        room_create(team=cast.team, actor=cast.bob, name="compiler")
    # The same name in another team is fine.
    room_create(team=cast.other_team, actor=cast.mallory, name="Compiler")


def test_outsiders_cannot_create_rooms(cast):
    with pytest.raises(Forbidden):
        room_create(team=cast.team, actor=cast.mallory, name="Trojan")
    assert not Room.objects.filter(name="Trojan").exists()


def test_room_members_must_be_in_the_team(cast):
    with pytest.raises(Forbidden, match="add them to the team first"):
        room_member_set(room=cast.room, actor=cast.alice, user=cast.mallory, role="editor")
    with pytest.raises(Invalid):
        room_member_set(room=cast.room, actor=cast.alice, user=cast.dave, role="god")


def test_only_team_owners_manage_rooms(cast):
    for actor in (cast.bob, cast.carol, cast.mallory):
        with pytest.raises(Forbidden):
            room_rename(room=cast.room, actor=actor, name="Mine")
        with pytest.raises(Forbidden):
            room_delete(room=cast.room, actor=actor)
        with pytest.raises(Forbidden):
            room_member_remove(room=cast.room, actor=actor, user=cast.bob)
    room_rename(room=cast.room, actor=cast.alice, name="Compiler 2")
    room_member_remove(room=cast.room, actor=cast.alice, user=cast.bob)
    with pytest.raises(NotFound):
        room_member_remove(room=cast.room, actor=cast.alice, user=cast.bob)
    room_delete(room=cast.room, actor=cast.alice)
    assert not Room.objects.filter(pk=cast.room.pk).exists()


@pytest.mark.parametrize(("ttl_hours", "max_uses"), [(0, 0), (24 * 31, 0), (1, -1), (1, 10**7)])
def test_invite_bounds_are_checked(cast, ttl_hours, max_uses):
    with pytest.raises(Invalid):
        team_invite_create(team=cast.team, actor=cast.alice, ttl_hours=ttl_hours, max_uses=max_uses)
    assert not TeamInvite.objects.exists()
