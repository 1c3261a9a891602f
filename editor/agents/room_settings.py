"""A room's settings for deep tasks: rules, the set-up script and the hosts allowed.

Everyone in the room reads them (the task sheet shows what a task ran with); only the
room's owners (team owners, `room.manage`) change them: a set-up script runs code and an
allowed host opens the sandbox to the network.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from editor.agents.models import RoomAgentSettings
from editor.core.errors import Invalid
from editor.rooms.models import Room
from editor.rooms.permissions import Action, require

RULES_MAX = 8000
SCRIPT_MAX = 8000
HOSTS_MAX = 50
# host, *.host or host:port; names of letters, digits and hyphens, or an IPv4 address.
_HOST = re.compile(
    r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*"
    r"(:[0-9]{1,5})?$"
)


def settings_of(room: Room) -> RoomAgentSettings:
    """The room's settings row, or an unsaved empty one (nothing set yet)."""
    found = RoomAgentSettings.objects.filter(room=room).first()
    return found or RoomAgentSettings(room=room)


def settings_out(row: RoomAgentSettings) -> dict[str, Any]:
    return {
        "rules": row.rules,
        "setup_script": row.setup_script,
        "setup_hosts": list(row.setup_hosts or []),
        "command_hosts": list(row.command_hosts or []),
        "updated_by": row.updated_by.get_username() if row.updated_by_id else None,
        "updated_at": row.updated_at.isoformat() if row.updated_at else None,
    }


def agent_settings_get(*, room: Room, actor: AbstractBaseUser) -> dict[str, Any]:
    require(actor, Action.ROOM_VIEW, room)
    return settings_out(settings_of(room))


def hosts_clean(hosts: Any, *, what: str) -> list[str]:
    """A list of allowed hosts: `host`, `*.host` or `host:port`, lower case, no scheme."""
    if hosts is None:
        return []
    if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
        raise Invalid(f'`{what}` is a list of host names, e.g. ["pypi.org"].')
    if len(hosts) > HOSTS_MAX:
        raise Invalid(f"`{what}` names {len(hosts)} hosts; at most {HOSTS_MAX}.")
    cleaned: list[str] = []
    for raw in hosts:
        host = raw.strip().lower()
        if not host:
            continue
        if not _HOST.match(host) or len(host) > 260:
            raise Invalid(
                f"{raw[:80]!r} in `{what}` is not a host: write a name like pypi.org, "
                "*.example.com or host:port (no scheme, no path).",
                code="bad_host",
            )
        port = host.rpartition(":")[2] if ":" in host else ""
        if port and not 0 < int(port) < 65536:
            raise Invalid(f"{raw[:80]!r}: the port is from 1 to 65535.", code="bad_host")
        if host not in cleaned:
            cleaned.append(host)
    return cleaned


@transaction.atomic
def agent_settings_set(
    *,
    room: Room,
    actor: AbstractBaseUser,
    rules: str | None = None,
    setup_script: str | None = None,
    setup_hosts: list[str] | None = None,
    command_hosts: list[str] | None = None,
) -> dict[str, Any]:
    """Change what is given (None leaves a setting as it is); room owners only."""
    require(actor, Action.ROOM_MANAGE, room)
    row, _ = RoomAgentSettings.objects.select_for_update().get_or_create(room=room)
    if rules is not None:
        if len(rules) > RULES_MAX:
            raise Invalid(f"The room's rules are {len(rules)} characters; at most {RULES_MAX}.")
        row.rules = rules
    if setup_script is not None:
        if len(setup_script) > SCRIPT_MAX:
            raise Invalid(
                f"The set-up script is {len(setup_script)} characters; at most {SCRIPT_MAX}."
            )
        row.setup_script = setup_script.replace("\r\n", "\n")
    if setup_hosts is not None:
        row.setup_hosts = hosts_clean(setup_hosts, what="setup_hosts")
    if command_hosts is not None:
        row.command_hosts = hosts_clean(command_hosts, what="command_hosts")
    row.updated_by = actor
    row.save()
    return settings_out(row)
