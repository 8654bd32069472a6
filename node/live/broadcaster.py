"""Live incidents: every incident version this node stores — written here or brought in by
replication — pushed to the screens connected to it, within moments of its commit.

Nothing in the write path changes: a commit listener (`Database.on_commit`) only wakes the
broadcaster, which then reads the incident versions logged after the last position it has
seen (the records table is the change feed, docs/decisions/0001) and hands each to the
subscribers whose subtree holds it. So a village's incident reaches each ancestor's screens as
soon as replication has stored it there, level by level.

Each subscriber has a bounded queue. One that falls behind is closed rather than allowed to
hold memory or slow the others; its client reconnects with `Last-Event-ID` and is replayed
what it missed from the log. The loop survives any exception (logged, retried after a pause),
and `stop()` ends every stream.
"""

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from federation.retry import Health, Unwatched
from node.db import Database
from node.live import repository
from node.supervisor import Stop, Supervisor
from schemas.codes import LEVEL_BY_LENGTH, is_within
from schemas.live import LiveIncident, LiveSnapshot, Place

log = logging.getLogger("tiersync.live")
QUEUE_MAX = 256
READ_LIMIT = 500
SNAPSHOT_LIMIT = 20
REPLAY_LIMIT = 500
RETRY_S = 1.0
TASK = "live-feed"
HEARTBEAT_S = 15.0
HIGH_PRIORITY = frozenset({"fire", "public_security"})
"""Categories alerted when the reporter set no priority of their own."""
"""Categories a centre must see at once: fire and public-security incidents raise the alert."""
_LENGTHS = sorted(LEVEL_BY_LENGTH)


@dataclass(eq=False)
class Subscriber:
    """One connected screen: its subtree and its bounded queue (None in it ends the stream)."""

    unit: str
    queue: asyncio.Queue[LiveIncident | None] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_MAX)
    )
    dropped: bool = False

    def offer(self, item: LiveIncident) -> bool:
        """Queue an event; False (and the stream ends) when the queue is full."""
        try:
            self.queue.put_nowait(item)
            return True
        except asyncio.QueueFull:
            self.close(dropped=True)
            return False

    def close(self, *, dropped: bool = False) -> None:
        self.dropped = self.dropped or dropped
        while not self.queue.empty():  # make room for the end marker
            self.queue.get_nowait()
        self.queue.put_nowait(None)


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


