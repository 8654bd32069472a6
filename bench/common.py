"""Shared pieces of the benchmarks: node processes, RSS, test data, the raw SQLite baseline.

Everything listens on 127.0.0.1 only, every process started here is stopped in a `finally`, and
every wait has a deadline, so a benchmark always ends by itself.
"""

import contextlib
import os
import platform
import random
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

from schemas.idnumber import make_id_number

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"

# The units of DOMAIN.md's example chain: prefecture ← county ← township ← village.
PREFECTURE, COUNTY, TOWNSHIP, VILLAGE = "6323", "632322", "632322101", "632322101201"


# --- processes -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def read_rss_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) of a process in MiB, from /proc/<pid>/status (VmRSS, VmHWM)."""
    values = {"VmRSS": 0.0, "VmHWM": 0.0}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in values:
                values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


@dataclass
class NodeProcess:
    """One node as a real uvicorn process on a free loopback port (see bench/_node.py)."""

    code: str
    data_dir: Path
    settings: dict[str, Any] = field(default_factory=dict)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    token: str | None = None  # an operator's API token at this node (issue 12)

    @property
    def url(self) -> str:
        scheme = "https" if self.settings.get("tls_cert") else "http"
        return f"{scheme}://{HOST}:{self.port}"

    @property
    def verify(self) -> Any:
        """What a client verifies this node with: the CA of its certificate (--tls)."""
        ca = self.settings.get("_ca")
        return ssl.create_default_context(cafile=ca) if ca else True

    @property
    def auth(self) -> dict[str, str]:
        """The Authorization header every API call of the benchmarks carries."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def grant(self) -> None:
        """An operator user at this node (its database, before it runs): `self.token`."""
        from datetime import timedelta as days

        from node.access import users
        from node.app import open_node
        from node.errors import Conflict
        from node.settings import Settings

        given = {k: v for k, v in self.settings.items() if not k.startswith("_")}
        ctx = open_node(Settings(code=self.code, data_dir=self.data_dir, **given))
        try:
            try:
                self.token = users.add_user(
                    ctx.db, node=self.code, name="bench", role="operator", units=[],
                    actor="os:bench", token_ttl=days(days=1),
                ).token  # fmt: skip
            except Conflict:  # started again on the same data
                self.token, _ = users.rotate_token(
                    ctx.db, node=self.code, name="bench", actor="os:bench", token_ttl=days(days=1)
                )
        finally:
            ctx.db.dispose()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def log_path(self) -> Path:
        return self.data_dir / "node.log"

    def start(self, *, timeout_s: float = 60.0) -> "NodeProcess":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.token is None:
            self.grant()
        self.port = self.port or free_port()
        given = {k: v for k, v in self.settings.items() if k != "_ca"}
        config = {"code": self.code, "data_dir": str(self.data_dir), **given}
        env = {k: v for k, v in os.environ.items() if not k.startswith("TIERSYNC_")} | {
            "PYTHONUNBUFFERED": "1"
        }
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bench._node",
                    orjson.dumps(config).decode(),
                    str(self.port),
                ],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            self.wait_healthy(timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_healthy(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"node {self.code} exited at start:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                answer = httpx.get(f"{self.url}/healthz", timeout=2, verify=self.verify)
                if answer.status_code == 200:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"node {self.code} not healthy in {timeout_s}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def rss_mb(self) -> tuple[float, float]:
        return read_rss_mb(self.pid)

    def stop(self, timeout_s: float = 15.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


@contextlib.contextmanager
def running(*nodes: NodeProcess) -> Iterator[tuple[NodeProcess, ...]]:
    """Start the nodes in order; stop all of them (last first) however the block ends."""
    started: list[NodeProcess] = []
    try:
        for node in nodes:
            started.append(node)
            node.start()
        yield nodes
    finally:
        for node in reversed(started):
            node.stop()


class RssSampler:
    """Samples a process's RSS in a thread; `peak` is the highest sample (and VmHWM)."""

    def __init__(self, pid: int, every_s: float = 0.1) -> None:
        self.pid, self.every_s = pid, every_s
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            rss, hwm = read_rss_mb(self.pid)
            self.peak = max(self.peak, rss, hwm)
            self._stop.wait(self.every_s)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, *read_rss_mb(self.pid))


@contextlib.contextmanager
def workdir(prefix: str) -> Iterator[Path]:
    """A fresh directory for one run, removed after it (kept when TIERSYNC_BENCH_KEEP is set, to
    read the nodes' logs)."""
    if os.environ.get("TIERSYNC_BENCH_KEEP"):
        yield Path(tempfile.mkdtemp(prefix=f"tiersync-{prefix}-"))
        return
    with tempfile.TemporaryDirectory(prefix=f"tiersync-{prefix}-") as tmp:
        yield Path(tmp)


# --- data ------------------------------------------------------------------------------------

_SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
_GIVEN = [
    "才让",
    "多杰",
    "卓玛",
    "建国",
    "秀英",
    "桂兰",
    "志强",
    "海燕",
    "德吉",
    "措毛",
    "明",
    "华",
]
_ETHNICITIES = ["Han", "Tibetan", "Hui", "Tu", "Salar", "Mongol"]


