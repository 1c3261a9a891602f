"""The room socket's relay admits each model request through the quotas (editor/assist/relay.py).

Real ASGI app, real Redis counters, the simulator as the model server.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from asgiref.sync import sync_to_async

from editor.usage import limits
from editor.usage.models import TeamLimit, UsageEvent, UserLimit
from tests.support.sockets import room_socket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fresh_counters(settings):
    settings.FLINT_CHANNEL_PREFIX = f"relay-quota-{uuid.uuid4().hex[:8]}"
    limits.limits_forget()
    yield
    limits.limits_forget()


async def _final(socket, request_id: str) -> dict:
    while True:
        frame = await socket.receive_json_from(timeout=5)
        if frame.get("request_id") == request_id and frame["type"] in (
            "assist.done",
            "assist.error",
        ):
            return frame


def _ask(request_id: str) -> dict:
    return {"type": "assist.ask", "request_id": request_id, "question": "what is this?"}


async def test_a_second_request_over_the_rate_limit_is_refused_with_its_reason(cast, tiers):
    await sync_to_async(UserLimit.objects.create)(user=cast.bob, requests_per_minute=1)
    bob = await room_socket(cast.bob, cast.room)

    await bob.send_json_to(_ask("q1"))
    assert (await _final(bob, "q1"))["status"] == "ok"
    await bob.send_json_to(_ask("q2"))
    refused = await _final(bob, "q2")

    assert refused["type"] == "assist.error" and refused["kind"] == "quota"
    assert refused["message"].startswith("Rate limit reached: 1 requests a minute")
    await _usage_row("q1")  # written just after q1's done frame
    rows = await sync_to_async(list)(
        UsageEvent.objects.order_by("id").values_list("status", "request_id")
    )
    assert rows == [("ok", "q1"), ("refused", "q2")]
    await bob.disconnect()


async def _usage_row(request_id: str, timeout: float = 5.0) -> UsageEvent:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        row = await sync_to_async(UsageEvent.objects.filter(request_id=request_id).first)()
        if row is not None:
            return row
        assert asyncio.get_running_loop().time() < deadline, f"no usage row for {request_id}"
        await asyncio.sleep(0.02)


async def test_the_team_budget_is_charged_what_the_answers_used(cast, tiers):
    # Room for one reservation (prompt + max output tokens), not two.
    await sync_to_async(TeamLimit.objects.create)(team=cast.team, monthly_tokens=6000)
    bob = await room_socket(cast.bob, cast.room)

    await bob.send_json_to(_ask("q1"))
    assert (await _final(bob, "q1"))["status"] == "ok"
    # The usage row is written just after the done frame (off the answer's hot path), and
    # the budget is settled before it: once the row is there, so is the charge.
    event = await _usage_row("q1")
    used = event.prompt_tokens + event.completion_tokens

    from editor.usage.quotas import _client_sync, _keys, month_key

    counter = _client_sync().get(_keys(None, cast.team.pk, None, month_key())[2])
    assert int(counter) == used  # the reservation was turned into what the answer used
    await bob.disconnect()
