"""Every background task of a serving node runs under one `Supervisor` (issue 10, defect 1).

A task that raises is logged with its traceback, restarted after a capped exponential backoff
with jitter, and counted; it never dies silently while the node keeps answering 201. Each task
has a `TaskState` that `/readyz`, `tiersync status` and `/metrics` read:

- running: its last iteration succeeded (or none failed yet);
- failing: its iterations raise (since `failing_since`); a parent that cannot be reached is
  not a failure of the task (the link shows in `status` as the upstream error), anything
  else is: a local database error, a parent's answer that breaks the protocol, a refusal;
- dead: it exited or was cancelled without being asked to, or it has been failing for longer
  than `dead_after_s` (it is still retried: a dead task that recovers is running again);
- stopped: the node stopped it.

Loops that retry on their own (the replicator, the directive puller, the WAL checkpointer's
thread) report each iteration through a `federation.retry.Health` (`reporter(name)`); the
supervisor restarts them only when they raise out of their loop.

`tiersync status` runs in another process: the states are published to a small JSON file in
the data directory, on every change and every `PUBLISH_S` while the node serves.
"""

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import orjson

from federation.errors import PeerUnavailable
from federation.retry import backoff_delay
from federation.waiting import within
from schemas.errors import clip

log = logging.getLogger("tiersync.supervisor")

TASKS_FILE = "tasks.json"
PUBLISH_S = 10.0  # a serving node rewrites its tasks file at least this often
UNREADY_AFTER_S = 30.0  # failing this long: /readyz answers 503 and `status` exits 1
DEAD_AFTER_S = 600.0  # failing this long: the task counts as dead
STOP_RECHECK_S = 5.0  # a task still running this long after its cancellation is cancelled again
ERROR_CHARS = 300

State = Literal["running", "failing", "dead", "stopped"]
Run = Callable[[], Awaitable[None]]
Stop = Callable[[], Awaitable[None]]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class TaskState:
    name: str
    state: State
    restarts: int
    last_error: str | None  # exception class + clipped message
    failing_since: datetime | None
    last_ok: datetime | None


def describe(exc: BaseException) -> str:
    """The exception's class and first line, clipped: fit for logs, status and /readyz (the
    messages of our errors carry no secret; a driver's first line names no password)."""
    first = (str(exc).strip().splitlines() or [""])[0]
    return clip(f"{exc.__class__.__name__}: {first}" if first else exc.__class__.__name__)[
        :ERROR_CHARS
    ]


class Reporter:
    """One task's `federation.retry.Health`: what its loop says after each iteration."""

    def __init__(self, supervisor: "Supervisor", name: str) -> None:
        self._supervisor = supervisor
        self.name = name

    def ok(self) -> None:
        self._supervisor._ok(self.name)

    def failed(self, exc: BaseException) -> None:
        self._supervisor._failed(self.name, exc)


