"""WebSocket authentication: a session cookie (browsers) or ?token= (scripts, the CLI).

Cookies are ambient credentials, so a cookie-authenticated socket must come from one of
our own pages: its Origin must be the very origin the socket was opened on (scheme, host
and port of the Host header, that host being in ALLOWED_HOSTS) or one of
FLINT_WS_ALLOWED_ORIGINS. Host alone is not enough: cookies are not scoped by port, so
another program on http://127.0.0.1:9999 would otherwise ride on the session of
http://127.0.0.1:8000. A token is not ambient (a page on another site cannot know it),
so token sockets skip the Origin check.

A socket remembers how it authenticated (`auth_token_id`, or the session key), so that
when its user's access changes it can tell whether that credential still holds:
`credential_problem` is what the consumers' re-check asks (through
editor/rooms/recheck.py, which adds the room role).
"""

from __future__ import annotations

import copy
from importlib import import_module
from typing import Any
from urllib.parse import parse_qs, urlsplit

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
    load_backend,
)
from django.contrib.auth.models import AnonymousUser
from django.http.request import split_domain_port, validate_host
from django.utils.crypto import constant_time_compare

from editor.accounts import token_cache
from editor.accounts.throttle import (
    TooManyFailures,
    over_limit,
    token_authenticate_throttled,
)
from editor.accounts.tokens import token_still_valid
from editor.core import closecodes
from editor.core.errors import NotAuthenticated
from editor.core.single_flight import SingleFlight

_DEFAULT_PORTS = {"http": 80, "https": 443}
SESSION_ENDED = "Your session has ended. Log in again."


def _good(found: dict[str, Any]) -> bool:
    return found["auth_error"] is None


# A refusal is never shared: each attempt is read and counted (throttle.py) on its own.
_token_reads: SingleFlight[dict[str, Any]] = SingleFlight(keep_s=token_cache.TTL_S, shareable=_good)


async def _authenticate_token(raw: str, client_ip: str | None) -> dict[str, Any]:
    """The scope fields of a ?token= socket: from the kept verdict of a token in use here
    (token_cache.py; the failed-attempt cap still asked), else from the database.

    Sockets with the same token arriving together (a reconnect burst) share one read
    (editor/core/single_flight.py): only a good verdict, keyed with the access
    generation (a change of anyone's access seen here moves it on), a landed one only
    while its person holds a token socket here, and each socket still asks the
    failed-attempt cap for its own address.
    """
    kept = token_cache.lookup(raw)
    if kept is not None and not await over_limit(client_ip):
        token_id, user = kept
        return {"user": user, "auth_error": None, "auth_token_id": token_id}
    found, read_here = await _token_reads.run(
        (token_cache.key(raw), token_cache.generation()),
        lambda: _authenticate_token_read(raw, client_ip),
        landed_ok=lambda answer: token_cache.holding(answer["user"].pk),
    )
    if read_here or not _good(found):
        return found
    if await over_limit(client_ip):
        return await _authenticate_token_read(raw, client_ip)  # refused and counted there
    return dict(found, user=copy.copy(found["user"]))  # each socket's own instance


