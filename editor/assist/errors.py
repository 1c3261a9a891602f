"""What can go wrong with a model call, in words the UI shows as they are.

`kind` is one of a fixed set the browser switches on (docs/PROTOCOL.md); `message`
names the tier so that "the fast model is down" is not confused with Flint being down.
`classify` turns whatever a wire or its transport raised into one of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx2
import openai

from editor.assist.sse import MalformedChunk, StreamErrorEvent

if TYPE_CHECKING:
    from editor.assist.tiers import Tier

RATE_LIMITED = "rate_limited"
MODEL_DOWN = "model_down"
TIMEOUT = "timeout"
CUT_OFF = "cut_off"
TOO_LARGE = "too_large"
BUSY = "busy"
INVALID = "invalid"
FORBIDDEN = "forbidden"
QUOTA = "quota"  # a Flint limit or budget (editor/usage/quotas.py), not the model server's
KINDS = (RATE_LIMITED, MODEL_DOWN, TIMEOUT, CUT_OFF, TOO_LARGE, BUSY, INVALID, FORBIDDEN, QUOTA)

TIER_NAMES = {"fast": "fast model", "deep": "deep model", "review": "review model"}


class ModelError(Exception):
    """A model call failed; `retryable` says a new attempt may succeed (before any token)."""

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status

    def __repr__(self) -> str:
        return f"ModelError({self.kind!r}, {self.message!r})"


def tier_label(tier: str) -> str:
    return TIER_NAMES.get(tier, f"{tier} model")


# --- turning failures into ModelError --------------------------------------------------


def _retry_after(response: Any) -> float | None:
    try:
        value = response.headers.get("retry-after")
        return float(value) if value is not None else None
    except (AttributeError, ValueError):
        return None


def _wrong_wire(exc: openai.APIStatusError, tier: Tier) -> ModelError | None:
    """A model asked on a wire its server does not serve it on: say which setting fixes it."""
    setting = f"FLINT_{tier.name.upper()}_MODEL_API"
    code = getattr(exc, "code", None)
    if code == "unsupported_api_for_model":
        if tier.wire == "chat":
            message = f"{tier.model} is served only on the Responses API: set {setting}=responses."
        else:
            message = f"{tier.model} is not served on the Responses API: set {setting}=chat."
        return ModelError(MODEL_DOWN, message, status=exc.status_code)
    if exc.status_code in (404, 405) and tier.wire == "responses" and code != "model_not_found":
        return ModelError(
            MODEL_DOWN,
            f"The {tier_label(tier.name)}'s server does not serve the Responses API "
            f"(HTTP {exc.status_code}): set {setting}=chat.",
            status=exc.status_code,
        )
    return None


def classify(exc: BaseException, *, tier: Tier, partial: bool) -> ModelError:
    """Map an SDK, transport or parsing failure of any wire to what the user is told.

    `partial`: the user has already seen part of the answer (so nothing is retried and
    the message says what arrived is kept).
    """
    label = tier_label(tier.name)
    kept = " What arrived is kept." if partial else ""
    if isinstance(exc, ModelError):
        return exc
    if isinstance(exc, openai.RateLimitError):
        return ModelError(
            RATE_LIMITED,
            f"The {label} is rate-limited right now; try again in a few seconds.{kept}",
            retryable=True,
            retry_after=_retry_after(exc.response),
            status=429,
        )
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status >= 500:
            return ModelError(
                MODEL_DOWN,
                f"The {label} failed (HTTP {status}); try again shortly.{kept}",
                retryable=True,
                status=status,
            )
        wrong_wire = _wrong_wire(exc, tier)
        if wrong_wire is not None:
            return wrong_wire
        body = str(getattr(exc, "body", "") or exc.message or "").lower()
        if status in (400, 413) and ("context" in body or "too long" in body or status == 413):
            return ModelError(
                TOO_LARGE,
                f"The request is too large for the {label}'s context; select less.",
                status=status,
            )
        if status in (401, 403):
            return ModelError(
                MODEL_DOWN,
                f"The {label} refused this server's credentials; ask an administrator.",
                status=status,
            )
        return ModelError(
            MODEL_DOWN, f"The {label} rejected the request (HTTP {status}).", status=status
        )
    if isinstance(exc, openai.APITimeoutError | httpx2.TimeoutException):
        return ModelError(TIMEOUT, f"The {label} did not answer within {tier.timeout:g} s.{kept}")
    if isinstance(exc, MalformedChunk | StreamErrorEvent | ValueError):
        if partial:
            return ModelError(CUT_OFF, f"The {label} sent a broken reply and stopped.{kept}")
        return ModelError(
            MODEL_DOWN, f"The {label} sent a broken reply; try again.", retryable=True
        )
    if isinstance(exc, openai.APIConnectionError | httpx2.TransportError):
        if partial:
            return ModelError(CUT_OFF, f"The {label}'s answer was cut off mid-way.{kept}")
        return ModelError(
            MODEL_DOWN, f"Could not reach the {label}; try again shortly.", retryable=True
        )
    return ModelError(MODEL_DOWN, f"The {label} failed unexpectedly.{kept}")
