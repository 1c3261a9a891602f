"""Every open socket of a user (room and document sockets alike) joins `user.<id>`.

A change to what the user may do (a token revoked, a logout, a role lost in a room)
asks those sockets to re-check their access; each one decides for itself whether it
closes (editor/accounts/ws_auth.py and the consumers' `access_changed` handlers).
"""

from __future__ import annotations

from django.db import transaction

from editor.core.groups import group_send_now


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def access_changed(user_ids: list[int]) -> None:
    """Ask every open socket of these users to re-check its access (and close if gone).

    Sent on commit, so that the re-check reads the change; robust: the change is
    committed already, Redis being down must not turn it into a 500.
    """
    for user_id in user_ids:
        message = {"type": "access.changed"}
        transaction.on_commit(
            lambda uid=user_id, m=message: group_send_now(user_group(uid), m), robust=True
        )