@database_sync_to_async
def _authenticate_token_read(raw: str, client_ip: str | None) -> dict[str, Any]:
    read_at = token_cache.generation()
    try:
        token = token_authenticate_throttled(raw, client_ip=client_ip)
    except TooManyFailures as exc:
        return {
            "user": AnonymousUser(),
            "auth_error": exc.message,
            "auth_close_code": closecodes.TOO_MANY_REQUESTS,
        }
    except NotAuthenticated as exc:
        return {"user": AnonymousUser(), "auth_error": exc.message}
    token_cache.keep(raw, token, read_at=read_at)
    return {"user": token.user, "auth_error": None, "auth_token_id": token.pk}


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def normalize_origin(origin: str) -> str | None:
    """`scheme://host[:port]`, lower-case, the scheme's default port left out; None if not one."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if port is None or port == _DEFAULT_PORTS[parts.scheme]:
        return f"{parts.scheme}://{host}"
    return f"{parts.scheme}://{host}:{port}"


def _secure(scope: dict[str, Any]) -> bool:
    if scope.get("scheme") in ("wss", "https"):
        return True
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy:  # the same trust Django gives the proxy for HTTP requests
        meta_name, expected = proxy
        header = meta_name.removeprefix("HTTP_").lower().replace("_", "-").encode()
        value = _header(scope, header)
        return value is not None and value.split(",")[0].strip() == expected
    return False


def origin_allowed(scope: dict[str, Any]) -> bool:
    """Whether a cookie-carrying socket comes from one of Flint's own pages."""
    raw = _header(scope, b"origin")
    origin = normalize_origin(raw) if raw else None
    if origin is None:
        return False
    allowed = {normalize_origin(o) for o in settings.FLINT_WS_ALLOWED_ORIGINS}
    if origin in allowed:
        return True
    host = _header(scope, b"host")
    if not host:
        return False
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return False  # a rebound DNS name serves the attacker's page with our port
    own = normalize_origin(f"{'https' if _secure(scope) else 'http'}://{host}")
    return own is not None and origin == own


class OriginValidator:
    """Refuses the handshake (403) of a cookie socket from anywhere but Flint's own pages."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        if origin_allowed(scope):
            return await self.inner(scope, receive, send)
        # What channels' own validator does: close before accepting, the browser sees 403.
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.close"})
        while message["type"] != "websocket.disconnect":
            message = await receive()


class WebSocketAuth:
    """Route each socket to token auth or to origin-checked session auth."""

    def __init__(self, inner):
        self.token_app = inner
        self.cookie_app = OriginValidator(AuthMiddlewareStack(inner))

    async def __call__(self, scope, receive, send):
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        tokens = query.get("token")
        if tokens:
            client = scope.get("client") or (None,)
            found = await _authenticate_token(tokens[0], client[0])
            scope = dict(scope, **found, auth_method="token")
            user = found["user"]
            if not user.is_authenticated:
                return await self.token_app(scope, receive, send)
            token_cache.hold(user.pk)  # for as long as this socket is open
            try:
                return await self.token_app(scope, receive, send)
            finally:
                token_cache.release(user.pk)
        scope = dict(scope, auth_method="session")
        return await self.cookie_app(scope, receive, send)


# --- re-checks while open -------------------------------------------------------------


def credential_problem(scope: dict[str, Any]) -> str | None:
    """Why the credential this socket was opened with no longer holds, or None if it does.

    Sync (database): call through database_sync_to_async. Token sockets: the token must
    still be valid (not revoked, not expired) and its user active. Session sockets: the
    session must still exist, belong to the same active user, and carry the current
    password hash (a password change ends every other session, as it does for pages).
    """
    user = scope.get("user")
    if user is None or not user.is_authenticated:
        return SESSION_ENDED
    if scope.get("auth_method") == "token":
        try:
            token_still_valid(token_id=scope.get("auth_token_id"), user_id=user.pk)
        except NotAuthenticated as exc:
            return exc.message
        return None
    session = scope.get("session")
    key = getattr(session, "session_key", None)
    if not key or _session_user_id(key) != user.pk:
        return SESSION_ENDED
    return None


def _session_user_id(key: str) -> Any | None:
    """The id of the active user a stored session authenticates, like django's get_user.

    Read-only, unlike get_user, which flushes or re-keys a session it cannot verify: that
    is for the browser's next request to do, with its cookie.
    """
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key)
    data = store.load()  # {} if missing or expired
    user_id, backend_path = data.get(SESSION_KEY), data.get(BACKEND_SESSION_KEY)
    session_hash = data.get(HASH_SESSION_KEY)
    if not user_id or not session_hash or backend_path not in settings.AUTHENTICATION_BACKENDS:
        return None
    user = load_backend(backend_path).get_user(get_user_model()._meta.pk.to_python(user_id))
    if user is None:  # gone, or inactive (ModelBackend refuses inactive users)
        return None
    hashes = [user.get_session_auth_hash(), *user.get_session_auth_fallback_hash()]
    if not any(constant_time_compare(session_hash, h) for h in hashes):
        return None
    return user.pk