class Supervisor:
    """Runs, restarts and watches a node's background tasks; `states()` says how each is."""

    def __init__(
        self,
        *,
        now: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        retry_min_s: float = 0.5,
        retry_max_s: float = 30.0,
        dead_after_s: float = DEAD_AFTER_S,
        unready_after_s: float = UNREADY_AFTER_S,
        state_file: Path | None = None,
    ) -> None:
        self.now = now
        self.sleep = sleep
        self.retry_min_s = retry_min_s
        self.retry_max_s = retry_max_s
        self.dead_after_s = dead_after_s
        self.unready_after_s = unready_after_s
        self.state_file = state_file
        self._lock = threading.Lock()  # reporters are called from worker threads too
        self._states: dict[str, TaskState] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._stopping: set[str] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Event | None = None
        self._publisher: asyncio.Task[None] | None = None
        self._closing = False
        self._notes: dict[str, str] = {}  # e.g. "clock": this node's clock is off

    # --- what the node and its readers see -------------------------------------------------

    def states(self) -> list[TaskState]:
        """Every task's state, a long-failing one counted as dead."""
        with self._lock:
            states = list(self._states.values())
        return [self._aged(s) for s in states]

    def set_note(self, key: str, message: str | None) -> None:
        """A condition an operator must hear of that is no task's failure (a wrong clock)."""
        with self._lock:
            changed = self._notes.get(key) != message
            if message is None:
                self._notes.pop(key, None)
            else:
                self._notes[key] = message
        if changed:
            self._wake_publisher()

    def notes(self) -> list[str]:
        with self._lock:
            return list(self._notes.values())

    def problems(self) -> list[str]:
        """Tasks that are dead, or failing for longer than `unready_after_s` (see `problems`)."""
        return problems(self.states(), now=self.now(), unready_after_s=self.unready_after_s)

    def _aged(self, s: TaskState) -> TaskState:
        limit = timedelta(seconds=self.dead_after_s)
        if s.state == "failing" and s.failing_since and self.now() - s.failing_since > limit:
            return replace(s, state="dead")
        return s

    # --- tasks -----------------------------------------------------------------------------

    def reporter(self, name: str) -> Reporter:
        """The Health a task's own loop reports to; registers the task as running."""
        self._set(name, lambda s: s)
        return Reporter(self, name)

    def spawn(self, name: str, run: Run) -> Stop:
        """Run `run()` as task `name` on the running loop, restarting it whenever it raises or
        returns; the returned coroutine function stops it (and marks it stopped)."""
        self._attach()
        self._set(name, lambda s: replace(s, state="running"))
        self._tasks[name] = asyncio.create_task(self._supervise(name, run), name=name)

        async def stop() -> None:
            await self.stop_task(name)

        return stop

    async def stop_task(self, name: str) -> None:
        task = self._tasks.pop(name, None)
        self._stopping.add(name)
        if task is not None:
            await _cancel_until_done(task, name)
        self.stopped(name)

    def stopped(self, name: str) -> None:
        """Mark a task stopped by the node (also for threads stopped by their owner)."""
        self._set(name, lambda s: replace(s, state="stopped"))

    async def _supervise(self, name: str, run: Run) -> None:
        failures = 0
        while True:
            started = self.now()
            try:
                await run()
                exc: BaseException = RuntimeError("the task returned; it should run for ever")
            except asyncio.CancelledError:
                if name in self._stopping:
                    raise
                log.error("background task %s was cancelled unexpectedly", name)
                self._set(name, lambda s: replace(s, state="dead", last_error="cancelled"))
                raise
            except Exception as error:
                exc = error
            ran_s = (self.now() - started).total_seconds()
            failures = 1 if ran_s > self.retry_max_s else failures + 1
            self._failed(name, exc, traceback=True)
            self._set(name, lambda s: replace(s, restarts=s.restarts + 1))
            delay = backoff_delay(
                failures, low=self.retry_min_s, cap=self.retry_max_s, rejected=False
            )
            await self.sleep(delay)

    # --- state changes (any thread) --------------------------------------------------------

    def _ok(self, name: str) -> None:
        now = self.now()
        self._set(
            name,
            lambda s: replace(s, state="running", failing_since=None, last_ok=now),
            quiet=True,
        )

    def _failed(self, name: str, exc: BaseException, *, traceback: bool = False) -> None:
        message = describe(exc)
        if isinstance(exc, PeerUnavailable):  # the link, not the task: status shows it
            self._set(name, lambda s: replace(s, last_error=message), quiet=True)
            return
        now = self.now()
        if traceback:
            log.error("background task %s failed; restarting it", name, exc_info=exc)
        else:
            log.error("background task %s: an iteration failed: %s", name, message)
        self._set(
            name,
            lambda s: replace(
                s,
                state="dead" if s.state == "dead" else "failing",
                last_error=message,
                failing_since=s.failing_since or now,
            ),
        )

    def _set(
        self, name: str, change: Callable[[TaskState], TaskState], *, quiet: bool = False
    ) -> None:
        with self._lock:
            before = self._states.get(name) or TaskState(
                name=name,
                state="running",
                restarts=0,
                last_error=None,
                failing_since=None,
                last_ok=None,
            )
            after = self._states[name] = change(before)
        if not quiet or after.state != before.state:
            self._wake_publisher()

    # --- publishing for `tiersync status` --------------------------------------------------

    def _attach(self) -> None:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._changed = asyncio.Event()

    def _wake_publisher(self) -> None:
        loop, changed = self._loop, self._changed
        if loop is None or changed is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(changed.set)

    def start_publishing(self) -> Stop:
        """Write the states to `state_file` on every change and every PUBLISH_S until stopped;
        the returned coroutine function stops, marks every task stopped and writes once more."""
        self._attach()
        self._publisher = asyncio.create_task(self._publish_forever(), name="task-states")

        async def stop() -> None:
            # Not cancelled: Python 3.11's wait_for can swallow a cancellation that arrives as
            # its event is set (and a state change sets it): the loop ends on the flag.
            self._closing = True
            self._wake_publisher()
            if self._publisher is not None:
                await self._publisher
            for name in [s.name for s in self.states()]:
                self.stopped(name)
            await asyncio.to_thread(self.publish)

        return stop

    async def _publish_forever(self) -> None:
        assert self._changed is not None
        while not self._closing:
            try:
                await asyncio.to_thread(self.publish)
            except Exception:  # a full disk: the next change or PUBLISH_S tries again
                log.warning("could not write the task states", exc_info=True)
            await within(PUBLISH_S, self._changed.wait())
            self._changed.clear()

    def publish(self) -> None:
        if self.state_file is None:
            return
        body = {
            "written_at": self.now().isoformat(),
            "pid": os.getpid(),
            "unready_after_s": self.unready_after_s,
            "tasks": [asdict(s) for s in self.states()],
            "notes": self.notes(),
        }
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_bytes(orjson.dumps(body, option=orjson.OPT_INDENT_2))
        tmp.replace(self.state_file)