class Broadcaster:
    """Reads new incident versions after each commit and fans them out to subscribers."""

    def __init__(self, db: Database, *, node_code: str, heartbeat_s: float = HEARTBEAT_S) -> None:
        self.db = db
        self.node_code = node_code
        self.heartbeat_s = heartbeat_s  # a keep-alive comment on idle streams this often
        self.last_seq = 0
        self.subscribers: set[Subscriber] = set()
        self.errors = 0
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop_task: Stop | None = None
        self.health: Health = Unwatched()

    # --- lifecycle -------------------------------------------------------------------------

    def start(self, supervisor: Supervisor | None = None) -> None:
        """Start on the running event loop, from the log's current head (no history replayed),
        under the node's supervisor when given."""
        self._loop = asyncio.get_running_loop()
        self.last_seq = self._head()
        if supervisor is not None:
            self.health = supervisor.reporter(TASK)
            self._stop_task = supervisor.spawn(TASK, self._run)
        else:
            self._task = asyncio.create_task(self._run(), name=f"live-incidents-{self.node_code}")

    async def stop(self) -> None:
        """End every stream and the loop (the app's lifespan calls this on shutdown)."""
        for sub in list(self.subscribers):
            sub.close()
        self.subscribers.clear()
        if self._stop_task is not None:
            await self._stop_task()
            self._stop_task = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._loop = None

    def notify(self) -> None:
        """Commit listener: called in the writing thread, so it only schedules a wake-up."""
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop closed during shutdown
            loop.call_soon_threadsafe(self._wake.set)

    # --- subscribers -----------------------------------------------------------------------

    def subscribe(self, unit: str) -> Subscriber:
        if not self.subscribers:
            # Nobody watched: `drain` did not follow the log. The head now is at or before
            # what the new stream's snapshot will read, so nothing after it is missed (what
            # the snapshot holds already, the stream does not send twice).
            self.last_seq = max(self.last_seq, self._head())
        sub = Subscriber(unit)
        self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    async def snapshot(self, unit: str) -> LiveSnapshot:
        """The latest incident versions of a subtree and the log position they are read at."""
        return await asyncio.to_thread(self._snapshot, unit)

    async def replay(self, unit: str, after: int) -> list[LiveIncident] | None:
        """What a reconnecting client missed since `after`; None when more than can be
        replayed (the client then starts again from a snapshot)."""
        return await asyncio.to_thread(self._replay, unit, after)

    # --- the loop --------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.drain()
            except Exception as exc:  # the database may be busy or closing: log, pause, go on
                self.errors += 1
                log.exception("live incident feed: reading new incidents failed; retrying")
                self.health.failed(exc)
                await asyncio.sleep(RETRY_S)
                self._wake.set()
            else:
                self.health.ok()

    async def drain(self) -> int:
        """Hand every incident version logged since the last one seen to its subscribers;
        returns how many versions were read."""
        if not self.subscribers:  # nobody watching: nothing read (subscribe catches up)
            return 0
        read = 0
        while True:
            items = await asyncio.to_thread(self._read_after, self.last_seq)
            for item in items:
                self.last_seq = max(self.last_seq, item.seq)
                self._fan_out(item)
            read += len(items)
            if len(items) < READ_LIMIT:
                return read

    def _fan_out(self, item: LiveIncident) -> None:
        for sub in list(self.subscribers):
            if is_within(item.unit, sub.unit) and not sub.offer(item):
                self.subscribers.discard(sub)
                log.warning("live incident feed: a client fell behind and was disconnected")

    # --- reads (in a worker thread) --------------------------------------------------------

    def _head(self) -> int:
        with self.db.read() as conn:
            return repository.head(conn)

    def _read_after(self, after: int) -> list[LiveIncident]:
        with self.db.read() as conn:
            return self._events(conn, repository.incidents_after(conn, after, READ_LIMIT))

    def _snapshot(self, unit: str) -> LiveSnapshot:
        with self.db.read() as conn:
            head = repository.head(conn)
            items = self._events(conn, repository.latest_in(conn, unit, SNAPSHOT_LIMIT))
        return LiveSnapshot(unit=unit, head=head, items=items)

    def _replay(self, unit: str, after: int) -> list[LiveIncident] | None:
        with self.db.read() as conn:
            rows = repository.replay_in(conn, unit, after, REPLAY_LIMIT + 1)
            if len(rows) > REPLAY_LIMIT:
                return None
            return self._events(conn, rows)

    def _events(self, conn: Any, rows: Iterable[Any]) -> list[LiveIncident]:
        rows = list(rows)
        codes = {code for row in rows for code in self._place_codes(row.unit)}
        names = repository.names(conn, list(codes))
        return [self._event(row, names) for row in rows]

    def _place_codes(self, unit: str) -> list[str]:
        return [unit[:n] for n in _LENGTHS if len(self.node_code) < n <= len(unit)]

    def _event(self, row: Any, names: dict[str, str]) -> LiveIncident:
        data = row.data if isinstance(row.data, dict) else {}
        category = str(data.get("category") or "other")
        place = [
            Place(unit=code, name=names.get(code, code), level=LEVEL_BY_LENGTH[len(code)])
            for code in self._place_codes(row.unit)
        ]
        return LiveIncident(
            id=row.id,
            seq=row.seq,
            unit=row.unit,
            place=place,
            category=category,
            title=str(data.get("title") or "")[:200],
            status=str(data.get("status") or "reported"),
            priority=_priority(data.get("priority"), category),
            reported_at=_moment(data.get("reported_at")),
            grid=data.get("grid") if isinstance(data.get("grid"), str) else None,
            deleted=bool(row.deleted),
            received_at=_moment(row.updated_at) or datetime.now(UTC),
        )


def _priority(given: object, category: str) -> str:
    """The reporter's own priority when set, else the category's."""
    if given in ("high", "normal"):
        return str(given)
    return "high" if category in HIGH_PRIORITY else "normal"
