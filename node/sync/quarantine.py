"""What an operator does with the quarantine (`tiersync quarantine`, issue 10, defect 9):
list it, apply it again (`Receiver.retry_quarantined`, also run when a node starts), or
release entries that will never apply (dropped, with an audit entry).

A serving node also retries on its own (`QuarantineRetrier`, a task under the supervisor):
while it holds entries as `clock ahead`, every `RETRY_EVERY_S` it applies again those whose
version this node's clock now accepts (the writer's clock, or this node's own, was set right),
so nothing stays held once the clocks heal; holding none, it waits for a commit.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from federation.hlc import ceiling as hlc_ceiling
from federation.hlc import parse_version
from federation.retry import Health, Unwatched, backoff_delay
from federation.waiting import within
from node.audit import service as audit
from node.db import Database
from node.signals import CommitSignal
from node.sync import repository
from node.sync.receive import CLOCK_AHEAD, Receiver

log = logging.getLogger("tiersync.quarantine")
RETRY_EVERY_S = 60.0  # how often a serving node looks for entries whose cause went away
IDLE_LONGEST_S = 3600.0  # with none held: it waits for a commit, at most this long
TASK = "quarantine-retry"


def list_entries(db: Database, *, offset: int = 0, limit: int = 100) -> list[dict[str, Any]]:
    """The newest entries first, without their payload (it may hold personal data)."""
    with db.read() as conn:
        rows = repository.list_quarantined(conn, limit=limit, offset=offset)
    return [
        {
            "id": r.id,
            "child": r.child,
            "record_id": str(r.record_id),
            "kind": r.kind,
            "unit": r.unit,
            "version": r.version,
            "reason": r.reason,
            "at": r.at,
        }
        for r in rows
    ]


def count(db: Database) -> int:
    with db.read() as conn:
        return repository.quarantined_count(conn)


@dataclass(frozen=True)
class Released:
    dropped: int
    kept: list[int]  # deletions held as `clock ahead`: they apply once the clock reaches them


def release(db: Database, *, ids: list[int], actor: str, force: bool = False) -> Released:
    """Drop these entries for good (they are never applied).

    A deletion held as `clock ahead` is kept unless `force`: it applies by itself once this
    node's clock reaches its version, while dropping it would leave the record alive here and
    above for good (its writer may have collected its tombstone, docs/decisions/0702)."""
    with db.write(notify=False) as txn:
        rows = repository.quarantined_rows(txn.conn, ids)
        kept = [] if force else [r.id for r in rows if _held_deletion(r)]
        dropped = repository.delete_quarantined(txn.conn, [r.id for r in rows if r.id not in kept])
        audit.in_txn(
            txn,
            actor=actor,
            action="quarantine.release",
            outcome="ok",
            detail=f"{dropped} entr{'y' if dropped == 1 else 'ies'} dropped: {ids[:20]}"
            + (f"; deletions held as clock ahead kept: {kept[:20]}" if kept else "")
            + ("; forced" if force else ""),
        )
    return Released(dropped=dropped, kept=kept)


def _held_deletion(row: Any) -> bool:
    payload = row.payload if isinstance(row.payload, dict) else {}
    return bool(row.reason.startswith(CLOCK_AHEAD) and payload.get("deleted") is True)


def due_clock_ahead(db: Database) -> list[int]:
    """The entries held as `clock ahead` whose version this node's clock accepts now."""
    return clock_ahead(db)[0]


def clock_ahead(db: Database) -> tuple[list[int], int]:
    """The due entries held as `clock ahead`, and how many are held as such."""
    with db.read() as conn:
        rows = repository.quarantined_for(conn, CLOCK_AHEAD)
    ceiling = hlc_ceiling(db.clock(), db.max_skew_ms)
    due = []
    for qid, version in rows:
        try:
            hlc, _origin = parse_version(version)
        except ValueError:
            continue
        if hlc <= ceiling:
            due.append(qid)
    return due, len(rows)


class QuarantineRetrier:
    """Every `every_s`, apply again what the quarantine holds for a cause that went away.
    An iteration that raises (a local database error) is reported and retried with backoff;
    the loop itself never ends (and the supervisor restarts it if it did)."""

    def __init__(
        self,
        db: Database,
        receiver: Receiver,
        *,
        health: Health | None = None,
        every_s: float = RETRY_EVERY_S,
        retry_max_s: float = 30.0,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.db = db
        self.receiver = receiver
        self.health = health or Unwatched()
        self.every_s = every_s
        self.retry_max_s = retry_max_s
        self.sleep = sleep
        self.applied = 0  # entries that left the quarantine through this task
        self.held = 0  # entries held as `clock ahead` at the last look
        self._signal: CommitSignal | None = None

    def run_once(self) -> int:
        """One look; returns how many entries left the quarantine."""
        due, self.held = clock_ahead(self.db)
        if not due:
            return 0
        result = self.receiver.retry_quarantined(due)
        left = result.tried - result.left
        self.applied += left
        log.info("quarantine retried (clock now within bound): %s", result)
        return left

    async def run_forever(self) -> None:
        failures = 0
        while True:
            committed = self._committed()  # before the look: a commit after it is not missed
            try:
                await asyncio.to_thread(self.run_once)
            except Exception as exc:
                failures += 1
                self.health.failed(exc)
                log.warning("quarantine retry failed: %s", exc)
                await self.sleep(
                    backoff_delay(failures, low=1.0, cap=self.retry_max_s, rejected=False)
                )
                continue
            failures = 0
            self.health.ok()
            if self.held:  # a clock may be set right any moment: look again soon
                await self.sleep(self.every_s)
                continue
            # Nothing held for its clock: only a commit (a push, which may quarantine) can
            # change that; meanwhile nothing is read. The commits of a burst: one look.
            if not await within(IDLE_LONGEST_S, committed.wait()):
                continue
            await self.sleep(self.every_s)

    def _committed(self) -> asyncio.Event:
        """Set by the next commit of this process that changed the log."""
        if self._signal is None:
            self._signal = CommitSignal(asyncio.get_running_loop())
            self.db.on_commit(self._signal.notify)
        return self._signal.current()