def problems(states: list[TaskState], *, now: datetime, unready_after_s: float) -> list[str]:
    """One line per task that is dead, or failing for longer than `unready_after_s`."""
    out = []
    for s in states:
        if s.state == "dead":
            out.append(f"后台任务 {s.name} 已停止工作：{s.last_error or '已退出'}")
        elif s.state == "failing" and s.failing_since is not None:
            seconds = (now - s.failing_since).total_seconds()
            if seconds > unready_after_s:
                out.append(
                    f"后台任务 {s.name} 已持续出错 {seconds:.0f} 秒"
                    f"（重启 {s.restarts} 次）：{s.last_error}"
                )
    return out


@dataclass(frozen=True)
class Published:
    """The task states a serving node last wrote, as another process reads them."""

    written_at: datetime
    tasks: list[TaskState]
    unready_after_s: float = UNREADY_AFTER_S
    notes: tuple[str, ...] = ()

    def fresh(self, now: datetime) -> bool:
        """Written recently enough that the node is serving (else it stopped or was killed)."""
        return now - self.written_at <= timedelta(seconds=3 * PUBLISH_S)


def read_published(path: Path) -> Published | None:
    """What `publish` wrote at `path`, or None when there is no readable file."""
    try:
        body = orjson.loads(path.read_bytes())
        tasks = [
            TaskState(
                name=t["name"],
                state=t["state"],
                restarts=int(t["restarts"]),
                last_error=t["last_error"],
                failing_since=_moment(t["failing_since"]),
                last_ok=_moment(t["last_ok"]),
            )
            for t in body["tasks"]
        ]
        written = _moment(body["written_at"])
        unready = float(body.get("unready_after_s", UNREADY_AFTER_S))
        notes = tuple(str(n) for n in body.get("notes", []))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if written is None:
        return None
    return Published(written_at=written, tasks=tasks, unready_after_s=unready, notes=notes)


def _moment(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


async def _cancel_until_done(task: "asyncio.Task[None]", name: str) -> None:
    """Cancel `task` and wait for it; ask again every STOP_RECHECK_S while it runs on: a library
    that swallows a cancellation (as Python 3.11's wait_for does) must not make a node's shutdown
    wait for ever."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=STOP_RECHECK_S)
        if not task.done():
            log.warning("background task %s still runs after its cancellation: asking again", name)
    with contextlib.suppress(asyncio.CancelledError):
        await task
