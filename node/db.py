"""Engines and transactions: SQLite (embedded default) and PostgreSQL through one code path.

Writes go through `Database.write()`, which serialises writers on the node_state row so that log
positions (`seq`) are handed out in commit order: a reader that has seen seq N can never later
find a commit with a smaller seq. That is what makes a cursor on seq safe to resume from.
"""

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import orjson
from sqlalchemy import (
    Connection,
    Engine,
    Table,
    bindparam,
    create_engine,
    event,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from federation.hlc import Clock, ceiling, issue_ahead_ms, tick, wall_ms
from node import faults
from node.errors import ClockBehind, Conflict
from node.models import NodeState, table

node_state = table(NodeState)
# Built once, the two statements of every write transaction (building a statement costs
# several times what running it costs here).
_lock_state = select(node_state.c.last_hlc).where(node_state.c.id == 1).with_for_update()
_save_hlc = update(node_state).where(node_state.c.id == 1).values(last_hlc=bindparam("hlc"))


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


ID_CHUNK = 900  # ids per IN list: stays under SQLite's bound-parameter limit on old builds
AUTOCHECKPOINT_PAGES = 20_000  # 80 MB of log with 4 KiB pages
PAGE_CACHE_KIB = 65_536
# An acknowledged write (a 201, a push's ack) must survive a power cut: with FULL, SQLite
# fsyncs the log on every commit (docs/decisions/0602-acknowledged-writes-survive-power-loss.md).
SQLITE_SYNCHRONOUS = "FULL"
SQLITE_BUSY_MS = 30_000  # a writer waits this long for the lock before failing
PROBE_TIMEOUT_S = 2.0
DEFAULT_MAX_SKEW_MS = (
    300_000  # TIERSYNC_MAX_CLOCK_SKEW_S  # /readyz's write probe waits no longer than this
)


def as_utc(at: datetime | None) -> datetime | None:
    """A timestamp read back from the database, aware: SQLite returns them naive (in UTC)."""
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


def upsert_insert(conn: Connection, table: Table) -> Any:
    """An INSERT of the connection's dialect, the one that has `on_conflict_do_update` on both
    engines (SQLite and PostgreSQL spell it alike)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def execute_many(conn: Connection, stmt: ClauseElement, rows: list[dict[str, Any]]) -> None:
    """Run `stmt` once per row through the driver's executemany (every row has the same keys).

    Values are converted by the columns' own SQLAlchemy types, one column at a time, and handed
    to the driver in one call. SQLAlchemy's own executemany builds each row's parameters
    separately (about 15 µs a row here), which was the largest single cost of applying a push.
    """
    if not rows:
        return
    names = list(rows[0])
    dialect = conn.dialect
    compiled = cast(SQLCompiler, stmt.compile(dialect=dialect, column_keys=names))
    columns = []
    for name in names:
        values = [row[name] for row in rows]
        bind_type = compiled.binds[name].type.dialect_impl(dialect)
        process = bind_type.bind_processor(dialect)
        if process is None:
            columns.append(values)
        elif all(v is values[0] for v in values):  # one value for the batch (e.g. a timestamp)
            columns.append([process(values[0])] * len(values))
        else:
            columns.append([process(v) for v in values])
    table_columns = getattr(getattr(stmt, "table", None), "c", {})
    for name, bind in compiled.binds.items():  # a constant of the statement (`x % 2**40`)
        if name not in names and name not in table_columns:  # (a column default: not here)
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            value = bind.effective_value if process is None else process(bind.effective_value)
            names.append(name)
            columns.append([value] * len(rows))
    if compiled.positiontup is not None:  # qmark (SQLite): tuples in the statement's order
        order = [names.index(name) for name in compiled.positiontup]
        params: Any = list(zip(*(columns[i] for i in order), strict=True))
    else:  # pyformat (psycopg): one mapping per row
        params = [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
    conn.exec_driver_sql(compiled.string, params)


def make_engine(
    url: str, *, synchronous: str = SQLITE_SYNCHRONOUS, busy_ms: int = SQLITE_BUSY_MS
) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
            connect_args={"check_same_thread": False, "timeout": busy_ms / 1000},
            hide_parameters=True,  # a failed statement's message must not carry record data
        )
        _configure_sqlite(engine, synchronous=synchronous, busy_ms=busy_ms)
        return engine
    # An unreachable server fails within seconds, not after the system's TCP timeout.
    connect_args = {} if "connect_timeout" in parsed.query else {"connect_timeout": 10}
    return create_engine(
        url,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        connect_args=connect_args,
        hide_parameters=True,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
    )


MAX_PAGES_FILE_ENV = "TIERSYNC_TEST_SQLITE_MAX_PAGES_FILE"
"""Tests only (tests/test_disk_full_process.py): a file holding a page count that every SQLite
write transaction is limited to (`PRAGMA max_page_count`), read at its BEGIN. A write that
needs more pages fails with SQLITE_FULL, exactly as on a full disk; writing a larger number
into the file gives the space back to the running node. Unset in production."""


def storage_full(exc: BaseException) -> bool:
    """Whether a database error means the disk (or the database's allowed size) is full:
    SQLite's SQLITE_FULL, PostgreSQL's disk_full (53100) or ENOSPC in its message."""
    seen: BaseException | None = exc
    for _ in range(8):  # and what it was raised from: SQLite rolls a transaction back on
        if seen is None:  # SQLITE_FULL, so undoing a savepoint then fails on its own
            return False
        orig = getattr(seen, "orig", None) or seen
        if getattr(orig, "sqlite_errorname", None) == "SQLITE_FULL":
            return True
        if getattr(orig, "sqlstate", None) == "53100":
            return True
        text = str(orig).lower()
        if "database or disk is full" in text or "no space left on device" in text:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _configure_sqlite(engine: Engine, *, synchronous: str, busy_ms: int) -> None:
    if synchronous not in {"FULL", "NORMAL", "EXTRA"}:
        raise ValueError(f"synchronous={synchronous!r}")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite's own is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # A running node checkpoints off the write path (node/checkpointer.py); this only bounds
        # the log should it fall behind, or in a process that runs none.
        cursor.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
        # 64 MiB of page cache per connection (SQLite's default is 2 MiB): random ids touch
        # pages all over the indexes. Measured: one hop 1.18x faster and a 1,000-record
        # catch-up 0.072 s instead of 0.095 s, for about 45 MiB more at peak.
        cursor.execute(f"PRAGMA cache_size=-{PAGE_CACHE_KIB}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A writer takes the database lock at BEGIN, so it never fails later on a lock upgrade.
        immediate = conn.get_execution_options().get("tiersync_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
        limit_file = os.environ.get(MAX_PAGES_FILE_ENV) if immediate else None
        if limit_file:
            pages = int(Path(limit_file).read_text().strip() or 0)
            conn.exec_driver_sql(f"PRAGMA max_page_count={max(1, pages)}")


@dataclass
class WriteTxn:
    """An open write transaction and the node's clock within it."""

    conn: Connection
    last_hlc: int
    clock: Clock
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    # The features' write hooks (node.seams.WriteHook), run by the store once per batch.
    write_hooks: Sequence[Callable[..., None]] = ()
    max_skew_ms: int = DEFAULT_MAX_SKEW_MS

    def tick(self) -> int:
        """A fresh HLC value, above every value this node ever issued or received."""
        self.last_hlc = tick(self.last_hlc, self.clock())
        return self.last_hlc

    def observe(self, remote_hlc: int) -> None:
        """Move the clock past a version received from elsewhere, but never beyond this
        node's time plus `max_skew_ms`: one wrong clock below must not drag every ancestor
        (what is further ahead is refused where it is received, node/sync/receive.py)."""
        self.last_hlc = max(self.last_hlc, min(remote_hlc, self.ceiling()))

    def ceiling(self) -> int:
        """The largest version this node accepts now (federation.hlc.ceiling)."""
        return ceiling(self.clock(), self.max_skew_ms)

    def issue(self) -> int:
        """The HLC of a version this node issues (a write, a directive, a receipt): a tick,
        refused with ClockBehind when it lies beyond now + skew (the clock was set back after
        running ahead: the parent would hold it). Log positions of what is received only
        tick: relaying what children send goes on."""
        now = self.clock()
        ahead = issue_ahead_ms(self.last_hlc, now, self.max_skew_ms)
        if ahead:
            raise ClockBehind(ahead_ms=ahead, max_skew_ms=self.max_skew_ms)
        return self.tick()


CHAIN_OPTION = "tiersync_chain_suite"
"""The execution option naming the deployment's suite (TIERSYNC_CRYPTO) to the audit writer,
which links the chain with that suite's hash (node/audit/repository.py)."""
SEALER_OPTION = "tiersync_sealer"
"""The execution option that carries a node's sealer of sensitive fields to the records
repository (node/privacy sets `Database.sealer`; the kernel only passes it on)."""


class Database:
    """A node's database: one engine, one writer at a time."""

    def __init__(
        self,
        url: str,
        *,
        clock: Clock = wall_ms,
        write_hooks: Sequence[Callable[..., None]] = (),
        synchronous: str = SQLITE_SYNCHRONOUS,  # SQLite only; bench/durability.py compares
        max_skew_ms: int = DEFAULT_MAX_SKEW_MS,
        busy_ms: int = SQLITE_BUSY_MS,
        chain_suite: str = "default",
    ) -> None:
        self.url = url
        self.max_skew_ms = max_skew_ms
        self.busy_ms = busy_ms
        self.engine = make_engine(url, synchronous=synchronous, busy_ms=busy_ms)
        self.synchronous = synchronous
        self.clock = clock
        # What each stored batch is shown to (node.seams.WriteHook), given by node/wiring.py.
        self.write_hooks = tuple(write_hooks)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._write_lock = threading.Lock()
        self._on_commit: list[Callable[[], None]] = []
        self._generation = 0  # see `generation`
        self._generation_lock = threading.Lock()
        self._on_any_commit: list[Callable[[], None]] = []
        # Since when writes fail on a full disk (None: they commit), for /readyz and status.
        self.full_since: datetime | None = None
        self._on_storage: list[Callable[[datetime | None], None]] = []
        self.sealer: Any = None  # sensitive fields encrypted at rest (node/privacy/at_rest.py)
        self.chain_suite = chain_suite  # the audit chain's hash (node/audit/chain.py)

    def on_storage(self, listener: Callable[[datetime | None], None]) -> None:
        """Call `listener(since)` when a write fails on a full disk (`since`: the first such
        failure) and `listener(None)` when a write that adds to the change log commits again."""
        self._on_storage.append(listener)

    def _storage_full(self, full: bool) -> None:
        if full == (self.full_since is not None):
            return
        self.full_since = datetime.now(UTC) if full else None
        for listener in self._on_storage:
            listener(self.full_since)

    def on_commit(self, listener: Callable[[], None], *, bookkeeping: bool = False) -> None:
        """Call `listener` after every committed write that changed the log (e.g. to wake the
        replicator), or after every write at all with `bookkeeping=True`."""
        (self._on_any_commit if bookkeeping else self._on_commit).append(listener)

    def now_ms(self) -> int:
        """The node's clock as it reads at this call (a test may set `clock` anew meanwhile):
        what dates this node's requests to its parent."""
        return self.clock()

    @property
    def generation(self) -> int:
        """A number that changes after every commit of this process (bookkeeping included) and
        every commit another process announced (node/wake.py calls `note_commit`): a periodic
        reader that found nothing to do, and took this number before its read, may skip the
        next read while the number stays the same."""
        return self._generation

    def note_commit(self) -> None:
        """A commit to this database happened: this process's, or another's announced."""
        with self._generation_lock:
            self._generation += 1

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            if self.sealer is not None:
                conn.execution_options(**{SEALER_OPTION: self.sealer})
            yield conn

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A read whose statements all see one snapshot of the database: for every read of
        several statements that must agree (an outbox batch and its head, an export page and
        its cursor, a directive feed, digest answers). SQLite's read() is one already (in WAL
        mode a read transaction sees the commits before its first statement, and read()
        holds one transaction); PostgreSQL's default READ COMMITTED gives each statement its
        own, so a commit landing between two of them could be skipped for good. There it is
        REPEATABLE READ READ ONLY, which never fails with a serialisation error."""
        if self.is_sqlite:
            with self.read() as conn:
                yield conn
            return
        with self.engine.connect() as conn:
            conn.execution_options(
                isolation_level="REPEATABLE READ",
                postgresql_readonly=True,
                **{SEALER_OPTION: self.sealer},  # sealed fields opened, as in read()
            )
            with conn.begin():
                yield conn

    @contextmanager
    def write(self, *, notify: bool = True, durable: bool = True) -> Iterator[WriteTxn]:
        """One transaction holding the node_state row lock; commits on success, else rolls back.

        `notify=False` is for bookkeeping that adds nothing to the change log. `durable=False`
        (SQLite) commits without the fsync of `synchronous=FULL` (docs/decisions/0602): only
        for bookkeeping whose loss in a power cut is repaired by itself (the cursor a parent
        acked: the parent says where it stands, the child resends, idempotently); the next
        durable commit fsyncs it with its own.
        """
        try:
            with self._write_lock, self.engine.connect() as conn:
                conn.execution_options(
                    tiersync_write=True,
                    **{SEALER_OPTION: self.sealer, CHAIN_OPTION: self.chain_suite},
                )
                with self._relaxed(conn, relaxed=not durable), conn.begin():
                    last = conn.execute(_lock_state).scalar_one()
                    txn = WriteTxn(
                        conn=conn,
                        last_hlc=last,
                        clock=self.clock,
                        write_hooks=self.write_hooks,
                        max_skew_ms=self.max_skew_ms,
                    )
                    yield txn
                    conn.execute(_save_hlc, {"hlc": txn.last_hlc})
                    faults.point(faults.BEFORE_COMMIT, self.url)
                self.note_commit()
        except Exception as exc:
            if storage_full(exc):
                self._storage_full(True)
            raise
        if notify and self.full_since is not None:
            # A write that added to the change log committed: there is room again (an ack
            # saved in place proves nothing: a full disk may still take it).
            self._storage_full(False)
        faults.point(faults.AFTER_COMMIT, self.url)
        for listener in self._on_commit if notify else ():
            listener()
        for listener in self._on_any_commit:
            listener()

    @contextmanager
    def _relaxed(self, conn: Connection, *, relaxed: bool) -> Iterator[None]:
        """SQLite's `synchronous=NORMAL` on `conn` for one transaction, set back after it."""
        if not relaxed or not self.is_sqlite or self.synchronous == "NORMAL":
            yield
            return
        raw = conn.connection.dbapi_connection
        assert raw is not None
        raw.execute("PRAGMA synchronous=NORMAL")  # outside a transaction: takes effect now
        try:
            yield
        finally:
            try:
                raw.execute(f"PRAGMA synchronous={self.synchronous}")
            except Exception:
                conn.invalidate()  # never back in the pool with the relaxed setting
                raise

    def issue_ahead_ms(self) -> int:
        """How far beyond now + skew this node's next issued version would lie (0: it may
        issue; else its writes answer 503 `clock_behind`, WriteTxn.issue)."""
        with self.engine.connect() as conn:
            last = conn.execute(select(node_state.c.last_hlc)).scalar()
        return issue_ahead_ms(int(last or 0), self.clock(), self.max_skew_ms)

    def probe_write(self, *, timeout_s: float = PROBE_TIMEOUT_S) -> None:
        """Raise unless a write could be committed now (the database file writable and not
        locked for longer than `timeout_s`, a PostgreSQL server that is up and not read-only);
        writes nothing: the probe's transaction is rolled back."""
        with self.engine.connect() as conn:
            if self.is_sqlite:
                raw = conn.connection.dbapi_connection
                assert raw is not None
                raw.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
                try:
                    conn.execution_options(tiersync_write=True)  # BEGIN IMMEDIATE: the lock
                    with conn.begin() as txn:
                        conn.exec_driver_sql("UPDATE node_state SET id = id WHERE id = 1")
                        txn.rollback()
                finally:
                    raw.execute(f"PRAGMA busy_timeout={self.busy_ms}")
            else:
                ms = int(timeout_s * 1000)
                with conn.begin() as txn:
                    conn.exec_driver_sql(f"SET LOCAL statement_timeout = {ms}")
                    conn.exec_driver_sql("SELECT txid_current()")  # refused when read-only
                    txn.rollback()

    def ensure_identity(self, code: str) -> None:
        """Create the node_state row, or refuse a database that belongs to another node."""
        with self.engine.begin() as conn:
            row = conn.execute(select(node_state.c.code).where(node_state.c.id == 1)).first()
            if row is None:
                conn.execute(
                    node_state.insert().values(
                        id=1, code=code, last_hlc=0, created_at=datetime.now(UTC)
                    )
                )
            elif row.code != code:
                raise Conflict(f"database belongs to node {row.code}, not {code}")

    def check_identity(self, code: str) -> None:
        """Refuse a database that belongs to another node, writing nothing."""
        with self.engine.connect() as conn:
            held = conn.execute(select(node_state.c.code).where(node_state.c.id == 1)).scalar()
        if held != code:
            raise Conflict(f"database belongs to node {held}, not {code}")

    def dispose(self) -> None:
        self.engine.dispose()
