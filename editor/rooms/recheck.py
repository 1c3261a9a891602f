"""What an open room or document socket asks when `access.changed` reaches it."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async

from editor.accounts import token_cache
from editor.accounts.ws_auth import credential_problem
from editor.rooms.permissions import room_role


async def access_recheck(room, scope: dict[str, Any]) -> tuple[str | None, Any]:
    """(why the socket's credential no longer holds, or None; the user's room role now)."""
    user = scope.get("user")
    if user is not None and user.is_authenticated:
        # Before the re-check: no new socket of this person rides on a kept token verdict.
        token_cache.forget(user.pk)
    return await _recheck(room, scope)


@database_sync_to_async
def _recheck(room, scope: dict[str, Any]) -> tuple[str | None, Any]:
    problem = credential_problem(scope)
    if problem is not None:
        return problem, None
    user = scope["user"]
    user.refresh_from_db(fields=["is_active"])
    return None, room_role(user, room)
