"""The authorization matrix: every action, every actor, one expected answer each."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from editor.core.errors import Forbidden, NotAuthenticated
from editor.rooms.models import RoomRole
from editor.rooms.permissions import Action, EffectiveRoomRole, can, require, room_role, team_role
from editor.rooms.services import room_member_set, team_member_remove, team_member_set_role

A = Action
# actor -> the set of actions allowed on cast.team (team actions) / cast.room (room actions)
TEAM_MEMBER = {A.TEAM_VIEW, A.TEAM_LEAVE, A.ROOM_CREATE}
MATRIX = {
    "alice": TEAM_MEMBER | {A.TEAM_MANAGE, A.ROOM_VIEW, A.ROOM_EDIT, A.ROOM_MANAGE},
    "bob": TEAM_MEMBER | {A.ROOM_VIEW, A.ROOM_EDIT},
    "carol": TEAM_MEMBER | {A.ROOM_VIEW},
    "dave": TEAM_MEMBER,
    "mallory": set(),
    "anonymous": set(),
}
TEAM_ACTIONS = [A.TEAM_VIEW, A.TEAM_MANAGE, A.TEAM_LEAVE, A.ROOM_CREATE]
ROOM_ACTIONS = [A.ROOM_VIEW, A.ROOM_EDIT, A.ROOM_MANAGE]


def _actor(cast, name):
    return AnonymousUser() if name == "anonymous" else getattr(cast, name)


@pytest.mark.parametrize("name", list(MATRIX))
@pytest.mark.parametrize("action", TEAM_ACTIONS + ROOM_ACTIONS)
def test_authorization_matrix(cast, name, action):
    target = cast.team if action in TEAM_ACTIONS else cast.room
    expected = action in MATRIX[name]
    assert can(_actor(cast, name), action, target) is expected


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("alice", EffectiveRoomRole.ADMIN),
        ("bob", EffectiveRoomRole.EDITOR),
        ("carol", EffectiveRoomRole.VIEWER),
        ("dave", None),
        ("mallory", None),
    ],
)
def test_effective_room_roles(cast, name, role):
    assert room_role(getattr(cast, name), cast.room) == role


def test_mallory_owns_only_her_own_team(cast):
    assert team_role(cast.mallory, cast.other_team) == "owner"
    assert can(cast.mallory, A.ROOM_MANAGE, cast.other_room)
    assert not can(cast.alice, A.ROOM_VIEW, cast.other_room)


def test_room_row_left_behind_gives_no_access_outside_the_team(cast):
    """A room membership for someone outside the team (stale data) must not open the room."""
    from editor.rooms.models import RoomMembership

    RoomMembership.objects.create(room=cast.room, user=cast.mallory, role=RoomRole.EDITOR)
    assert room_role(cast.mallory, cast.room) is None
    assert not can(cast.mallory, A.ROOM_VIEW, cast.room)


def test_inactive_users_can_do_nothing(cast):
    cast.bob.is_active = False
    cast.bob.save()
    assert not can(cast.bob, A.ROOM_VIEW, cast.room)
    assert not can(cast.bob, A.TEAM_VIEW, cast.team)


def test_promotion_and_removal_change_answers(cast):
    team_member_set_role(team=cast.team, actor=cast.alice, user=cast.bob, role="owner")
    assert can(cast.bob, A.ROOM_MANAGE, cast.room)
    room_member_set(room=cast.room, actor=cast.alice, user=cast.dave, role=RoomRole.VIEWER)
    assert can(cast.dave, A.ROOM_VIEW, cast.room)
    assert not can(cast.dave, A.ROOM_EDIT, cast.room)
    team_member_remove(team=cast.team, actor=cast.alice, user=cast.carol)
    assert not can(cast.carol, A.ROOM_VIEW, cast.room)
    assert not can(cast.carol, A.TEAM_VIEW, cast.team)


def test_require_says_what_to_do(cast):
    with pytest.raises(NotAuthenticated):
        require(AnonymousUser(), A.ROOM_VIEW, cast.room)
    with pytest.raises(Forbidden, match="ask a team owner to make you an editor"):
        require(cast.carol, A.ROOM_EDIT, cast.room)
    with pytest.raises(Forbidden, match="not a member of this room"):
        require(cast.mallory, A.ROOM_VIEW, cast.room)


def test_wrong_object_type_is_a_programming_error(cast):
    with pytest.raises(TypeError):
        can(cast.alice, A.ROOM_VIEW, cast.team)


def test_usage_scope_staff_see_all_owners_their_teams_others_nothing(cast):
    from editor.rooms.permissions import usage_team_scope

    staff = cast.alice
    staff.is_staff = True
    assert usage_team_scope(staff) is None
    staff.is_staff = False
    assert usage_team_scope(cast.alice) == (cast.team.pk,)
    assert usage_team_scope(cast.mallory) == (cast.other_team.pk,)
    assert usage_team_scope(cast.bob) == ()
    assert usage_team_scope(AnonymousUser()) == ()
