"""Flint's JSON API under /api/ (docs at /api/docs, schema at /api/openapi.json).

This package only assembles: each app owns its endpoints (`editor/<app>/api.py`), and
they are mounted here under one NinjaAPI. Every endpoint needs a personal access token
or a browser session (editor.api.auth), answers errors in one shape
(editor.api.errors), and calls a service or selector that authorizes through
editor.rooms.permissions. See docs/API.md.
"""

from __future__ import annotations

from ninja import NinjaAPI

from editor.accounts.api import me_router, tokens_router
from editor.agents.api import router as agents_router
from editor.api.auth import api_auth
from editor.api.errors import install_error_handlers
from editor.api.parser import ObjectParser
from editor.projects.api import router as projects_router
from editor.rooms.api import invites_router, rooms_router, teams_router
from editor.usage.api import router as usage_router

api = NinjaAPI(
    title="Flint API",
    version="1",
    description=(
        "Teams, rooms, memberships, project files and access tokens. Authenticate with "
        "`Authorization: Bearer <token>` or a browser session (CSRF enforced on writes). "
        'Errors are `{"error": code, "message": text}`.'
    ),
    auth=api_auth,
    parser=ObjectParser(),
)
install_error_handlers(api)

for router in (
    me_router,
    tokens_router,
    teams_router,
    invites_router,
    rooms_router,
    projects_router,
    agents_router,
    usage_router,
):
    api.add_router("", router)
