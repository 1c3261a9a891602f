"""Team, invite and room pages. Each view parses, authorizes, calls one service, answers.

Page-level refusals become the 403/404 pages (with the permission module's message);
a refused action on a page the user may see becomes a message on that page, and the
services' transactions guarantee that nothing was half made.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import groupby
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from editor.accounts.services import profile_get
from editor.core.errors import FlintError, NotFound
from editor.core.web import flint_page
from editor.rooms import selectors, services
from editor.rooms.forms import (
    InviteCreateForm,
    MemberAddForm,
    RoomCreateForm,
    RoomDeleteForm,
    RoomMemberAddForm,
    RoomMemberForm,
    RoomRenameForm,
    TeamCreateForm,
    TeamRoleForm,
)
from editor.rooms.models import Room, Team, TeamRole
from editor.rooms.permissions import Action, EffectiveRoomRole, can, require, room_role, team_role


def _team(request: HttpRequest, team_id: int, action: Action) -> Team:
    team = selectors.team_get(team_id=team_id)
    require(request.user, action, team)
    return team


def _room(request: HttpRequest, room_id: int, action: Action) -> Room:
    room = selectors.room_get(room_id=room_id)
    require(request.user, action, room)
    return room


def _attempt(request: HttpRequest, success: str | None, call: Callable[[], Any]) -> Any:
    """Run one service call; its FlintError becomes an error message, success a message."""
    try:
        result = call()
    except FlintError as exc:
        messages.error(request, exc.message)
        return None
    if success:
        messages.success(request, success)
    return result if result is not None else True


def _form_errors(request: HttpRequest, form) -> None:
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


# --- home and lists ----------------------------------------------------------------------


def home(request: HttpRequest) -> HttpResponse:
    return redirect("rooms:list" if request.user.is_authenticated else "login")


@flint_page
def room_list(request: HttpRequest) -> HttpResponse:
    rooms = selectors.rooms_for_user(user=request.user)
    groups = [(team, list(items)) for team, items in groupby(rooms, key=lambda room: room.team)]
    memberships = selectors.team_memberships_for_user(user=request.user)
    return render(
        request,
        "rooms/list.html",
        {"groups": groups, "memberships": memberships, "room_form": RoomCreateForm()},
    )


@flint_page
@require_http_methods(["GET", "POST"])
def team_list(request: HttpRequest) -> HttpResponse:
    form = TeamCreateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        name = form.cleaned_data["name"]
        team = _attempt(
            request,
            None,
            lambda: services.team_create(name=name, owner=request.user),
        )
        if team:
            messages.success(request, f"Team {team.name} created. Invite people below.")
            return redirect("rooms:team", team_id=team.pk)
    memberships = selectors.team_memberships_for_user(user=request.user)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "teams/list.html", {"memberships": memberships, "form": form}, status=status
    )


# --- a team --------------------------------------------------------------------------------


def _team_page(request: HttpRequest, team: Team, **extra: Any) -> HttpResponse:
    my_role = team_role(request.user, team)
    is_owner = my_role == TeamRole.OWNER
    context = {
        "team": team,
        "my_role": my_role,
        "is_owner": is_owner,
        "members": selectors.team_members(team=team),
        "rooms": selectors.rooms_for_user(user=request.user).filter(team=team),
        "invites": selectors.team_invites_active(team=team) if is_owner else [],
        "room_form": RoomCreateForm(),
        "member_form": MemberAddForm(),
        "invite_form": InviteCreateForm(),
        "roles": TeamRole.choices,
        **extra,
    }
    return render(request, "teams/detail.html", context)


@flint_page
def team_detail(request: HttpRequest, team_id: int) -> HttpResponse:
    return _team_page(request, _team(request, team_id, Action.TEAM_VIEW))


@flint_page
@require_POST
def team_member_add(request: HttpRequest, team_id: int) -> HttpResponse:
    team = _team(request, team_id, Action.TEAM_MANAGE)
    form = MemberAddForm(request.POST)
    if form.is_valid():
        username = form.cleaned_data["username"]
        membership = _attempt(
            request,
            None,
            lambda: services.team_member_add(team=team, actor=request.user, username=username),
        )
        if membership:
            messages.success(request, f"{membership.user.get_username()} joined {team.name}.")
    else:
        _form_errors(request, form)
    return redirect("rooms:team", team_id=team.pk)


@flint_page
@require_POST
def team_member_role(request: HttpRequest, team_id: int, user_id: int) -> HttpResponse:
    team = _team(request, team_id, Action.TEAM_MANAGE)
    user = selectors.team_member_user(team=team, user_id=user_id)
    form = TeamRoleForm(request.POST)
    if form.is_valid():
        role = form.cleaned_data["role"]
        _attempt(
            request,
            f"{user.get_username()} is now {TeamRole(role).label.lower()} of {team.name}.",
            lambda: services.team_member_set_role(
                team=team, actor=request.user, user=user, role=role
            ),
        )
    else:
        _form_errors(request, form)
    return redirect("rooms:team", team_id=team.pk)


@flint_page
@require_POST
def team_member_remove(request: HttpRequest, team_id: int, user_id: int) -> HttpResponse:
    team = _team(request, team_id, Action.TEAM_MANAGE)
    user = selectors.team_member_user(team=team, user_id=user_id)
    _attempt(
        request,
        f"{user.get_username()} was removed from {team.name} and its rooms.",
        lambda: services.team_member_remove(team=team, actor=request.user, user=user),
    )
    return redirect("rooms:team", team_id=team.pk)


@flint_page
@require_POST
def team_leave(request: HttpRequest, team_id: int) -> HttpResponse:
    team = _team(request, team_id, Action.TEAM_LEAVE)
    left = _attempt(
        request,
        f"You left {team.name}.",
        lambda: services.team_leave(team=team, user=request.user),
    )
    if left:
        return redirect("rooms:teams")
    return redirect("rooms:team", team_id=team.pk)


@flint_page
@require_POST
def team_invite_create(request: HttpRequest, team_id: int) -> HttpResponse:
    team = _team(request, team_id, Action.TEAM_MANAGE)
    form = InviteCreateForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("rooms:team", team_id=team.pk)
    created = _attempt(
        request,
        None,
        lambda: services.team_invite_create(
            team=team,
            actor=request.user,
            ttl_hours=form.cleaned_data["ttl_hours"],
            max_uses=form.cleaned_data["max_uses"],
        ),
    )
    if not created:
        return redirect("rooms:team", team_id=team.pk)
    invite, raw = created
    # Only the hash is stored: this response is the one place the link ever appears.
    link = request.build_absolute_uri(reverse("rooms:invite", kwargs={"token": raw}))
    return _team_page(request, team, new_invite=invite, new_invite_link=link)


@flint_page
@require_POST
def team_invite_revoke(request: HttpRequest, team_id: int, invite_id: int) -> HttpResponse:
    team = _team(request, team_id, Action.TEAM_MANAGE)
    invite = selectors.team_invite_get(team=team, invite_id=invite_id)
    _attempt(
        request,
        "Invite link revoked: it no longer works.",
        lambda: services.team_invite_revoke(invite=invite, actor=request.user),
    )
    return redirect("rooms:team", team_id=team.pk)


@flint_page
@require_POST
def team_room_create(request: HttpRequest, team_id: int) -> HttpResponse:
    team = _team(request, team_id, Action.ROOM_CREATE)
    form = RoomCreateForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("rooms:team", team_id=team.pk)
    name = form.cleaned_data["name"]
    room = _attempt(
        request,
        None,
        lambda: services.room_create(team=team, actor=request.user, name=name),
    )
    if room:
        messages.success(request, f"Room {room.name} is open.")
        return redirect("rooms:detail", room_id=room.pk)
    return redirect("rooms:team", team_id=team.pk)


# --- invite links ----------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def invite(request: HttpRequest, token: str) -> HttpResponse:
    try:
        found = services.team_invite_lookup(raw_token=token)
    except FlintError as exc:
        return render(
            request, "teams/invite_invalid.html", {"reason": exc.message}, status=exc.status
        )
    team = found.team
    if not request.user.is_authenticated:
        if request.method == "POST":
            return redirect(f"{reverse('login')}?{urlencode({'next': request.path})}")
        return render(
            request, "teams/invite.html", {"team": team, "invite": found, "next": request.path}
        )
    already = team_role(request.user, team) is not None
    if request.method == "GET":
        return render(
            request, "teams/invite.html", {"team": team, "invite": found, "already": already}
        )
    accepted = _attempt(
        request,
        f"You joined {team.name}.",
        lambda: services.team_invite_accept(raw_token=token, user=request.user),
    )
    if accepted or already:
        return redirect("rooms:team", team_id=team.pk)
    return redirect("rooms:invite", token=token)


# --- a room ------------------------------------------------------------------------------


@flint_page
def room_detail(request: HttpRequest, room_id: int) -> HttpResponse:
    room = _room(request, room_id, Action.ROOM_VIEW)
    role = room_role(request.user, room)
    profile = profile_get(user=request.user)
    return render(
        request,
        "rooms/detail.html",
        {
            "room": room,
            "role": role,
            "read_only": role == EffectiveRoomRole.VIEWER,
            "can_manage": can(request.user, Action.ROOM_MANAGE, room),
            "me": profile,
            "assist_debounce_ms": settings.FLINT_ASSIST_DEBOUNCE_MS,
        },
    )


def _settings_page(request: HttpRequest, room: Room, **forms: Any) -> HttpResponse:
    candidates = selectors.room_member_candidates(room=room)
    context = {
        "room": room,
        "members": selectors.room_members(room=room),
        "rename_form": forms.get("rename_form") or RoomRenameForm(initial={"name": room.name}),
        "delete_form": forms.get("delete_form") or RoomDeleteForm(room_name=room.name),
        "add_form": RoomMemberAddForm(candidates=candidates),
        "has_candidates": candidates.exists(),
        "room_roles": RoomMemberForm.base_fields["role"].choices,
    }
    return render(request, "rooms/settings.html", context, status=forms.get("status", 200))


@flint_page
@require_http_methods(["GET", "POST"])
def room_settings(request: HttpRequest, room_id: int) -> HttpResponse:
    room = _room(request, room_id, Action.ROOM_MANAGE)
    if request.method == "GET":
        return _settings_page(request, room)
    form = RoomRenameForm(request.POST)
    if form.is_valid():
        name = form.cleaned_data["name"]
        renamed = _attempt(
            request,
            f"Room renamed to {' '.join(name.split())}.",
            lambda: services.room_rename(room=room, actor=request.user, name=name),
        )
        if renamed:
            return redirect("rooms:settings", room_id=room.pk)
        room.refresh_from_db()
    return _settings_page(request, room, rename_form=form, status=400)


@flint_page
@require_POST
def room_delete(request: HttpRequest, room_id: int) -> HttpResponse:
    room = _room(request, room_id, Action.ROOM_MANAGE)
    form = RoomDeleteForm(request.POST, room_name=room.name)
    if not form.is_valid():
        return _settings_page(request, room, delete_form=form, status=400)
    name, team_id = room.name, room.team_id
    deleted = _attempt(
        request,
        f"Room {name} and everything in it were deleted.",
        lambda: services.room_delete(room=room, actor=request.user),
    )
    if deleted:
        return redirect("rooms:team", team_id=team_id)
    return redirect("rooms:settings", room_id=room_id)


@flint_page
@require_POST
def room_member_set(request: HttpRequest, room_id: int) -> HttpResponse:
    room = _room(request, room_id, Action.ROOM_MANAGE)
    form = RoomMemberForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("rooms:settings", room_id=room.pk)
    role = form.cleaned_data["role"]
    try:
        user = selectors.team_member_user(team=room.team, user_id=form.cleaned_data["user_id"])
    except NotFound as exc:
        messages.error(request, f"{exc.message} Add them to {room.team.name} first.")
        return redirect("rooms:settings", room_id=room.pk)
    _attempt(
        request,
        f"{user.get_username()} is now {role} in {room.name}.",
        lambda: services.room_member_set(room=room, actor=request.user, user=user, role=role),
    )
    return redirect("rooms:settings", room_id=room.pk)


@flint_page
@require_POST
def room_member_remove(request: HttpRequest, room_id: int, user_id: int) -> HttpResponse:
    room = _room(request, room_id, Action.ROOM_MANAGE)
    user = selectors.team_member_user(team=room.team, user_id=user_id)
    _attempt(
        request,
        f"{user.get_username()} was removed from {room.name}.",
        lambda: services.room_member_remove(room=room, actor=request.user, user=user),
    )
    return redirect("rooms:settings", room_id=room.pk)
