"""Model tiers (fast / deep / review): which server, key, model and wire each one uses.

One OpenAI-compatible endpoint per tier, from settings.FLINT_MODEL_TIERS. `wire` names
how the gateway talks to that server (editor/assist/wire.py); "chat" (Chat Completions)
unless the tier's settings say otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from editor.assist import errors
from editor.assist.errors import ModelError, tier_label

TIERS = ("fast", "deep", "review")
_DEFAULT_CONTEXT_TOKENS = {"fast": 128_000, "deep": 400_000, "review": 128_000}


@dataclass(frozen=True)
class Tier:
    name: str
    base_url: str | None
    api_key: str | None
    model: str
    timeout: float
    context_tokens: int
    wire: str = "chat"

    def public(self) -> dict[str, str]:
        """What a browser may know: never the key, never the URL."""
        return {"tier": self.name, "model": self.model}


def tier_get(name: str, *, model: str | None = None) -> Tier:
    if name not in TIERS:
        raise ModelError(errors.INVALID, f"There is no {name!r} model tier.")
    config = settings.FLINT_MODEL_TIERS[name]
    contexts = getattr(settings, "FLINT_MODEL_CONTEXT_TOKENS", {})
    return Tier(
        name=name,
        base_url=config.get("base_url"),
        api_key=config.get("api_key"),
        model=model or str(config["model"]),
        timeout=float(config.get("timeout") or 60.0),
        context_tokens=int(contexts.get(name, _DEFAULT_CONTEXT_TOKENS[name])),
        wire=str(config.get("wire") or "chat"),
    )


def require_configured(tier: Tier) -> None:
    if not tier.api_key:
        raise ModelError(
            errors.MODEL_DOWN,
            f"The {tier_label(tier.name)} is not configured on this server; "
            "ask an administrator to set its API key.",
        )
