"""WebSocket authentication: a session cookie (browsers) or ?token= (scripts, the CLI).

Cookies are ambient credentials, so a cookie-authenticated socket must come from one
of our own pages: its Origin is checked against ALLOWED_HOSTS. A token is not ambient
(a page on another site cannot know it), so token sockets skip the Origin check.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.security.websocket import AllowedHostsOriginValidator
from django.contrib.auth.models import AnonymousUser

from editor.api.tokens import token_authenticate
from editor.core.errors import NotAuthenticated


@database_sync_to_async
def _user_for_token(raw: str):
    try:
        return token_authenticate(raw), None
    except NotAuthenticated as exc:
        return AnonymousUser(), exc.message


class WebSocketAuth:
    """Route each socket to token auth or to origin-checked session auth."""

    def __init__(self, inner):
        self.token_app = inner
        self.cookie_app = AllowedHostsOriginValidator(AuthMiddlewareStack(inner))

    async def __call__(self, scope, receive, send):
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        tokens = query.get("token")
        if tokens:
            user, error = await _user_for_token(tokens[0])
            scope = dict(scope, user=user, auth_error=error, auth_method="token")
            return await self.token_app(scope, receive, send)
        scope = dict(scope, auth_method="session")
        return await self.cookie_app(scope, receive, send)
