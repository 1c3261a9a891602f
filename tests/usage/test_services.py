"""usage_record: one row per model call, with the rate computed over the streaming part."""

from __future__ import annotations

import pytest

from editor.usage import tokens
from editor.usage.models import UsageEvent
from editor.usage.services import usage_record

pytestmark = pytest.mark.django_db


def test_a_completed_call_is_recorded_with_its_rate(cast):
    event = usage_record(
        user=cast.bob, team_id=cast.team.pk, room_id=cast.room.pk, tier="fast",
        model="sim-fast", feature="quick_edit", status="ok", prompt_tokens=120,
        completion_tokens=200, tokens_estimated=False, ttft_ms=120.0, duration_ms=320.0,
        request_id="r1",
    )  # fmt: skip
    event.refresh_from_db()
    assert (event.user, event.room, event.team) == (cast.bob, cast.room, cast.team)
    assert event.tokens_per_s == pytest.approx(1000.0)
    assert event.task_id is None


def test_cached_and_reasoning_tokens_are_recorded_within_their_wholes(cast):
    def row(**tokens):
        event = usage_record(
            user=cast.bob, team_id=cast.team.pk, tier="deep", model="gpt-5.3-codex",
            feature="task", status="ok", prompt_tokens=1000, completion_tokens=400,
            tokens_estimated=False, duration_ms=900.0, **tokens,
        )  # fmt: skip
        event.refresh_from_db()
        return event.cached_tokens, event.reasoning_tokens

    assert row(cached_tokens=768, reasoning_tokens=256) == (768, 256)
    assert row() == (0, 0)  # a server that does not say
    # More than the whole is not believed past it; a negative count is none.
    assert row(cached_tokens=5000, reasoning_tokens=-3) == (1000, 0)


def test_a_failed_call_keeps_its_error_and_survives_its_room(cast):
    usage_record(
        user=cast.bob.pk, room_id=cast.room.pk, team_id=cast.team.pk, tier="fast", model="m",
        feature="qa", status="error", prompt_tokens=10, completion_tokens=0,
        tokens_estimated=True, duration_ms=5.0, error_kind="model_down", error_message="x" * 900,
    )  # fmt: skip
    cast.room.delete()
    event = UsageEvent.objects.get()
    assert event.room is None and event.team == cast.team
    assert (event.error_kind, len(event.error_message)) == ("model_down", 500)
    assert event.tokens_per_s is None


def test_an_unknown_status_is_refused(cast):
    with pytest.raises(ValueError, match="status"):
        usage_record(
            user=None, tier="fast", model="m", feature="qa", status="maybe",
            prompt_tokens=0, completion_tokens=0, tokens_estimated=True, duration_ms=0,
        )  # fmt: skip


def test_estimates_without_network():
    # This machine has no copy of tiktoken's encoding: the documented chars/4 rule applies.
    if tokens.estimator_name() == "chars/4":
        assert tokens.count_tokens("abcdefgh") == 2
        assert tokens.count_tokens("abcdefghi") == 3
    else:
        assert 1 <= tokens.count_tokens("hello world") <= 3
    assert tokens.count_tokens("") == 0
    messages = [{"role": "user", "content": "abcd" * 10}]
    assert tokens.count_message_tokens(messages) == 3 + 4 + tokens.count_tokens("abcd" * 10)
