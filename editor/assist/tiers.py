"""Model tiers (fast / deep / review): which server, key, model and wire each one uses.

One OpenAI-compatible endpoint per tier, from settings.FLINT_MODEL_TIERS. `wire` names
how the gateway talks to that server (editor/assist/wire.py): "chat" (Chat Completions)
or "responses" (the Responses API, over HTTP streaming or WebSocket mode: `transport`).
"auto" picks the Responses API for OpenAI's and Azure OpenAI's endpoints, where the codex
models are served only on it, and Chat Completions for anything else (vLLM, Ollama,
llama.cpp speak it best).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

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
    transport: str = "http"  # the Responses wire's: "http" (SSE) or "websocket"
    store: bool = False  # Responses: keep responses on the provider, chain by id
    reasoning_summary: str = "auto"  # Responses: ask for reasoning summaries ("off": don't)

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
        wire=wire_resolve(str(config.get("wire") or "auto"), config.get("base_url")),
        transport=str(config.get("transport") or "http"),
        store=bool(config.get("store") or False),
        reasoning_summary=str(config.get("reasoning_summary") or "auto"),
    )


# Hosts that serve OpenAI's models on the Responses API (the codex models only there).
_RESPONSES_HOSTS = ("api.openai.com", ".openai.azure.com", ".cognitiveservices.azure.com")


def wire_resolve(wire: str, base_url: str | None) -> str:
    """The wire a tier's "auto" means for its endpoint; an explicit wire stays itself."""
    if wire != "auto":
        return wire
    if not base_url:
        return "responses"  # the SDK's default endpoint is OpenAI's
    host = (urlparse(base_url).hostname or "").lower()
    if host == _RESPONSES_HOSTS[0] or host.endswith(_RESPONSES_HOSTS[1:]):
        return "responses"
    return "chat"


def wire_setting(tier: str) -> str:
    """The environment variable that picks a tier's wire, for messages that name the fix."""
    return f"FLINT_{tier.upper()}_MODEL_API"


def require_configured(tier: Tier) -> None:
    if not tier.api_key:
        raise ModelError(
            errors.MODEL_DOWN,
            f"The {tier_label(tier.name)} is not configured on this server; "
            "ask an administrator to set its API key.",
        )
