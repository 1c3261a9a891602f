"""Naming rooms: an id, or `team-slug/room-slug` (the names, lower-cased, dashes)."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from .client import Api
from .errors import USAGE, CliError


def slugify(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def room_label(room: dict[str, Any]) -> str:
    return f"{slugify(room['team']['name'])}/{slugify(room['name'])}"


def room_resolve(api: Api, ref: str) -> dict[str, Any]:
    """The room `ref` names, as the API shows it; an unknown name says what exists."""
    ref = ref.strip()
    if ref.isdigit():
        return api.get(f"/rooms/{int(ref)}")
    if "/" not in ref:
        raise CliError(f"Name a room by its id or as team/room, not {ref!r}.", USAGE)
    team_ref, room_ref = (slugify(part) for part in ref.split("/", 1))
    rooms = api.get("/rooms")
    for room in rooms:
        if slugify(room["team"]["name"]) == team_ref and slugify(room["name"]) == room_ref:
            return room
    known = ", ".join(sorted(room_label(room) for room in rooms)) or "none"
    raise CliError(f"No room {ref} among yours ({known}). See `flint rooms`.", 3,
                   error="not_found")  # fmt: skip


def team_resolve(api: Api, ref: str) -> dict[str, Any]:
    ref = ref.strip()
    teams = api.get("/teams")
    for team in teams:
        if str(team["id"]) == ref or slugify(team["name"]) == slugify(ref):
            return team
    known = ", ".join(sorted(slugify(team["name"]) for team in teams)) or "none"
    raise CliError(f"No team {ref} among yours ({known}). See `flint teams`.", 3,
                   error="not_found")  # fmt: skip
