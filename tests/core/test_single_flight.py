"""SingleFlight: concurrent asks for one key share one read (editor/core/single_flight.py)."""

from __future__ import annotations

import asyncio

import pytest

from editor.core.single_flight import SingleFlight


class Reader:
    def __init__(self, answers=None, fail: Exception | None = None):
        self.calls = 0
        self.answers = list(answers or [])
        self.fail = fail
        self.gate = asyncio.Event()

    async def read(self):
        self.calls += 1
        await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        return self.answers.pop(0) if self.answers else f"answer {self.calls}"


async def test_asks_that_arrive_while_a_read_is_in_flight_share_it():
    flights, reader = SingleFlight(), Reader()
    asks = [asyncio.create_task(flights.run("k", reader.read)) for _ in range(50)]
    await asyncio.sleep(0)
    reader.gate.set()
    results = await asyncio.gather(*asks)
    assert reader.calls == 1
    assert [answer for answer, _ in results] == ["answer 1"] * 50
    assert [read_here for _, read_here in results].count(True) == 1


async def test_other_keys_read_for_themselves():
    flights, reader = SingleFlight(), Reader()
    reader.gate.set()
    assert (await flights.run("a", reader.read))[0] == "answer 1"
    assert (await flights.run("b", reader.read))[0] == "answer 2"


async def test_without_a_keep_a_later_ask_reads_again():
    flights, reader = SingleFlight(), Reader()
    reader.gate.set()
    await flights.run("k", reader.read)
    assert await flights.run("k", reader.read) == ("answer 2", True)


async def test_a_landed_answer_is_kept_briefly_and_only_where_the_caller_allows():
    flights, reader = SingleFlight(keep_s=0.2), Reader()
    reader.gate.set()
    await flights.run("k", reader.read)
    assert await flights.run("k", reader.read) == ("answer 1", False)
    assert await flights.run("k", reader.read, landed_ok=lambda _a: False) == ("answer 2", True)
    await asyncio.sleep(0.25)
    assert await flights.run("k", reader.read) == ("answer 3", True)


async def test_an_answer_that_is_not_shareable_is_read_again_by_each_waiter():
    flights = SingleFlight(keep_s=10, shareable=lambda answer: answer != "refused")
    reader = Reader(answers=["refused"] * 4)
    asks = [asyncio.create_task(flights.run("k", reader.read)) for _ in range(3)]
    await asyncio.sleep(0)
    reader.gate.set()
    results = await asyncio.gather(*asks)
    assert reader.calls == 3  # the first read, then one each for the two waiters
    assert all(read_here for _, read_here in results)
    await flights.run("k", reader.read)  # nor is it kept
    assert reader.calls == 4


async def test_a_failed_read_fails_every_waiter_and_is_not_kept():
    flights, reader = SingleFlight(keep_s=10), Reader(fail=RuntimeError("database away"))
    asks = [asyncio.create_task(flights.run("k", reader.read)) for _ in range(3)]
    await asyncio.sleep(0)
    reader.gate.set()
    for outcome in await asyncio.gather(*asks, return_exceptions=True):
        assert isinstance(outcome, RuntimeError)
    reader.fail = None
    assert await flights.run("k", reader.read) == ("answer 2", True)


async def test_the_first_asker_going_away_does_not_cancel_the_read_others_wait_on():
    flights, reader = SingleFlight(), Reader()
    first = asyncio.create_task(flights.run("k", reader.read))
    await asyncio.sleep(0)
    second = asyncio.create_task(flights.run("k", reader.read))
    await asyncio.sleep(0)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    reader.gate.set()
    assert await second == ("answer 1", False)
    assert reader.calls == 1
