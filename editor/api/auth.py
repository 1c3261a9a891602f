"""Who is calling: a personal access token (scripts, the CLI) or the browser session.

A token is tried first. If the request carries one and it is bad, the request fails
with the reason (unknown, revoked, expired) instead of falling back to the session, so
a script never silently acts as whoever is logged in. A session is an ambient
credential, so unsafe methods must pass Django's CSRF check; a token is not ambient
(another site cannot know it), so token requests skip it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from editor.accounts.throttle import token_authenticate_throttled
from editor.core.errors import Forbidden, NotAuthenticated

_SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


class TokenAuth(HttpBearer):
    """`Authorization: Bearer flint_…`."""

    def __call__(self, request: HttpRequest) -> Any | None:
        header = request.headers.get(self.header)
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer":
            raise NotAuthenticated("Send the token as 'Authorization: Bearer <token>'.")
        return self.authenticate(request, raw.strip())

    def authenticate(self, request: HttpRequest, token: str) -> Any | None:
        # Raises NotAuthenticated with the reason, or TooManyFailures (429) while this
        # address is over its cap of failed tries (editor/accounts/throttle.py).
        user = token_authenticate_throttled(token, client_ip=request.META.get("REMOTE_ADDR")).user
        # Code that reads request.user (logging, Django helpers) sees the token's owner.
        request.user = user
        return user


class SessionAuth(APIKeyCookie):
    """The browser's Django session, with CSRF enforced on writes."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        # The CSRF check is ours (below): ninja's would refuse an anonymous POST with
        # 403 before we could say 401.
        super().__init__(csrf=False)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        if request.method not in _SAFE_METHODS and check_csrf(request) is not None:
            raise Forbidden(
                "CSRF check failed: send the csrftoken cookie's value in the X-CSRFToken "
                "header, or use a personal access token.",
                code="csrf_failed",
            )
        return user


api_auth = [TokenAuth(), SessionAuth()]
