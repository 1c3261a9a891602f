"""editor/assist/metered.py: every model call is admitted, called through the gateway's
wire, released and recorded, with one token count (real Redis counters, the simulator)."""

from __future__ import annotations

import uuid

import pytest

from editor.assist import gateway, metered
from editor.assist.errors import ModelError
from editor.assist.gateway import ModelRequest, tier_get
from editor.assist.simulator import rules_from
from editor.assist.wire_chat import ChatWire, usage_of
from editor.usage import limits
from editor.usage.models import TeamLimit, UsageEvent, UsageStatus
from editor.usage.quotas import QuotaExceeded, _client_sync, _keys, month_key
from editor.usage.services import usage_record
from editor.usage.tokens import count_tokens

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_counters(settings):
    settings.FLINT_CHANNEL_PREFIX = f"metered-test-{uuid.uuid4().hex[:8]}"
    limits.limits_forget()
    yield
    limits.limits_forget()


def _meter(cast, feature: str = "review") -> metered.Meter:
    return metered.Meter(
        feature=feature, user_id=cast.bob.pk, team_id=cast.team.pk, room_id=cast.room.pk
    )


def _review(text: str) -> ModelRequest:
    return ModelRequest(messages=[{"role": "user", "content": text}], max_tokens=200)


def test_a_call_is_recorded_with_the_servers_counts_and_charged_exactly_that(
    cast, tiers, simulator
):
    simulator.simulator.rules = rules_from([{"match": "check", "reply": "Looks fine."}])
    TeamLimit.objects.create(team=cast.team, monthly_tokens=1_000_000)

    call = metered.complete_sync(
        meter=_meter(cast), tier=tier_get("review"), request=_review("check this")
    )

    assert call.result.text == "Looks fine."
    usage = call.result.usage
    assert (call.tokens.prompt, call.tokens.completion, call.tokens.estimated) == (
        usage["prompt_tokens"], usage["completion_tokens"], False,
    )  # fmt: skip
    (row,) = UsageEvent.objects.filter(team_id=cast.team.pk)
    assert (row.feature, row.tier, row.status, row.user_id, row.room_id) == (
        "review", "review", UsageStatus.OK, cast.bob.pk, cast.room.pk,
    )  # fmt: skip
    assert (row.prompt_tokens, row.completion_tokens) == (
        call.tokens.prompt,
        call.tokens.completion,
    )
    # The simulator reports no cache or reasoning details: recorded as none, not guessed.
    assert (usage["cached_tokens"], usage["reasoning_tokens"]) == (0, 0)
    assert (row.cached_tokens, row.reasoning_tokens) == (0, 0)
    counter = _client_sync().get(_keys(None, cast.team.pk, None, month_key())[2])
    assert int(counter) == call.tokens.total  # the reservation became what was used


def test_a_spent_budget_refuses_before_the_model_is_asked(cast, tiers, simulator):
    TeamLimit.objects.create(team=cast.team, monthly_tokens=1_000)
    usage_record(
        user=cast.alice, team_id=cast.team.pk, tier="fast", model="sim-fast", feature="qa",
        status="ok", prompt_tokens=900, completion_tokens=100, tokens_estimated=False,
        duration_ms=10,
    )  # fmt: skip

    with pytest.raises(QuotaExceeded) as refused:
        metered.complete_sync(meter=_meter(cast), tier=tier_get("review"), request=_review("x"))

    assert (refused.value.reason, refused.value.code, refused.value.status) == (
        "team_budget", "quota", 429,
    )  # fmt: skip
    assert simulator.simulator.requests == 0
    row = UsageEvent.objects.get(feature="review")
    assert (row.status, row.error_kind) == (UsageStatus.REFUSED, "team_budget")


