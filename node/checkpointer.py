"""SQLite WAL checkpoints off the write path (docs/decisions/0401-replication-hot-path.md).

In WAL mode every commit appends the pages it changed to the log, and by default the commit
that pushes the log past 1,000 pages then copies the log back into the database and fsyncs it
itself. With random ids that copy is most of a batch's cost: applying 1,000 records to a
100,000-record table took 78 ms, 39 ms of it in that checkpoint, in the middle of a push.

A running node instead checkpoints in a thread of its own (PASSIVE: it never blocks a writer or
a reader), so a push is acknowledged without waiting for it: once commits pause for SETTLE_S,
and at least every MAX_DEFER_S while they go on. Not after every commit: once a checkpoint has
copied the whole log back, the next commit starts the log again from its beginning, and with
`synchronous=FULL` (docs/decisions/0602) that restart costs an fsync of its own on top of the
commit's; a catch-up every few hundred milliseconds paid two fsyncs per push, and a copy back
of what it had just written, beside the next push. The connections keep a much larger automatic
checkpoint as a bound on the log should this thread fall behind, and for processes that run
none (the CLI).
"""

import logging
import threading
import time

from sqlalchemy import Engine

from federation.retry import Health, Unwatched

log = logging.getLogger("tiersync.checkpointer")
SETTLE_S = 0.5  # a pause in the commits this long: copy the log back
MAX_DEFER_S = 5.0  # commits that never pause: copy it back at least this often


class WalCheckpointer:
    """A thread that runs `PRAGMA wal_checkpoint(PASSIVE)` once commits pause (SETTLE_S), or
    MAX_DEFER_S after the first commit it has not copied back."""

    def __init__(self, engine: Engine, *, health: Health | None = None) -> None:
        self.engine = engine
        self.health = health or Unwatched()  # told of every run (node.supervisor)
        self.runs = 0
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="wal-checkpointer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def notify(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._thread.is_alive():  # a start that failed before it may stop it too
            self._thread.join(timeout=10)

    def checkpoint(self) -> tuple[int, int, int]:
        """(busy, pages in the log, pages copied back), as SQLite reports them."""
        with self.engine.connect() as conn:
            busy, logged, copied = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
        self.runs += 1
        return int(busy), int(logged), int(copied)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            if self._stopping:
                return
            self._settle()
            if self._stopping:
                return
            try:
                self.checkpoint()
            except Exception as exc:  # a busy or closing database: the next commit tries again
                log.warning("WAL checkpoint failed", exc_info=True)
                self.health.failed(exc)
            else:
                self.health.ok()

    def _settle(self) -> None:
        """Wait until no commit came for SETTLE_S, or MAX_DEFER_S passed since the first."""
        deadline = time.monotonic() + MAX_DEFER_S
        while not self._stopping:
            self._wake.clear()
            left = deadline - time.monotonic()
            if left <= 0 or not self._wake.wait(min(SETTLE_S, left)):
                return
