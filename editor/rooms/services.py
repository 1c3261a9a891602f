"""Teams, invites, rooms and memberships: every write, authorized and atomic."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from editor.accounts.sockets import access_changed
from editor.core.errors import Conflict, Forbidden, Gone, Invalid, NotFound
from editor.rooms.events import room_event_send
from editor.rooms.models import (
    Room,
    RoomMembership,
    RoomRole,
    Team,
    TeamInvite,
    TeamMembership,
    TeamRole,
)
from editor.rooms.permissions import Action, require

NAME_MAX = 80
MAX_INVITE_USES = 1_000_000


def _clean_name(name: str, *, what: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise Invalid(f"Give the {what} a name.")
    if len(name) > NAME_MAX:
        raise Invalid(f"A {what} name has at most {NAME_MAX} characters.")
    if any(ord(ch) < 32 for ch in name):
        raise Invalid(f"A {what} name cannot contain control characters.")
    return name


def _user_by_username(username: str) -> AbstractBaseUser:
    user = (
        get_user_model().objects.filter(username__iexact=username.strip(), is_active=True).first()
    )
    if user is None:
        raise NotFound(f"There is no user called {username.strip()!r}.")
    return user


def _owner_count(team: Team) -> int:
    return team.memberships.filter(role=TeamRole.OWNER).count()


# --- teams -----------------------------------------------------------------------------


@transaction.atomic
def team_create(*, name: str, owner: AbstractBaseUser) -> Team:
    name = _clean_name(name, what="team")
    if Team.objects.filter(name__iexact=name).exists():
        raise Conflict(f"A team called {name!r} already exists. Pick another name.")
    try:
        with transaction.atomic():
            team = Team.objects.create(name=name, created_by=owner)
    except IntegrityError:
        raise Conflict(f"A team called {name!r} already exists. Pick another name.") from None
    TeamMembership.objects.create(team=team, user=owner, role=TeamRole.OWNER)
    return team


@transaction.atomic
def team_rename(*, team: Team, actor: AbstractBaseUser, name: str) -> Team:
    require(actor, Action.TEAM_MANAGE, team)
    name = _clean_name(name, what="team")
    if Team.objects.filter(name__iexact=name).exclude(pk=team.pk).exists():
        raise Conflict(f"A team called {name!r} already exists. Pick another name.")
    team.name = name
    team.save(update_fields=["name"])
    return team


@transaction.atomic
def team_delete(*, team: Team, actor: AbstractBaseUser) -> None:
    require(actor, Action.TEAM_MANAGE, team)
    member_ids = list(team.memberships.values_list("user_id", flat=True))
    # Rooms, files and their shared documents go too (cascade; the documents through
    # the pre_delete receiver in editor/projects/signals.py).
    team.delete()
    access_changed(member_ids)


@transaction.atomic
def team_member_add(
    *, team: Team, actor: AbstractBaseUser, username: str, role: str = TeamRole.MEMBER
) -> TeamMembership:
    """Invite by username: the person becomes a member at once."""
    require(actor, Action.TEAM_MANAGE, team)
    if role not in TeamRole.values:
        raise Invalid(f"A team role is one of {', '.join(TeamRole.values)}.")
    user = _user_by_username(username)
    if team.memberships.filter(user=user).exists():
        raise Conflict(f"{user.get_username()} is already a member of {team.name}.")
    return TeamMembership.objects.create(team=team, user=user, role=role)


@transaction.atomic
def team_member_set_role(
    *, team: Team, actor: AbstractBaseUser, user: AbstractBaseUser, role: str
) -> TeamMembership:
    require(actor, Action.TEAM_MANAGE, team)
    if role not in TeamRole.values:
        raise Invalid(f"A team role is one of {', '.join(TeamRole.values)}.")
    membership = team.memberships.select_for_update().filter(user=user).first()
    if membership is None:
        raise NotFound(f"{user.get_username()} is not a member of {team.name}.")
    if membership.role == TeamRole.OWNER and role != TeamRole.OWNER and _owner_count(team) == 1:
        raise Conflict("A team needs at least one owner: make someone else owner first.")
    membership.role = role
    membership.save(update_fields=["role"])
    access_changed([user.pk])
    return membership


def _team_member_drop(team: Team, user: AbstractBaseUser) -> None:
    membership = team.memberships.select_for_update().filter(user=user).first()
    if membership is None:
        raise NotFound(f"{user.get_username()} is not a member of {team.name}.")
    if membership.role == TeamRole.OWNER and _owner_count(team) == 1:
        raise Conflict("The last owner cannot leave: make someone else owner, or delete the team.")
    RoomMembership.objects.filter(room__team=team, user=user).delete()
    membership.delete()
    access_changed([user.pk])


@transaction.atomic
def team_member_remove(*, team: Team, actor: AbstractBaseUser, user: AbstractBaseUser) -> None:
    """An owner removes someone; their room memberships go too and open sockets close."""
    if user.pk == actor.pk:
        return team_leave(team=team, user=actor)
    require(actor, Action.TEAM_MANAGE, team)
    _team_member_drop(team, user)
    return None


@transaction.atomic
def team_leave(*, team: Team, user: AbstractBaseUser) -> None:
    require(user, Action.TEAM_LEAVE, team)
    _team_member_drop(team, user)


# --- invite links ------------------------------------------------------------------------


def _hash_secret(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def team_invite_create(
    *, team: Team, actor: AbstractBaseUser, ttl_hours: int | None = None, max_uses: int = 0
) -> tuple[TeamInvite, str]:
    """Return the invite and its secret; only the hash is stored, so show the link now."""
    require(actor, Action.TEAM_MANAGE, team)
    ttl = settings.FLINT_INVITE_TTL_HOURS if ttl_hours is None else ttl_hours
    if ttl < 1 or ttl > 24 * 30:
        raise Invalid("An invite lasts between 1 hour and 30 days.")
    if not 0 <= max_uses <= MAX_INVITE_USES:
        raise Invalid(f"An invite can be used at most {MAX_INVITE_USES:,} times (0: no limit).")
    raw = secrets.token_urlsafe(24)
    invite = TeamInvite.objects.create(
        team=team,
        token_hash=_hash_secret(raw),
        created_by=actor,
        expires_at=timezone.now() + timedelta(hours=ttl),
        max_uses=max_uses,
    )
    return invite, raw


def team_invite_lookup(*, raw_token: str) -> TeamInvite:
    """The invite behind a link, or an error saying why it cannot be used."""
    invite = (
        TeamInvite.objects.select_related("team").filter(token_hash=_hash_secret(raw_token)).first()
    )
    if invite is None:
        raise NotFound("This invite link is not valid. Ask a team owner for a new one.")
    if invite.revoked_at is not None:
        raise Gone("This invite link was revoked. Ask a team owner for a new one.")
    if invite.expires_at <= timezone.now():
        raise Gone("This invite link has expired. Ask a team owner for a new one.")
    if invite.max_uses and invite.uses >= invite.max_uses:
        raise Gone("This invite link has been used up. Ask a team owner for a new one.")
    return invite


@transaction.atomic
def team_invite_accept(*, raw_token: str, user: AbstractBaseUser) -> Team:
    invite = team_invite_lookup(raw_token=raw_token)
    team = invite.team
    if team.memberships.filter(user=user).exists():
        raise Conflict(f"You are already a member of {team.name}.")
    # The conditional update makes a limited invite safe against two people at once.
    uses_left = TeamInvite.objects.filter(pk=invite.pk)
    if invite.max_uses:
        uses_left = uses_left.filter(uses__lt=invite.max_uses)
    if uses_left.update(uses=F("uses") + 1) == 0:
        raise Gone("This invite link has been used up. Ask a team owner for a new one.")
    TeamMembership.objects.create(team=team, user=user, role=TeamRole.MEMBER)
    return team


@transaction.atomic
def team_invite_revoke(*, invite: TeamInvite, actor: AbstractBaseUser) -> TeamInvite:
    require(actor, Action.TEAM_MANAGE, invite.team)
    if invite.revoked_at is None:
        invite.revoked_at = timezone.now()
        invite.save(update_fields=["revoked_at"])
    return invite


# --- rooms -------------------------------------------------------------------------------


@transaction.atomic
def room_create(*, team: Team, actor: AbstractBaseUser, name: str) -> Room:
    """Any team member can open a room; they join it as its first editor."""
    require(actor, Action.ROOM_CREATE, team)
    name = _clean_name(name, what="room")
    if team.rooms.filter(name__iexact=name).exists():
        raise Conflict(f"{team.name} already has a room called {name!r}. Pick another name.")
    try:
        with transaction.atomic():
            room = Room.objects.create(team=team, name=name, created_by=actor)
    except IntegrityError:
        raise Conflict(f"{team.name} already has a room called {name!r}.") from None
    RoomMembership.objects.create(room=room, user=actor, role=RoomRole.EDITOR)
    return room


@transaction.atomic
def room_rename(*, room: Room, actor: AbstractBaseUser, name: str) -> Room:
    require(actor, Action.ROOM_MANAGE, room)
    name = _clean_name(name, what="room")
    if room.team.rooms.filter(name__iexact=name).exclude(pk=room.pk).exists():
        raise Conflict(f"{room.team.name} already has a room called {name!r}.")
    room.name = name
    room.save(update_fields=["name"])
    room_event_send(room.pk, "room.renamed", {"name": name})
    return room


@transaction.atomic
def room_delete(*, room: Room, actor: AbstractBaseUser) -> None:
    require(actor, Action.ROOM_MANAGE, room)
    member_ids = list(room.team.memberships.values_list("user_id", flat=True))
    room.delete()  # its files' documents too: editor/projects/signals.py
    access_changed(member_ids)


@transaction.atomic
def room_member_set(
    *, room: Room, actor: AbstractBaseUser, user: AbstractBaseUser, role: str
) -> RoomMembership:
    """Add a team member to a room, or change their role there."""
    require(actor, Action.ROOM_MANAGE, room)
    if role not in RoomRole.values:
        raise Invalid(f"A room role is one of {', '.join(RoomRole.values)}.")
    if not room.team.memberships.filter(user=user).exists():
        raise Forbidden(
            f"{user.get_username()} is not in {room.team.name}: add them to the team first."
        )
    membership, created = RoomMembership.objects.update_or_create(
        room=room, user=user, defaults={"role": role}
    )
    if not created:
        access_changed([user.pk])  # a demotion to viewer must take effect on open sockets
    return membership


@transaction.atomic
def room_member_remove(*, room: Room, actor: AbstractBaseUser, user: AbstractBaseUser) -> None:
    require(actor, Action.ROOM_MANAGE, room)
    deleted, _ = RoomMembership.objects.filter(room=room, user=user).delete()
    if not deleted:
        raise NotFound(f"{user.get_username()} is not a member of this room.")
    access_changed([user.pk])
