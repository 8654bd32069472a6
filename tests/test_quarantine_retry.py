"""Issue 10, rule of bounded clock skew, found by the simulator (issue 16, ci seeds 39, 73, 75,
90 …): a version held in quarantine as `clock ahead` because the parent's own clock ran behind
(or its writer's ran ahead) is applied again without an operator once the clocks are right,
by a background task under the supervisor that survives any error, backs off, and shows in
/readyz and `tiersync status`."""

import asyncio
import contextlib
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from federation.hlc import LOGICAL_BITS, wall_ms
from federation.retry import Health
from node.ops.status import node_status
from node.sync import quarantine
from node.sync.quarantine import TASK, QuarantineRetrier
from node.sync.receive import receiver
from tests.cluster import Cluster
from tests.factories import household as household_body
from tests.test_edge_poisons import TOWNSHIP, VILLAGE, push, wire

HOUR_MS = 3_600_000


def household(hlc: int) -> dict[str, Any]:
    return wire({"address": "1 Main Street", "head_name": "Tashi"}, version=f"{hlc:016x}.{VILLAGE}")


async def test_a_version_held_while_the_parents_clock_ran_behind_is_applied_once_it_is_right(
    cluster: Cluster,
) -> None:
    parent = await cluster.add(TOWNSHIP, "Kangyang Town")
    child = await cluster.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
    parent.ctx.db.clock = lambda: wall_ms() - HOUR_MS  # the township's clock an hour behind
    record = household(wall_ms() << LOGICAL_BITS)  # the village's clock is right
    answer = await push(parent, child, records=[record])
    assert answer.json()["quarantined"] == 1, answer.text
    retrier = QuarantineRetrier(parent.ctx.db, receiver(parent.ctx))
    assert retrier.run_once() == 0  # still behind: it stays held
    assert (await parent.client.get(f"/api/v1/records/{record['id']}")).status_code == 404

    parent.ctx.db.clock = wall_ms  # the clock set right (NTP)
    assert retrier.run_once() == 1
    held = await parent.client.get(f"/api/v1/records/{record['id']}")
    assert held.status_code == 200 and held.json()["version"] == record["version"]
    assert quarantine.count(parent.ctx.db) == 0
    assert node_status(parent.ctx).quarantined == 0


async def test_a_version_still_ahead_stays_held(cluster: Cluster) -> None:
    parent = await cluster.add(TOWNSHIP, "Kangyang Town")
    child = await cluster.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
    ahead = household((wall_ms() + 24 * HOUR_MS) << LOGICAL_BITS)
    assert (await push(parent, child, records=[ahead])).json()["quarantined"] == 1
    assert QuarantineRetrier(parent.ctx.db, receiver(parent.ctx)).run_once() == 0
    assert quarantine.count(parent.ctx.db) == 1


class Seen(Health):
    def __init__(self) -> None:
        self.events: list[str] = []

    def ok(self) -> None:
        self.events.append("ok")

    def failed(self, exc: BaseException) -> None:
        self.events.append(f"failed {exc.__class__.__name__}")


async def test_the_retrier_survives_a_database_error_and_backs_off(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    parent = await cluster.add(TOWNSHIP, "Kangyang Town")
    health, sleeps = Seen(), []
    faults = {"left": 2}

    def flaky(db: Any) -> tuple[list[int], int]:
        if faults["left"]:
            faults["left"] -= 1
            raise OperationalError("SELECT …", {}, Exception("database is locked"))
        return [], 1  # one entry held, its version still ahead: looked at again at its pace

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 4:
            raise KeyboardInterrupt  # end the test's loop (the node's never ends)

    monkeypatch.setattr(quarantine, "clock_ahead", flaky)
    retrier = QuarantineRetrier(
        parent.ctx.db, receiver(parent.ctx), health=health, every_s=60.0, sleep=sleep
    )
    with pytest.raises(KeyboardInterrupt):
        await retrier.run_forever()
    assert health.events == ["failed OperationalError", "failed OperationalError", "ok", "ok"]
    assert sleeps[0] < sleeps[1] <= 30.0 and sleeps[2:] == [60.0, 60.0]  # backoff, then its pace


async def test_holding_nothing_the_retrier_waits_for_a_commit_not_a_timer(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    parent = await cluster.add(TOWNSHIP, "Kangyang Town")
    looks, sleeps = [], []
    real = quarantine.clock_ahead

    def counted(db: Any) -> tuple[list[int], int]:
        looks.append(1)
        return real(db)

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    monkeypatch.setattr(quarantine, "clock_ahead", counted)
    retrier = QuarantineRetrier(parent.ctx.db, receiver(parent.ctx), every_s=0.01, sleep=sleep)
    task = asyncio.create_task(retrier.run_forever())
    try:
        await asyncio.sleep(0.3)
        assert (len(looks), sleeps) == (1, [])  # nothing held: no look on a timer
        await parent.write(household_body(unit=TOWNSHIP))  # a commit (a push would be one)
        for _ in range(100):
            if len(looks) > 1:
                break
            await asyncio.sleep(0.02)
        assert len(looks) > 1 and sleeps[:1] == [0.01]  # looked again, its pace after the commit
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_serving_node_runs_the_retrier_under_its_supervisor(cluster: Cluster) -> None:
    parent = await cluster.add(TOWNSHIP, "Kangyang Town")
    [state] = [s for s in parent.ctx.supervisor.states() if s.name == TASK]
    assert state.state == "running"
    ready = (await parent.client.get("/readyz")).json()
    assert {"name": TASK, "state": "running"} in ready["tasks"]