ID_KINDS = ("uuid4", "uuid7")


def record_id(rng: random.Random, ids: str, index: int) -> str:
    """A random uuid4 (an imported register's ids), or a time-ordered uuid7 as the node makes."""
    if ids == "uuid7":
        ms = 1_764_000_000_000 + index  # one per millisecond: ordered like a live node's
        value = ms << 80 | 0x7 << 76 | rng.getrandbits(12) << 64 | 0b10 << 62 | rng.getrandbits(62)
        return str(uuid.UUID(int=value))
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def person_records(
    n: int, unit: str = VILLAGE, *, seed: int = 1, ids: str = "uuid4"
) -> list[dict[str, Any]]:
    """`n` valid person records (API shape): uuid4 or uuid7 ids, ID numbers, names, birth dates.

    Consecutive records share nothing but the region and the unit, so compression ratios on the
    wire are not flattered by runs of equal values.
    """
    rng = random.Random(seed)
    offset = seed * 10_000_000  # later batches (catch-up rounds) sort after earlier ones
    first_day = date(1940, 1, 1)
    out = []
    for index in range(n):
        birth = first_day + timedelta(days=rng.randrange(29_000))
        id_number = make_id_number("632322", birth, rng.randrange(1000))
        data = {
            "id_number": id_number,
            "name": rng.choice(_SURNAMES) + rng.choice(_GIVEN) + rng.choice(_GIVEN),
            "sex": "male" if int(id_number[16]) % 2 else "female",
            "birth_date": birth.isoformat(),
            "ethnicity": rng.choice(_ETHNICITIES),
            "grid": f"{unit}{rng.randint(1, 20):03d}",
            "phone": f"1{rng.choice('3578')}{rng.randrange(10**9):09d}",
            "status": "registered",
        }
        if len(unit) != 12:  # grids are 15-digit codes under a village
            del data["grid"]
        out.append(
            {
                "id": record_id(rng, ids, offset + index),
                "kind": "person",
                "unit": unit,
                "data": data,
            }
        )
    return out


def batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- the raw SQLite baseline --------------------------------------------------------------

RAW_DDL = """
CREATE TABLE records (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, unit TEXT NOT NULL, data TEXT NOT NULL,
    hlc INTEGER NOT NULL, origin TEXT NOT NULL, deleted INTEGER NOT NULL,
    schema_version INTEGER NOT NULL, seq INTEGER NOT NULL UNIQUE, updated_at TEXT NOT NULL
);
CREATE INDEX ix_records_unit_id ON records (unit, id);
CREATE INDEX ix_records_kind_unit_id ON records (kind, unit, id);
"""
RAW_UPSERT = """
INSERT INTO records (id, kind, unit, data, hlc, origin, deleted, schema_version, seq, updated_at)
VALUES (?, ?, ?, ?, ?, ?, 0, 1, ?, ?)
ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, unit = excluded.unit, data = excluded.data,
    hlc = excluded.hlc, origin = excluded.origin, deleted = excluded.deleted,
    schema_version = excluded.schema_version, seq = excluded.seq, updated_at = excluded.updated_at
"""


class RawSqlite:
    """A bare `sqlite3` table shaped like the node's `records`, for the raw-upsert baseline.

    Same columns, primary key on id, unique seq, (unit, id) and (kind, unit, id) indexes, and the
    node's pragmas (WAL, synchronous=NORMAL). `upsert()` is one executemany
    `INSERT ... ON CONFLICT (id) DO UPDATE` in one transaction; its timed part includes turning
    each record into a row (id as 32-hex text, data as orjson text).
    """

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(RAW_DDL)
        self.seq = 0

    def upsert(self, records: Sequence[dict[str, Any]]) -> float:
        """Seconds to upsert `records` in one transaction."""
        started = time.perf_counter()
        now = time.strftime("%Y-%m-%d %H:%M:%S.000000")
        rows = []
        for rec in records:
            self.seq += 1
            rows.append(
                (
                    uuid.UUID(rec["id"]).hex,
                    rec["kind"],
                    rec["unit"],
                    orjson.dumps(rec["data"]).decode(),
                    self.seq,
                    rec["unit"][:12],
                    self.seq,
                    now,
                )
            )
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.executemany(RAW_UPSERT, rows)
        self.conn.execute("COMMIT")
        return time.perf_counter() - started

    def close(self) -> None:
        self.conn.close()


def raw_sqlite_upsert(records: Sequence[dict[str, Any]], batch: int, path: Path) -> float:
    """Seconds for the raw baseline to upsert `records`, `batch` per transaction, into `path`."""
    raw = RawSqlite(path)
    try:
        return sum(raw.upsert(chunk) for chunk in batches(records, batch))
    finally:
        raw.close()


# --- reporting -----------------------------------------------------------------------------


def machine() -> str:
    return (
        f"{os.cpu_count()} CPU(s) ({platform.machine()}), Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {time.strftime('%Y-%m-%d')}"
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (readable as plain text too)."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in cells
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
