"""GET /api/usage: the dashboard's headline figures as JSON, for `flint usage` and scripts.

Same audience and scope as the page (docs/USAGE.md): staff see every team, a team owner
the teams they own, anyone else 403. Thin: parse, authorize with the page's own scope
rule, call the selectors.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema

from editor.core.api import errors
from editor.core.errors import Forbidden, NotFound
from editor.usage import selectors
from editor.usage.selectors import RANGES, UsageFilters

router = Router(tags=["usage"])


class UsageOut(Schema):
    range: str
    start: datetime
    end: datetime
    team: int | None
    totals: dict[str, Any]
    by_model: list[dict[str, Any]]
    latency: list[dict[str, Any]]
    acceptance: dict[str, Any]
    tasks: dict[str, Any] | None
    now: dict[str, Any]
    top_users: list[dict[str, Any]]
    top_teams: list[dict[str, Any]]


def _plain(value: Any) -> Any:
    """Decimals (costs) as floats, so the answer is plain JSON numbers."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


@router.get("/usage", response={200: UsageOut, **errors(403)})
def usage_summary(
    request: HttpRequest, range: Literal["24h", "7d", "30d"] = "7d", team: int | None = None
):
    """Requests, tokens, cost, errors, latency, acceptance, tasks and activity now."""
    scope = selectors.usage_scope(user=request.auth)
    if team is not None and not 0 < team < 2**63:
        raise NotFound("No such team.")  # past the database's integers: never a team id
    if scope is not None and team is not None and team not in scope:
        raise Forbidden("You can only see the usage of teams you own.")
    if scope is not None and team is None and len(scope) == 1:
        team = scope[0]
    end = timezone.now()
    filters = UsageFilters(start=end - RANGES[range], end=end, scope=scope, team_id=team)
    figures = selectors.usage_dashboard(filters=filters)
    return _plain(
        {
            "range": range,
            "start": filters.start,
            "end": filters.end,
            "team": team,
            **{name: figures.get(name) for name in UsageOut.model_fields if name in figures},
        }
    )
