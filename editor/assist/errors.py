"""What can go wrong with a model call, in words the UI shows as they are.

`kind` is one of a fixed set the browser switches on (docs/PROTOCOL.md); `message`
names the tier so that "the fast model is down" is not confused with Flint being down.
"""

from __future__ import annotations

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
