"""Team, invite and room pages: every page, and every refusal, through the test client.

alice owns Acme and so administers Compiler, bob edits it, carol views it, dave is in
Acme but not the room, mallory owns Globex (room Secret) and is outside Acme.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from editor.rooms.models import Room, RoomMembership, Team, TeamInvite, TeamMembership
from editor.rooms.services import team_invite_create


def page(response) -> str:
    return response.content.decode()


@pytest.fixture
def as_user(client):
    def login(user):
        client.force_login(user)
        return client

    return login


# --- room list ---------------------------------------------------------------------------


def test_room_list_groups_rooms_by_team_and_hides_other_teams(as_user, cast):
    body = page(as_user(cast.bob).get(reverse("rooms:list")))
    assert "Acme" in body and "Compiler" in body
    assert "Globex" not in body and "Secret" not in body


def test_room_list_says_honestly_when_there_are_no_rooms(as_user, cast):
    body = page(as_user(cast.dave).get(reverse("rooms:list")))
    assert "No rooms yet" in body


def test_pages_need_login(client, cast):
    for url in (reverse("rooms:list"), reverse("rooms:detail", args=[cast.room.pk])):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


# --- the room page -------------------------------------------------------------------------


def test_room_page_shows_the_editor_their_role(as_user, cast):
    response = as_user(cast.bob).get(reverse("rooms:detail", args=[cast.room.pk]))
    body = page(response)
    assert response.status_code == 200
    assert f'data-ws-path="/ws/rooms/{cast.room.pk}"' in body
    assert 'data-role="editor"' in body
    assert "No files yet" in body
    assert "/settings/" not in body  # only room admins get the settings link
    assert " hidden" in readonly_badge(body)


def test_room_page_marks_a_viewer_read_only(as_user, cast):
    body = page(as_user(cast.carol).get(reverse("rooms:detail", args=[cast.room.pk])))
    assert 'data-role="viewer"' in body
    assert " hidden" not in readonly_badge(body)


def readonly_badge(body: str) -> str:
    start = body.index("data-readonly-badge")
    return body[start : body.index(">", start)]


def test_room_page_gives_the_team_owner_the_settings(as_user, cast):
    body = page(as_user(cast.alice).get(reverse("rooms:detail", args=[cast.room.pk])))
    assert 'data-role="admin"' in body
    assert reverse("rooms:settings", args=[cast.room.pk]) in body


@pytest.mark.parametrize("who", ["dave", "mallory"])
def test_room_page_refuses_non_members_and_says_why(as_user, cast, who):
    response = as_user(getattr(cast, who)).get(reverse("rooms:detail", args=[cast.room.pk]))
    assert response.status_code == 403
    assert "You are not a member of this room." in page(response)


def test_unknown_room_is_a_404(as_user, cast):
    response = as_user(cast.alice).get(reverse("rooms:detail", args=[999999]))
    assert response.status_code == 404
    assert "No such room." in page(response)


# --- room settings -------------------------------------------------------------------------


def test_owner_reaches_room_settings(as_user, cast):
    response = as_user(cast.alice).get(reverse("rooms:settings", args=[cast.room.pk]))
    assert response.status_code == 200
    body = page(response)
    assert 'data-member="bob"' in body and 'data-member="carol"' in body
    assert ">dave<" in body  # dave can be added


def test_a_team_owner_is_admin_on_the_room_page_and_in_its_settings_alike(as_user, cast):
    from editor.rooms.services import room_member_set

    # alice owns the team and also has an editor row in the room.
    room_member_set(room=cast.room, actor=cast.alice, user=cast.alice, role="editor")
    client = as_user(cast.alice)
    header = page(client.get(reverse("rooms:detail", args=[cast.room.pk])))
    settings_page = page(client.get(reverse("rooms:settings", args=[cast.room.pk])))

    assert ">Admin</span>" in header
    row = settings_page[settings_page.index('data-member="alice"') :]
    row = row[: row.index("</tr>")]
    assert ">Admin</span>" in row and "team owner" in row and ">Editor</span>" not in row
    bob_row = settings_page[settings_page.index('data-member="bob"') :]
    assert ">Editor</span>" in bob_row[: bob_row.index("</tr>")]


@pytest.mark.parametrize("who", ["bob", "carol", "dave", "mallory"])
def test_only_owners_reach_room_settings(as_user, cast, who):
    response = as_user(getattr(cast, who)).get(reverse("rooms:settings", args=[cast.room.pk]))
    assert response.status_code == 403
    assert "You cannot open this" in page(response)


def test_rename_room(as_user, cast):
    client = as_user(cast.alice)
    response = client.post(
        reverse("rooms:settings", args=[cast.room.pk]), {"name": "  Linker  "}, follow=True
    )
    assert "Room renamed to Linker." in page(response)
    cast.room.refresh_from_db()
    assert cast.room.name == "Linker"


def test_rename_to_a_taken_name_changes_nothing(as_user, cast):
    Room.objects.create(team=cast.team, name="Parser")
    response = as_user(cast.alice).post(
        reverse("rooms:settings", args=[cast.room.pk]), {"name": "parser"}
    )
    assert response.status_code == 400
    assert "already has a room called" in page(response)
    cast.room.refresh_from_db()
    assert cast.room.name == "Compiler"


def test_carol_cannot_rename(as_user, cast):
    response = as_user(cast.carol).post(
        reverse("rooms:settings", args=[cast.room.pk]), {"name": "Mine"}
    )
    assert response.status_code == 403
    cast.room.refresh_from_db()
    assert cast.room.name == "Compiler"


def test_delete_needs_the_room_name_typed(as_user, cast):
    response = as_user(cast.alice).post(
        reverse("rooms:delete", args=[cast.room.pk]), {"confirm_name": "compiler"}
    )
    assert response.status_code == 400
    assert "exactly to delete it" in page(response)
    assert Room.objects.filter(pk=cast.room.pk).exists()


def test_delete_room(as_user, cast):
    response = as_user(cast.alice).post(
        reverse("rooms:delete", args=[cast.room.pk]), {"confirm_name": "Compiler"}, follow=True
    )
    assert "were deleted" in page(response)
    assert not Room.objects.filter(pk=cast.room.pk).exists()


def test_bob_cannot_delete(as_user, cast):
    response = as_user(cast.bob).post(
        reverse("rooms:delete", args=[cast.room.pk]), {"confirm_name": "Compiler"}
    )
    assert response.status_code == 403
    assert Room.objects.filter(pk=cast.room.pk).exists()


def test_add_a_team_member_to_the_room_and_change_their_role(as_user, cast):
    client = as_user(cast.alice)
    url = reverse("rooms:member-set", args=[cast.room.pk])
    client.post(url, {"user_id": cast.dave.pk, "role": "viewer"})
    assert RoomMembership.objects.get(room=cast.room, user=cast.dave).role == "viewer"
    response = client.post(url, {"user_id": cast.dave.pk, "role": "editor"}, follow=True)
    assert "dave is now editor in Compiler." in page(response)
    assert RoomMembership.objects.get(room=cast.room, user=cast.dave).role == "editor"


def test_someone_outside_the_team_cannot_be_added_to_a_room(as_user, cast):
    response = as_user(cast.alice).post(
        reverse("rooms:member-set", args=[cast.room.pk]),
        {"user_id": cast.mallory.pk, "role": "editor"},
        follow=True,
    )
    assert "not a member of this team" in page(response)
    assert not RoomMembership.objects.filter(room=cast.room, user=cast.mallory).exists()


def test_a_bad_room_role_is_refused(as_user, cast):
    response = as_user(cast.alice).post(
        reverse("rooms:member-set", args=[cast.room.pk]),
        {"user_id": cast.carol.pk, "role": "admin"},
        follow=True,
    )
    assert "Select a valid choice" in page(response)
    assert RoomMembership.objects.get(room=cast.room, user=cast.carol).role == "viewer"


def test_carol_cannot_promote_herself(as_user, cast):
    response = as_user(cast.carol).post(
        reverse("rooms:member-set", args=[cast.room.pk]),
        {"user_id": cast.carol.pk, "role": "editor"},
    )
    assert response.status_code == 403
    assert RoomMembership.objects.get(room=cast.room, user=cast.carol).role == "viewer"


def test_remove_a_room_member(as_user, cast):
    response = as_user(cast.alice).post(
        reverse("rooms:member-remove", args=[cast.room.pk, cast.bob.pk]), follow=True
    )
    assert "bob was removed from Compiler." in page(response)
    assert not RoomMembership.objects.filter(room=cast.room, user=cast.bob).exists()


# --- teams ---------------------------------------------------------------------------------


def test_team_list_shows_my_teams_with_my_role(as_user, cast):
    body = page(as_user(cast.bob).get(reverse("rooms:teams")))
    assert "Acme" in body and "Member" in body and "Globex" not in body


def test_create_team_makes_me_its_owner(as_user, cast):
    response = as_user(cast.dave).post(reverse("rooms:teams"), {"name": "Initech"})
    team = Team.objects.get(name="Initech")
    assert response.url == reverse("rooms:team", args=[team.pk])
    assert TeamMembership.objects.get(team=team, user=cast.dave).role == "owner"


def test_duplicate_team_name_is_refused(as_user, cast):
    response = as_user(cast.dave).post(reverse("rooms:teams"), {"name": "ACME"})
    assert response.status_code == 400
    assert "already exists. Pick another name." in page(response)
    assert Team.objects.filter(name__iexact="acme").count() == 1


def test_blank_team_name_is_refused(as_user, cast):
    response = as_user(cast.dave).post(reverse("rooms:teams"), {"name": "   "})
    assert response.status_code == 400
    assert Team.objects.count() == 2


def test_team_page_for_an_owner_has_the_controls(as_user, cast):
    body = page(as_user(cast.alice).get(reverse("rooms:team", args=[cast.team.pk])))
    assert "Create invite link" in body and "Add to team" in body
    assert 'data-member="dave"' in body


def test_team_page_for_a_member_has_no_owner_controls(as_user, cast):
    response = as_user(cast.dave).get(reverse("rooms:team", args=[cast.team.pk]))
    body = page(response)
    assert response.status_code == 200
    assert "Create invite link" not in body and "Add to team" not in body
    assert "Leave team" in body
    assert "No rooms you can open" in body  # dave is not in Compiler


def test_team_page_refuses_outsiders(as_user, cast):
    response = as_user(cast.mallory).get(reverse("rooms:team", args=[cast.team.pk]))
    assert response.status_code == 403
    assert "You are not a member of this team." in page(response)


def test_unknown_team_is_a_404(as_user, cast):
    assert as_user(cast.alice).get(reverse("rooms:team", args=[999999])).status_code == 404


def test_owner_adds_a_member_by_username(as_user, cast):
    response = as_user(cast.alice).post(
        reverse("rooms:team-member-add", args=[cast.team.pk]), {"username": "Mallory"}, follow=True
    )
    assert "mallory joined Acme." in page(response)
    assert TeamMembership.objects.filter(team=cast.team, user=cast.mallory).exists()


def test_adding_an_unknown_username_says_so(as_user, cast):
    response = as_user(cast.alice).post(
        reverse("rooms:team-member-add", args=[cast.team.pk]), {"username": "zed"}, follow=True
    )
    assert "There is no user called" in page(response)


def test_adding_an_existing_member_says_so(as_user, cast):
    response = as_user(cast.alice).post(
        reverse("rooms:team-member-add", args=[cast.team.pk]), {"username": "bob"}, follow=True
    )
    assert "bob is already a member of Acme." in page(response)
    assert TeamMembership.objects.filter(team=cast.team, user=cast.bob).count() == 1


def test_members_cannot_add_people(as_user, cast):
    response = as_user(cast.bob).post(
        reverse("rooms:team-member-add", args=[cast.team.pk]), {"username": "mallory"}
    )
    assert response.status_code == 403
    assert "Only a team owner can do that." in page(response)
    assert not TeamMembership.objects.filter(team=cast.team, user=cast.mallory).exists()


def test_owner_promotes_and_demotes(as_user, cast):
    client = as_user(cast.alice)
    url = reverse("rooms:team-member-role", args=[cast.team.pk, cast.bob.pk])
    client.post(url, {"role": "owner"})
    assert TeamMembership.objects.get(team=cast.team, user=cast.bob).role == "owner"
    client.post(url, {"role": "member"})
    assert TeamMembership.objects.get(team=cast.team, user=cast.bob).role == "member"


def test_the_last_owner_cannot_demote_themselves(as_user, cast):
    response = as_user(cast.alice).post(
        reverse("rooms:team-member-role", args=[cast.team.pk, cast.alice.pk]),
        {"role": "member"},
        follow=True,
    )
    assert "A team needs at least one owner" in page(response)
    assert TeamMembership.objects.get(team=cast.team, user=cast.alice).role == "owner"


def test_role_change_for_someone_outside_the_team_is_a_404(as_user, cast):
    response = as_user(cast.alice).post(
        reverse("rooms:team-member-role", args=[cast.team.pk, cast.mallory.pk]), {"role": "owner"}
    )
    assert response.status_code == 404


def test_owner_removes_a_member_from_the_team_and_its_rooms(as_user, cast):
    response = as_user(cast.alice).post(
        reverse("rooms:team-member-remove", args=[cast.team.pk, cast.bob.pk]), follow=True
    )
    assert "bob was removed from Acme and its rooms." in page(response)
    assert not TeamMembership.objects.filter(team=cast.team, user=cast.bob).exists()
    assert not RoomMembership.objects.filter(room=cast.room, user=cast.bob).exists()


def test_a_member_leaves(as_user, cast):
    response = as_user(cast.bob).post(reverse("rooms:team-leave", args=[cast.team.pk]))
    assert response.url == reverse("rooms:teams")
    assert not TeamMembership.objects.filter(team=cast.team, user=cast.bob).exists()


def test_the_last_owner_cannot_leave(as_user, cast):
    response = as_user(cast.alice).post(
        reverse("rooms:team-leave", args=[cast.team.pk]), follow=True
    )
    assert "The last owner cannot leave" in page(response)
    assert TeamMembership.objects.filter(team=cast.team, user=cast.alice).exists()


def test_outsiders_cannot_leave_a_team_they_are_not_in(as_user, cast):
    response = as_user(cast.mallory).post(reverse("rooms:team-leave", args=[cast.team.pk]))
    assert response.status_code == 403


def test_a_member_creates_a_room_and_lands_in_it(as_user, cast):
    response = as_user(cast.dave).post(
        reverse("rooms:team-room-create", args=[cast.team.pk]), {"name": "Parser"}
    )
    room = Room.objects.get(team=cast.team, name="Parser")
    assert response.url == reverse("rooms:detail", args=[room.pk])
    assert RoomMembership.objects.get(room=room, user=cast.dave).role == "editor"


def test_duplicate_room_name_is_refused(as_user, cast):
    response = as_user(cast.bob).post(
        reverse("rooms:team-room-create", args=[cast.team.pk]), {"name": "compiler"}, follow=True
    )
    assert "Acme already has a room called" in page(response)
    assert cast.team.rooms.count() == 1


def test_outsiders_cannot_create_rooms_in_a_team(as_user, cast):
    response = as_user(cast.mallory).post(
        reverse("rooms:team-room-create", args=[cast.team.pk]), {"name": "Trojan"}
    )
    assert response.status_code == 403
    assert not Room.objects.filter(name="Trojan").exists()


# --- invite links ----------------------------------------------------------------------------


def _link_from(body: str) -> str:
    start = body.index('id="invite-link">') + len('id="invite-link">')
    return body[start : body.index("<", start)]


def test_owner_creates_an_invite_link_shown_once(as_user, cast):
    client = as_user(cast.alice)
    response = client.post(
        reverse("rooms:team-invite-create", args=[cast.team.pk]), {"ttl_hours": 24, "max_uses": 1}
    )
    body = page(response)
    link = _link_from(body)
    assert link.startswith("http://testserver/invite/")
    assert "shown only once" in body
    invite = TeamInvite.objects.get(team=cast.team)
    assert invite.max_uses == 1
    assert link not in page(client.get(reverse("rooms:team", args=[cast.team.pk])))


def test_a_bad_invite_lifetime_makes_no_invite(as_user, cast):
    response = as_user(cast.alice).post(
        reverse("rooms:team-invite-create", args=[cast.team.pk]),
        {"ttl_hours": 0, "max_uses": 0},
        follow=True,
    )
    assert "greater than or equal to 1" in page(response)
    assert not TeamInvite.objects.exists()


def test_members_cannot_create_invites(as_user, cast):
    response = as_user(cast.bob).post(
        reverse("rooms:team-invite-create", args=[cast.team.pk]), {"ttl_hours": 24, "max_uses": 0}
    )
    assert response.status_code == 403
    assert not TeamInvite.objects.exists()


def test_owner_revokes_an_invite(as_user, cast):
    invite, raw = team_invite_create(team=cast.team, actor=cast.alice)
    client = as_user(cast.alice)
    client.post(reverse("rooms:team-invite-revoke", args=[cast.team.pk, invite.pk]))
    invite.refresh_from_db()
    assert invite.revoked_at is not None
    response = client.get(reverse("rooms:invite", args=[raw]))
    assert response.status_code == 410
    assert "This invite link was revoked." in page(response)


def test_revoking_another_teams_invite_is_a_404(as_user, cast):
    invite, _ = team_invite_create(team=cast.other_team, actor=cast.mallory)
    response = as_user(cast.alice).post(
        reverse("rooms:team-invite-revoke", args=[cast.team.pk, invite.pk])
    )
    assert response.status_code == 404
    invite.refresh_from_db()
    assert invite.revoked_at is None


def test_invite_page_asks_visitors_to_log_in_and_come_back(client, cast):
    _, raw = team_invite_create(team=cast.team, actor=cast.alice)
    url = reverse("rooms:invite", args=[raw])
    body = page(client.get(url))
    assert "Acme" in body
    assert f"{reverse('login')}?next=/invite/{raw}/" in body
    assert f"{reverse('signup')}?next=/invite/{raw}/" in body
    response = client.post(url)
    assert response.url.startswith(reverse("login"))
    assert (
        not TeamMembership.objects.filter(team=cast.team)
        .exclude(user__in=[cast.alice, cast.bob, cast.carol, cast.dave])
        .exists()
    )


def test_accepting_an_invite_joins_the_team(as_user, cast):
    _, raw = team_invite_create(team=cast.team, actor=cast.alice)
    client = as_user(cast.mallory)
    body = page(client.get(reverse("rooms:invite", args=[raw])))
    assert "Accept and join Acme" in body
    response = client.post(reverse("rooms:invite", args=[raw]))
    assert response.url == reverse("rooms:team", args=[cast.team.pk])
    assert TeamMembership.objects.get(team=cast.team, user=cast.mallory).role == "member"


def test_a_member_opening_an_invite_is_told_they_are_in(as_user, cast):
    _, raw = team_invite_create(team=cast.team, actor=cast.alice)
    client = as_user(cast.bob)
    assert "already a member of Acme" in page(client.get(reverse("rooms:invite", args=[raw])))
    response = client.post(reverse("rooms:invite", args=[raw]), follow=True)
    assert "You are already a member of Acme." in page(response)


def test_an_unknown_invite_token_says_what_to_do(as_user, cast):
    response = as_user(cast.mallory).get(reverse("rooms:invite", args=["not-a-real-token"]))
    assert response.status_code == 404
    assert "This invite link is not valid. Ask a team owner for a new one." in page(response)


def test_an_expired_invite_is_refused(as_user, cast):
    invite, raw = team_invite_create(team=cast.team, actor=cast.alice)
    TeamInvite.objects.filter(pk=invite.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    client = as_user(cast.mallory)
    response = client.post(reverse("rooms:invite", args=[raw]))
    assert response.status_code == 410
    assert "has expired" in page(response)
    assert not TeamMembership.objects.filter(team=cast.team, user=cast.mallory).exists()


def test_a_used_up_invite_is_refused(as_user, cast, make_user):
    _, raw = team_invite_create(team=cast.team, actor=cast.alice, max_uses=1)
    as_user(cast.mallory).post(reverse("rooms:invite", args=[raw]))
    erin = make_user("erin")
    response = as_user(erin).get(reverse("rooms:invite", args=[raw]))
    assert response.status_code == 410
    assert "has been used up" in page(response)
    assert not TeamMembership.objects.filter(team=cast.team, user=erin).exists()


def test_room_page_carries_the_completion_debounce(client, cast, settings):
    settings.FLINT_ASSIST_DEBOUNCE_MS = 275
    client.force_login(cast.bob)
    response = client.get(f"/rooms/{cast.room.pk}/")
    assert b'data-assist-debounce-ms="275"' in response.content
