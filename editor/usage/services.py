"""Writes of usage rows: one per model call, whatever its outcome."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from editor.usage.models import UsageEvent, UsageStatus
from editor.usage.rollups import rollup_add

_MESSAGE_MAX = 500


def usage_record(
    *,
    user: AbstractBaseUser | int | None,
    tier: str,
    model: str,
    feature: str,
    status: str,
    prompt_tokens: int,
    completion_tokens: int,
    tokens_estimated: bool,
    duration_ms: float,
    cached_tokens: int = 0,
    reasoning_tokens: int = 0,
    ttft_ms: float | None = None,
    team_id: int | None = None,
    room_id: int | None = None,
    task_id: int | None = None,
    request_id: str = "",
    error_kind: str = "",
    error_message: str = "",
) -> UsageEvent:
    """Record a call and add it to its hour's rollups, in one transaction.

    tokens/s is computed over the streaming part (after the first token). Cached tokens
    are part of the prompt and reasoning tokens part of the completion, so each is held
    to its whole (a server that reports more is not believed past it).
    """
    if status not in UsageStatus.values:
        raise ValueError(f"unknown usage status {status!r}")
    tokens_per_s = None
    if completion_tokens and duration_ms:
        streaming_ms = duration_ms - (ttft_ms or 0)
        if streaming_ms > 0:
            tokens_per_s = completion_tokens / (streaming_ms / 1000)
    prompt_tokens, completion_tokens = max(0, prompt_tokens), max(0, completion_tokens)
    user_id = user if isinstance(user, int) or user is None else user.pk
    with transaction.atomic():
        event = UsageEvent.objects.create(
            user_id=user_id,
            team_id=team_id,
            room_id=room_id,
            tier=tier,
            model=model[:200],
            feature=feature,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cached_tokens=min(max(0, cached_tokens), prompt_tokens),
            reasoning_tokens=min(max(0, reasoning_tokens), completion_tokens),
            tokens_estimated=tokens_estimated,
            ttft_ms=ttft_ms,
            duration_ms=duration_ms,
            tokens_per_s=tokens_per_s,
            status=status,
            error_kind=error_kind,
            error_message=error_message[:_MESSAGE_MAX],
            task_id=task_id,
            request_id=request_id[:64],
        )
        rollup_add(event=event)
    return event
