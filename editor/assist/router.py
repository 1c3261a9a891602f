"""Which tier answers which feature: a table, overridable per room and per request."""

from __future__ import annotations

from editor.assist import errors
from editor.assist.errors import ModelError
from editor.assist.tiers import TIERS

FEATURE_TIERS = {
    "inline_completion": "fast",
    "quick_edit": "fast",
    "qa": "fast",
    "task": "deep",
    "review": "review",
}


def route_tier(
    *, feature: str, room_routes: dict[str, str] | None = None, requested: str | None = None
) -> str:
    """The request's own choice, else the room's override, else the table."""
    if feature not in FEATURE_TIERS:
        raise ModelError(errors.INVALID, f"Unknown feature {feature!r}.")
    if requested is not None:
        if requested not in TIERS:
            raise ModelError(errors.INVALID, f"There is no {requested!r} model tier.")
        return requested
    routed = (room_routes or {}).get(feature)
    return routed if routed in TIERS else FEATURE_TIERS[feature]