def test_a_failed_call_frees_its_reservation_and_is_recorded_as_an_error(
    cast, tiers, simulator, settings
):
    settings.FLINT_MODEL_RETRIES = 0
    TeamLimit.objects.create(team=cast.team, monthly_tokens=1_000_000)

    with pytest.raises(ModelError) as failed:
        metered.complete_sync(
            meter=_meter(cast), tier=tier_get("review"), request=_review("[[sim:fault=500]]")
        )

    assert failed.value.kind == "model_down"
    row = UsageEvent.objects.get(feature="review")
    assert (row.status, row.error_kind, row.prompt_tokens, row.completion_tokens) == (
        UsageStatus.ERROR, "model_down", 0, 0,
    )  # fmt: skip
    counter = _client_sync().get(_keys(None, cast.team.pk, None, month_key())[2])
    assert int(counter) == 0


def test_without_the_servers_counts_both_sides_are_estimated_one_way():
    tokens = metered.tokens_used(None, prompt_estimate=40, text="def f():\n    return 2\n")
    assert tokens == metered.Tokens(40, count_tokens("def f():\n    return 2\n"), True)
    request = ModelRequest(messages=[{"role": "user", "content": "hello there"}])
    tools = [{"type": "function", "function": {"name": "finish", "parameters": {}}}]
    with_tools = ModelRequest(messages=request.messages, tools=tools)
    assert metered.request_tokens(with_tools) > metered.request_tokens(request) > 0


def test_the_chat_wire_reads_cached_and_reasoning_tokens_from_the_usage_details():
    sent = {
        "prompt_tokens": 2006, "completion_tokens": 300, "total_tokens": 2306,
        "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 192, "audio_tokens": 0},
    }  # fmt: skip

    usage = usage_of(sent)

    assert (usage["cached_tokens"], usage["reasoning_tokens"]) == (1920, 192)
    assert usage["prompt_tokens"] == 2006  # the rest as sent
    tokens = metered.tokens_used(usage, prompt_estimate=9, text="")
    assert tokens == metered.Tokens(2006, 300, False, cached=1920, reasoning=192)
    # Servers that send no details, or nulls, report none; no usage stays None.
    bare = {"prompt_tokens": 5, "completion_tokens": 1}
    assert usage_of(bare) == {**bare, "cached_tokens": 0, "reasoning_tokens": 0}
    nulls = {**bare, "prompt_tokens_details": None, "completion_tokens_details": {"x": 1}}
    assert (usage_of(nulls)["cached_tokens"], usage_of(nulls)["reasoning_tokens"]) == (0, 0)
    assert usage_of(None) is None


class _CountingWire(ChatWire):
    """A second wire, as the Responses wire will be: the metered path does not change."""

    name = "counting"

    def __init__(self) -> None:
        self.calls = 0

    def complete_sync(self, tier, request):
        self.calls += 1
        return super().complete_sync(tier, request)


def test_the_tier_names_its_wire_and_the_path_does_not_care_which(
    cast, tiers, simulator, settings, monkeypatch
):
    simulator.simulator.rules = rules_from([{"match": "check", "reply": "Fine."}])
    wire = _CountingWire()
    monkeypatch.setitem(gateway.WIRES, "counting", wire)
    review = {**settings.FLINT_MODEL_TIERS["review"], "wire": "counting"}
    settings.FLINT_MODEL_TIERS = {**settings.FLINT_MODEL_TIERS, "review": review}

    call = metered.complete_sync(
        meter=_meter(cast), tier=tier_get("review"), request=_review("check")
    )

    assert (call.result.text, wire.calls) == ("Fine.", 1)
    assert UsageEvent.objects.filter(feature="review", status=UsageStatus.OK).count() == 1

    settings.FLINT_MODEL_TIERS = {
        **settings.FLINT_MODEL_TIERS, "review": {**review, "wire": "carrier-pigeon"},
    }  # fmt: skip
    with pytest.raises(ModelError) as unknown:
        metered.complete_sync(meter=_meter(cast), tier=tier_get("review"), request=_review("x"))
    assert unknown.value.kind == "model_down" and "'carrier-pigeon' wire" in unknown.value.message
