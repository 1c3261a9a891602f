"""What an open room or document socket asks when `access.changed` reaches it."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async

from editor.accounts.ws_auth import credential_problem
from editor.rooms.permissions import room_role


@database_sync_to_async
def access_recheck(room, scope: dict[str, Any]) -> tuple[str | None, Any]:
    """(why the socket's credential no longer holds, or None; the user's room role now)."""
    problem = credential_problem(scope)
    if problem is not None:
        return problem, None
    user = scope["user"]
    user.refresh_from_db(fields=["is_active"])
    return None, room_role(user, room)
