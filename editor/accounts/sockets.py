"""Telling a person's open sockets (room and document sockets alike) that their access changed.

A change to what the user may do (a token revoked, a logout, a role lost in a room)
asks those sockets to re-check their access; each one decides for itself whether it
closes (editor/accounts/ws_auth.py and the consumers' `access_changed`). The way there
is the person's access key on Redis pub/sub (editor/accounts/access_watch.py).
"""

from __future__ import annotations

from django.db import transaction

from editor.accounts.access_watch import access_publish


def access_changed(user_ids: list[int]) -> None:
    """Ask every open socket of these users to re-check its access (and close if gone).

    Sent on commit, so that the re-check reads the change; robust: the change is
    committed already, Redis being down must not turn it into a 500.
    """
    for user_id in user_ids:
        transaction.on_commit(lambda uid=user_id: access_publish(uid), robust=True)
