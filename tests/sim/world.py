"""The simulated world: real nodes (create_app, their own SQLite files) in one process, on the
virtual-time loop, linked by fault-injecting transports, with per-node clocks, crash points,
backups, restores, rebuilds, full disks and the operator's commands."""

import asyncio
import contextlib
import shutil
import sqlite3
import uuid
from collections import Counter
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy.exc import OperationalError

import federation.retry
from node import faults, migrate, supervisor, wake
from node.app import create_app
from node.checkpointer import WalCheckpointer
from node.context import NodeContext
from node.db import Database
from node.ops import actions
from node.servelock import owning
from node.settings import Settings
from node.units.service import enrol_child, register_unit
from node.wiring import open_node
from tests.sim.loop import inline_threads
from tests.sim.net import Link, SimCrash

EPOCH_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z: simulated time 0 on every correct clock
ACTOR = "sim-operator"
REBUILD_ATTEMPTS, REBUILD_RETRY_S = 20, 30.0
LOST_REBUILD_ATTEMPTS = 2_000  # 16 simulated hours: longer than any partition of a profile
START_RETRY_S = 5.0  # a node whose start failed is started again (systemd's RestartSec)


@dataclass
class SimNode:
    code: str
    parent: str | None
    settings: Settings
    path: Path  # its SQLite file
    skew_ms: int = 0  # how far its wall clock is off
    state: str = "down"  # up (serving), offline (an operator command holds it), down (dead)
    manager: LifespanManager | None = None
    app: Any = None
    lock: contextlib.ExitStack | None = None  # serve's lock on the data dir (node/servelock)
    transport: httpx.ASGITransport | None = None
    crash_after: tuple[int, str] | None = None  # (commits to let through, point) then die
    disk_full_until: float = 0.0
    epoch: int = 0  # incremented on every restore or rebuild (its history restarts)
    built: Any = None  # its app, built once: a restart runs its lifespan again

    @property
    def alive(self) -> bool:
        """Serving: up, and its start has ended (a starting node takes no client's write)."""
        return self.state == "up" and self.app is not None

    @property
    def ctx(self) -> NodeContext:
        assert self.app is not None
        return self.app.state.ctx  # type: ignore[no-any-return]


