"""A node's shutdown never waits for ever on a background loop (the CI hang of
test_live_nodes_beat_on_their_own): Python 3.11's asyncio.wait_for loses a cancellation that
arrives in the loop iteration in which the awaited event is set, so a loop woken by commits ran on
after its stop. Every bounded wait goes through federation.waiting.within (ruff bans wait_for), and
the supervisor asks again should a library swallow a cancellation all the same."""

import asyncio

import pytest

from federation.waiting import within
from node import supervisor as supervising
from node.supervisor import Supervisor


async def woken_loop(wake: asyncio.Event, rounds: list[int]) -> None:
    """The shape of the replicator's idle wait: sleep until woken or the heartbeat is due."""
    while True:
        await within(600, wake.wait())
        wake.clear()
        rounds.append(1)


async def test_a_loop_cancelled_as_its_event_is_set_stops() -> None:
    wake, rounds = asyncio.Event(), []
    task = asyncio.create_task(woken_loop(wake, rounds))
    await asyncio.sleep(0)  # the loop now waits
    wake.set()  # a commit's notify ...
    task.cancel()  # ... in the same loop iteration as the node's stop
    await asyncio.wait({task}, timeout=1)
    assert task.cancelled(), "the loop swallowed its cancellation and runs on"
    assert rounds == []


async def test_within_says_whether_the_wait_completed() -> None:
    event = asyncio.Event()
    assert await within(0.01, event.wait()) is False
    event.set()
    assert await within(0.01, event.wait()) is True
    assert await within(None, event.wait()) is True


async def test_a_task_that_swallows_its_cancellation_is_still_stopped(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(supervising, "STOP_RECHECK_S", 0.05)
    swallowed = []

    async def stubborn() -> None:
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed.append(1)  # as a library with the wait_for defect would

    tasks = Supervisor()
    stop = tasks.spawn("stubborn", stubborn)
    await asyncio.sleep(0)
    async with asyncio.timeout(5):
        await stop()
    assert swallowed == [1]
    assert [s.state for s in tasks.states()] == ["stopped"]
    assert "still runs after its cancellation" in caplog.text