@dataclass
class World:
    root: Path
    seed: int
    tree: list[tuple[str, str | None]]  # (code, parent), parents first
    template: Path  # a migrated empty SQLite file
    heartbeat_s: float = 600.0
    tombstone_collect_s: float = 20.0
    rng: Random = field(init=False)
    nodes: dict[str, SimNode] = field(default_factory=dict)
    links: dict[str, Link] = field(default_factory=dict)
    backups: dict[str, list[Path]] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    cut_all: bool = False  # set while the world is being torn down
    trace: list[str] = field(default_factory=list)  # every answered request, in order
    _by_url: dict[str, SimNode] = field(default_factory=dict)
    _tasks: set["asyncio.Task[Any]"] = field(default_factory=set)
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def __post_init__(self) -> None:
        self.rng = Random(self.seed)

    # -- the world's clock and randomness ---------------------------------------------------

    @property
    def now(self) -> float:
        return asyncio.get_running_loop().time()

    def wall_ms(self, code: str) -> int:
        return EPOCH_MS + int(self.now * 1000) + self.nodes[code].skew_ms

    def count(self, what: str) -> None:
        self.counts[what] += 1

    def healing_cut(self, link: Link) -> bool:
        return self.cut_all

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """Process-wide hooks for the length of a run: crash points, seeded ids and jitter,
        inline threads, no checkpointer thread."""
        saved_uuid4, saved_random = uuid.uuid4, federation.retry.random
        saved_start, saved_stop = WalCheckpointer.start, WalCheckpointer.stop
        saved_publish = supervisor.PUBLISH_S
        # The tasks file for `tiersync status` is rewritten on every change of a task's state
        # and, to show it fresh, every 10 s: nobody reads it here, so only on changes.
        supervisor.PUBLISH_S = 3600.0
        rng = self.rng
        uuid.uuid4 = lambda: uuid.UUID(int=rng.getrandbits(128), version=4)
        federation.retry.random = rng  # type: ignore[assignment]
        WalCheckpointer.start = WalCheckpointer.stop = lambda self: None  # type: ignore[method-assign]
        faults.hook = self._fault
        try:
            with inline_threads():
                yield
        finally:
            faults.hook = None
            supervisor.PUBLISH_S = saved_publish
            uuid.uuid4 = saved_uuid4
            federation.retry.random = saved_random
            WalCheckpointer.start, WalCheckpointer.stop = saved_start, saved_stop  # type: ignore[method-assign]

    def _fault(self, point: str, url: str) -> None:
        node = self._by_url.get(url)
        if node is None:
            return
        if node.state == "down":
            raise SimCrash(f"{node.code} is dead")
        if node.disk_full_until > self.now and point == faults.BEFORE_COMMIT:
            self.count("disk_full.refused")
            raise OperationalError(
                "COMMIT", {}, sqlite3.OperationalError("database or disk is full")
            )
        if node.crash_after is not None and point == node.crash_after[1]:
            left = node.crash_after[0]
            if left > 0:
                node.crash_after = (left - 1, point)
                return
            node.crash_after = None
            self.count(f"crash.{point}")
            self.kill(node.code)
            raise SimCrash(f"{node.code} killed at {point}")

    # -- building and running nodes --------------------------------------------------------

    async def build(self) -> None:
        hash_key = f"{self.rng.getrandbits(256):064x}"  # the prefecture's, given to every node
        for code, parent in self.tree:
            path = self.root / code / "tiersync.db"
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(self.template, path)
            extra: dict[str, Any] = {}
            if parent is not None:
                enrolled = enrol_child(
                    self.nodes[parent].ctx.db, node_code=parent, code=code, name=code
                )
                extra = {"parent_url": f"http://{parent}", "parent_token": enrolled.token}
                self.links[code] = Link(self, code, parent)
            settings = Settings(
                code=code,
                name=code,
                data_dir=path.parent,
                database_url=f"sqlite:///{path}",
                allowed_hosts=[code],
                heartbeat_s=self.heartbeat_s,
                hash_key=hash_key,
                # Collect often, and at the top soon, so restores meet collected tombstones.
                tombstone_collect_s=self.tombstone_collect_s,
                tombstone_retention_s=3 * self.tombstone_collect_s,
                **extra,
            )
            node = self.nodes[code] = SimNode(code, parent, settings, path)
            self._by_url[settings.resolved_database_url] = node
            self.backups[code] = []
            await self.start(code)

    def register_units(self, code: str, units: list[str]) -> None:
        with self.nodes[code].ctx.db.write() as txn:
            for unit in units:
                register_unit(txn, code=unit, name=unit)

    async def start(self, code: str) -> None:
        node = self.nodes[code]
        # Building an app (and FastAPI's routes on their first request) costs more than a
        # restart's lifespan: the app is kept; what a new process would not remember (the
        # gate's cache of checked tokens) is forgotten, the context is opened anew.
        app = node.built
        if app is None:
            app = node.built = create_app(
                node.settings,
                transport=self.links.get(code),
                clock=lambda: self.wall_ms(code),
            )
        else:
            app.state.gate.forget()
        while node.manager is None:  # until it runs (or another start, the heal's, ran it)
            node.state = "up"
            node.lock = contextlib.ExitStack()  # as `tiersync serve` holds it
            node.lock.enter_context(
                owning(node.settings.data_dir, what="tiersync serve", node=code)
            )
            manager = LifespanManager(app, startup_timeout=None, shutdown_timeout=None)
            try:
                await manager.__aenter__()
            except Exception:  # its start wrote on a full disk: the service manager retries
                node.lock.close()
                node.lock, node.state = None, "down"
                self.count("start refused")
                # Started again every START_RETRY_S; a start while the disk is still full fails
                # at the same commit and writes nothing, so none is tried until it frees.
                await asyncio.sleep(START_RETRY_S)
                while node.disk_full_until > self.now:
                    await asyncio.sleep(START_RETRY_S)
            else:
                node.manager, node.app = manager, app
                node.transport = httpx.ASGITransport(app=manager.app)

    async def stop(self, code: str) -> None:
        """A clean shutdown (the lifespan ends); the node is offline until started again."""
        node = self.nodes[code]
        if node.state == "up":
            node.state = "offline"
        await self._close(node)

    def kill(self, code: str) -> None:
        """kill -9: nothing of it runs or commits from now on; its files stay as they are."""
        node = self.nodes[code]
        if node.state == "down" and node.manager is None:
            return
        node.state = "down"
        self.count("kill")
        self.spawn(self._close(node), f"close {code}")

    async def _close(self, node: SimNode) -> None:
        manager, app, lock = node.manager, node.app, node.lock
        node.manager = node.app = node.transport = node.lock = None
        if lock is not None:
            lock.close()  # the kernel drops it when the process dies
        if manager is None:
            return
        ctx = app.state.ctx
        with contextlib.suppress(BaseException):
            await manager.__aexit__(None, None, None)
        ctx.db.dispose()

    async def restart(self, code: str) -> None:
        node = self.nodes[code]
        if node.manager is not None:
            await self._close(node)
        await asyncio.sleep(0)
        await self.start(code)

    # -- backups, restores, rebuilds -------------------------------------------------------

    def backup(self, code: str) -> int:
        """A consistent copy of the node's file (sqlite3's online backup); returns its index."""
        node = self.nodes[code]
        copy = self.root / "backups" / f"{code}-{len(self.backups[code])}.db"
        copy.parent.mkdir(exist_ok=True)
        with (
            contextlib.closing(sqlite3.connect(node.path)) as src,
            contextlib.closing(sqlite3.connect(copy)) as dst,
        ):
            src.backup(dst)
        self.backups[code].append(copy)
        self.count("backup")
        return len(self.backups[code]) - 1

    def _replace_files(self, node: SimNode, source: Path) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{node.path}{suffix}").unlink(missing_ok=True)
        shutil.copy(source, node.path)

    async def restore(self, code: str, index: int) -> None:
        node = self.nodes[code]
        node.state = "down"
        await self._close(node)
        self._replace_files(node, self.backups[code][index])
        node.epoch += 1
        self.count("restore")
        await self.start(code)

    async def rebuild(self, code: str, *, force: bool) -> bool:
        """`tiersync rebuild --from-parent` (after the data was lost, or --force over it), with
        the node stopped. A node that lost its data is not started empty: the operator runs
        the rebuild again until the parent answers (an empty middle node holds none of its
        children's enrolments, and refuses them for good). Over data still held (--force) the
        operator gives up after REBUILD_ATTEMPTS and starts the node as it was. False: the
        parent never answered."""
        node = self.nodes[code]
        node.state = "down"
        await self._close(node)
        if not force:
            self._replace_files(node, self.template)
            node.epoch += 1
        node.state = "offline"
        self.count("rebuild.force" if force else "rebuild")
        ok, lost, attempts = False, not force, 0
        while not ok and attempts < (LOST_REBUILD_ATTEMPTS if lost else REBUILD_ATTEMPTS):
            attempts += 1
            ctx = None
            try:
                ctx = open_node(node.settings, clock=lambda: self.wall_ms(code))
                await actions.run_rebuild(ctx, actor=ACTOR, force=force, transport=self.links[code])
                ok = True
            except Exception:
                force = True  # what the failed attempt stored stays: the next one merges
                await asyncio.sleep(REBUILD_RETRY_S)
            finally:
                if ctx is not None:
                    ctx.db.dispose()
        await self.start(code)
        return ok

    async def operator(self, code: str, command: str) -> Any:
        """An operator command from a second process on the node's files, as the CLI runs it
        (and, as the CLI does, poking the serving node after its commits: node/wake.py)."""
        node = self.nodes[code]
        ctx = open_node(node.settings, clock=lambda: self.wall_ms(code), create=False)
        poker = wake.Poker(node.settings.data_dir, clock=asyncio.get_running_loop().time)
        ctx.db.on_commit(poker)
        try:
            if command == "verify --repair":
                return await actions.run_verify(
                    ctx, repair=True, actor=ACTOR, transport=self.links[code]
                )
            if command == "resync":
                return await actions.run_resync(
                    ctx, since=0, actor=ACTOR, transport=self.links[code]
                )
            raise ValueError(command)
        finally:
            poker.flush()
            ctx.db.dispose()

    def offline_db(self, code: str) -> Database:
        """The node's database opened directly (for the checker; the node may be down)."""
        return Database(f"sqlite:///{self.nodes[code].path}")

    async def close(self) -> None:
        self.cut_all = True
        for task in list(self._tasks):
            task.cancel()
        for node in self.nodes.values():
            node.state = "offline" if node.state == "up" else node.state
            await self._close(node)
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task


def migrated_template(path: Path) -> Path:
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db.engine)
    db.dispose()
    return path
