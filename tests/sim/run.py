"""One run: build the world, play the event list on the virtual-time loop, heal every fault,
wait (in simulated time) for the tree to converge, check it."""

import asyncio
import contextlib
import hashlib
import logging
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from federation.hlc import physical_ms
from node import migrate
from node.directives import service as directives
from node.directives.issue import cancel_directive, issue_directive
from node.directives.service import wake_of
from node.models import NodeState, table
from node.records import service as records
from node.records.store import Version, store_versions
from node.units.service import register_unit
from schemas.directives import DirectiveCreate, receipt_id
from schemas.records import RecordIn
from tests.sim import checker
from tests.sim.checker import Model, Violation
from tests.sim.loop import VirtualLoop
from tests.sim.net import LinkFaults, SimCrash
from tests.sim.workload import Event, Profile, generate, templates
from tests.sim.world import World, migrated_template

CHECK_EVERY_S = 30.0
MONITOR_EVERY_S = 30.0
_TEMPLATE: dict[str, Path] = {}
SCRATCH = Path("/dev/shm")


@dataclass
class Result:
    seed: int | None
    events: list[Event]
    violations: list[Violation]
    simulated_s: float = 0.0
    converged_after_s: float | None = None
    faults: dict[str, int] = field(default_factory=dict)
    wall_s: float = 0.0
    cpu_s: float = 0.0  # this process's CPU time: the wall time on an idle core
    trace: list[str] = field(default_factory=list)  # the links' answered requests, in order

    @property
    def ok(self) -> bool:
        return not self.violations


def trace_digest(result: Result) -> str:
    """A fingerprint of the run, step for step: every request the links carried (when, which
    link, what, its answer's status) and the faults injected."""
    body = "\n".join([*result.trace, repr(sorted(result.faults.items()))])
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def template(root: Path) -> Path:
    held = _TEMPLATE.get("path")
    if held is None or not held.exists():
        # One template per schema: worktrees of other branches share the temporary directory.
        # Built aside and moved into place: worker processes may build it at the same time.
        head = "-".join(sorted(migrate.head_revisions()))
        held = root / f"template-{head}.db"
        if not held.exists():
            aside = migrated_template(root / f"template-{head}.{os.getpid()}.db")
            os.replace(aside, held)
        _TEMPLATE["path"] = held
    return held


def run_seed(seed: int, profile: Profile, *, events: list[Event] | None = None) -> Result:
    chosen = generate(seed, profile) if events is None else events
    return run_events(chosen, profile, seed=seed)


def run_events(events: list[Event], profile: Profile, *, seed: int | None = None) -> Result:
    started, cpu = time.perf_counter(), time.process_time()
    with _nodes_quiet():
        result = _run_events(events, profile, seed)
    result.seed = seed
    result.wall_s = time.perf_counter() - started
    result.cpu_s = time.process_time() - cpu
    return result


@contextlib.contextmanager
def _nodes_quiet() -> Iterator[None]:
    """The nodes' logs off for a run (faults make them loud), and as they were after it: a test
    run after the simulator in the same process reads them (tests/test_logs.py)."""
    logger = logging.getLogger("tiersync")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _run_events(events: list[Event], profile: Profile, seed: int | None) -> Result:
    # On tmpfs where there is one: a commit's fsync costs nothing there (the simulated
    # crashes lose nothing SQLite committed, so durability of the files is not what is tested).
    scratch = SCRATCH if SCRATCH.is_dir() else None
    with tempfile.TemporaryDirectory(prefix="tiersync-sim-", dir=scratch) as tmp:
        root = Path(tmp)
        tpl_dir = Path(scratch or tempfile.gettempdir()) / "tiersync-sim-template"
        tpl_dir.mkdir(exist_ok=True)
        world = World(
            root,
            seed or 0,
            profile.tree,
            template(tpl_dir),
            heartbeat_s=profile.heartbeat_s,
            tombstone_collect_s=profile.tombstone_collect_s,
        )
        loop = VirtualLoop()
        loop.set_exception_handler(_quiet_kills)
        try:
            with world.installed():
                try:
                    result = loop.run_until_complete(_play(world, events, profile))
                finally:
                    _end_leftovers(loop)
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
    return result


LEFTOVER_WAIT_S = 60.0  # virtual seconds: a cancelled task re-cancels its own within 5 s


def _end_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    """End the tasks still pending once the run is checked: what a killed node was running
    when its kill -9 came (its crash points raise from then on, so nothing of it commits). Left
    to the garbage collector they would each print "Task was destroyed but it is pending"."""
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.wait(tasks, timeout=LEFTOVER_WAIT_S))


def _quiet_kills(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """A dead node's tasks end in SimCrash (the simulated kill -9): nothing to report."""
    if not isinstance(context.get("exception"), SimCrash):
        loop.default_exception_handler(context)


class Player:
    def __init__(self, world: World, profile: Profile) -> None:
        self.world = world
        self.model = Model(parents=dict(profile.tree))
        self.names: dict[str, str] = {}  # directive name -> id
        self.restored: set[str] = set()
        self.kinds: dict[str, str] = {}  # record id -> its kind (an update keeps it)

    # -- the domain's work ---------------------------------------------------------------

    async def run(self, ev: Event) -> None:
        world, code = self.world, ev["node"]
        node = world.nodes[code]
        handler = getattr(self, "do_" + ev["do"])
        if ev["do"] in WORK_EVENTS and not node.alive:
            return  # its clients cannot reach it
        with contextlib.suppress(SimCrash):  # it died under the client: the model knows
            await handler(ev)

    def _mark_ahead(self, code: str, rids: list[str]) -> None:
        """The versions about to be written lie beyond the parent's clock bound: the node's
        clock runs ahead, or its HLC still holds a time from when it did (versions never go
        back, so they stay ahead until its clock catches up)."""
        node = self.world.nodes[code]
        bound = node.ctx.settings.max_clock_skew_s * 1000
        with node.ctx.db.read() as conn:
            last = int(conn.execute(select(table(NodeState).c.last_hlc)).scalar_one())
        if (
            node.skew_ms > bound
            or physical_ms(last) > self.world.wall_ms(code) - node.skew_ms + bound
        ):
            self.model.ahead.update(checker.key(r) for r in rids)

    def _write(self, code: str, rid: str, body: dict[str, Any]) -> None:
        node = self.world.nodes[code]
        value = (False, body["data"])
        self._mark_ahead(code, [rid])
        self.kinds.setdefault(checker.key(rid), body["kind"])
        try:
            read, _created = records.put_record(
                node.ctx.db, node=node.ctx.identity, record_id=uuid.UUID(rid), body=RecordIn(**body)
            )
        except SimCrash:
            self.model.unknown(rid, code, value)
            raise
        except Exception:
            return  # refused (conflict, full disk): not acknowledged, nothing written
        self.model.acked(rid, code, (False, read.data))

    async def do_write(self, ev: Event) -> None:
        self._write(ev["node"], ev["id"], _body(ev["node"], ev["tpl"]))

    async def do_update(self, ev: Event) -> None:
        held = self.model.records.get(checker.key(ev["id"]))
        if held is None or held.owner != ev["node"] or held.poison:
            return
        kind = self.kinds.get(checker.key(ev["id"]))
        pool = [t for t in templates(ev["node"]) if t["kind"] == kind] or templates(ev["node"])
        self._write(ev["node"], ev["id"], dict(pool[ev["tpl"] % len(pool)]))

    async def do_delete(self, ev: Event) -> None:
        code, rid = ev["node"], ev["id"]
        node = self.world.nodes[code]
        self._mark_ahead(code, [rid])
        try:
            records.delete_record(node.ctx.db, node=node.ctx.identity, record_id=uuid.UUID(rid))
        except SimCrash:
            self.model.unknown(rid, code, (True, None))
            raise
        except Exception:
            return
        self.model.acked(rid, code, (True, None))

    async def do_move(self, ev: Event) -> None:
        """A person moves to another village: the old record ends, a new one begins there."""
        held = self.model.records.get(checker.key(ev["id"]))
        target = self.world.nodes[ev["to"]]
        if held is None or held.values[-1][0] or not target.alive:
            return
        data = held.values[-1][1]
        body = next((t for t in templates(ev["to"]) if t["kind"] == "person"), None)
        if body is None:
            return
        await self.do_delete({"node": ev["node"], "id": ev["id"]})
        if self.model.records[checker.key(ev["id"])].values == [(True, None)]:
            self._write(ev["to"], ev["new"], body | {"data": data | {}})

    async def do_bulk(self, ev: Event) -> None:
        code = ev["node"]
        node = self.world.nodes[code]
        items = [{"id": rid, **_body(code, tpl)} for rid, tpl in ev["rows"]]
        self._mark_ahead(code, [rid for rid, _tpl in ev["rows"]])
        try:
            result = records.bulk_write(node.ctx.db, node=node.ctx.identity, items=items)
        except SimCrash:
            for item in items:
                self.model.unknown(item["id"], code, (False, item["data"]))
            raise
        except Exception:
            return
        refused = {r.index for r in result.rejected}
        with node.ctx.db.read() as conn:
            from node.records import repository

            for index, item in enumerate(items):
                if index not in refused:
                    row = repository.get_row(conn, uuid.UUID(item["id"]))
                    assert row is not None
                    self.model.acked(item["id"], code, (False, row.data))

    async def do_directive(self, ev: Event) -> None:
        code = ev["node"]
        node = self.world.nodes[code]
        body = DirectiveCreate(title=ev["name"], kind="task", target=ev["target"])
        try:
            did = issue_directive(
                node.ctx.db, node=node.ctx.identity, body=body, wake=wake_of(node.ctx)
            )
        except Exception:
            return
        self.names[ev["name"]] = str(did)
        self.model.directives[str(did)] = code

    async def do_receipt(self, ev: Event) -> None:
        did = self.names.get(ev["name"])
        if did is None:
            return
        code = ev["node"]
        node = self.world.nodes[code]
        report = directives.complete if ev["state"] == "done" else directives.acknowledge
        self._mark_ahead(code, [receipt_id(uuid.UUID(did), code).hex])
        try:
            report(node.ctx.db, node=node.ctx.identity, directive_id=uuid.UUID(did))
        except SimCrash:
            raise
        except Exception:
            return  # not delivered here yet, not addressed here, or cancelled
        self.model.receipt(did, code, ev["state"])

    async def do_cancel(self, ev: Event) -> None:
        did = self.names.get(ev["name"])
        if did is None:
            return
        node = self.world.nodes[ev["node"]]
        with contextlib.suppress(Exception):
            cancel_directive(
                node.ctx.db,
                node=node.ctx.identity,
                directive_id=uuid.UUID(did),
                wake=wake_of(node.ctx),
            )

    # -- faults and operators ------------------------------------------------------------

    async def do_crash(self, ev: Event) -> None:
        node = self.world.nodes[ev["node"]]
        node.crash_after = (ev["after"], ev["point"])
        self.world.spawn(self._revive(ev["node"], ev["down_s"]), f"revive {ev['node']}")

    async def _revive(self, code: str, down_s: float) -> None:
        """Wait for the armed crash (or give up on it after a while), then bring it back."""
        node = self.world.nodes[code]
        waited = 0.0
        while node.state == "up" and waited < 600:
            await asyncio.sleep(5)
            waited += 5
        if node.state == "up":
            node.crash_after = None
            return
        await asyncio.sleep(down_s)
        if node.state == "down":
            await self.world.restart(code)

    async def do_kill(self, ev: Event) -> None:
        self.world.kill(ev["node"])
        await asyncio.sleep(ev.get("down_s", 60))
        await self.world.restart(ev["node"])

    async def do_partition(self, ev: Event) -> None:
        self.world.links[ev["node"]].partition(ev["seconds"])
        self.world.count("partition")

    async def do_link(self, ev: Event) -> None:
        link = self.world.links[ev["node"]]
        link.faults = LinkFaults(
            drop=ev["drop"], lose_answer=ev["lose_answer"], duplicate=ev["duplicate"],
            delay=ev["delay"],
        )  # fmt: skip
        self.world.count("link faults")
        await asyncio.sleep(ev["seconds"])
        link.faults = LinkFaults()

    async def do_clock(self, ev: Event) -> None:
        self.world.nodes[ev["node"]].skew_ms = int(ev["skew_s"] * 1000)
        self.world.count("clock")

    async def do_disk_full(self, ev: Event) -> None:
        node = self.world.nodes[ev["node"]]
        node.disk_full_until = self.world.now + ev["seconds"]
        self.world.count("disk_full")

    async def do_backup(self, ev: Event) -> None:
        if self.world.nodes[ev["node"]].state != "down":
            self.world.backup(ev["node"])

    async def do_restore(self, ev: Event) -> None:
        code = ev["node"]
        held = self.world.backups[code]
        if not held or self.world.nodes[code].state == "offline":
            return
        index = {"first": 0, "last": len(held) - 1}.get(ev.get("which", "last"))
        if index is None:
            index = self.world.rng.randrange(len(held))
        self._lose(code, [checker.read_rows(held[index])])
        await self.world.restore(code, index)
        self.restored.add(code)

    def _lose(self, code: str, survivors: list[dict[str, checker.Row]]) -> None:
        parent = self.world.nodes[code].parent
        if parent is not None:
            survivors.append(checker.read_rows(self.world.nodes[parent].path))
        self.model.data_lost(code, survivors)

    async def do_rebuild(self, ev: Event) -> None:
        code = ev["node"]
        if self.world.nodes[code].state == "offline":
            return
        self._lose(code, [])
        if await self.world.rebuild(code, force=False):
            # It got the parent's copy as the parent held it when an attempt succeeded (a
            # parent rebuilt meanwhile may hold more by then); nothing else changes what it owns.
            self._lose(code, [])
        self.restored.add(code)

    async def do_rebuild_force(self, ev: Event) -> None:
        if self.world.nodes[ev["node"]].state == "up":
            await self.world.rebuild(ev["node"], force=True)

    async def do_poison(self, ev: Event) -> None:
        """A record this village's older version accepted and its parent cannot store: a
        household whose head's name holds U+0000 (SQLite stores it, PostgreSQL cannot, and
        today's edge refuses it), written as that version did, past the edge checks."""
        code = ev["node"]
        node = self.world.nodes[code]
        body = next(t for t in templates(code) if t["kind"] == "household")
        data = body["data"] | {"head_name": "Tashi\x00"}
        with contextlib.suppress(Exception), node.ctx.db.write() as txn:
            hlc = txn.tick()
            store_versions(
                txn,
                [
                    Version(
                        uuid.UUID(ev["id"]), "household", body["unit"], data, hlc, code, False, 1
                    )
                ],
            )
            self.model.acked(ev["id"], code, (False, data))
            self.model.records[checker.key(ev["id"])].poison = True
        self.world.count("poison")

    async def do_verify(self, ev: Event) -> None:
        if self.world.nodes[ev["node"]].state == "up":
            with contextlib.suppress(Exception):
                await self.world.operator(ev["node"], "verify --repair")
                self.world.count("verify --repair")

    async def do_resync(self, ev: Event) -> None:
        if self.world.nodes[ev["node"]].state == "up":
            with contextlib.suppress(Exception):
                await self.world.operator(ev["node"], "resync")
                self.world.count("resync")

    # -- the monitor ---------------------------------------------------------------------

    async def monitor(self) -> None:
        """Receipts seen at their issuer never go back (while the issuer keeps its history)."""
        while True:
            await asyncio.sleep(MONITOR_EVERY_S)
            self.sample()

    def sample(self) -> None:
        world, model = self.world, self.model
        by_issuer: dict[str, list[str]] = {}
        for did, issuer in model.directives.items():
            by_issuer.setdefault(issuer, []).append(did)
        for issuer, ids in by_issuer.items():
            node = world.nodes[issuer]
            if node.state == "down":
                continue
            rows = checker.read_rows(node.path)
            for row in rows.values():
                if row.kind != "receipt" or str(row.data.get("directive_id")) not in ids:
                    continue
                key = (str(row.data["directive_id"]), row.unit)
                rank = checker.receipt_rank(row)
                before = model.seen_at_issuer.get(key)
                if before is not None and before[1] == node.epoch and rank < before[0]:
                    model.backwards.append(
                        Violation(
                            "receipt backwards",
                            f"directive {key[0][:8]} unit {key[1]} at issuer {issuer}: "
                            f"rank {before[0]} → {rank} at t={world.now:.0f}s",
                        )
                    )
                if before is None or before[1] != node.epoch or rank > before[0]:
                    model.seen_at_issuer[key] = (rank, node.epoch)


WORK_EVENTS = {"write", "update", "delete", "move", "bulk", "directive", "receipt", "cancel"}


def _body(code: str, tpl: int) -> dict[str, Any]:
    pool = templates(code)
    return dict(pool[tpl % len(pool)])


async def _play(world: World, events: list[Event], profile: Profile) -> Result:
    await world.build()
    for code, _parent in profile.tree:  # every node knows the units below it
        below = [c for c, _ in profile.tree if c.startswith(code) and c != code]
        with world.nodes[code].ctx.db.write() as txn:
            for unit in below:
                register_unit(txn, code=unit, name=unit)
    player = Player(world, profile)
    world.spawn(player.monitor(), "monitor")
    for ev in sorted(events, key=lambda e: e["t"]):
        await asyncio.sleep(max(0.0, ev["t"] - world.now))
        world.spawn(player.run(ev), f"{ev['do']} {ev['node']}")
    await asyncio.sleep(max(0.0, profile.duration_s - world.now))
    healed_at = await _heal(world, player, profile)
    violations: list[Violation] = []
    converged = None
    bound = heal_bound(profile)
    while world.now - healed_at <= bound:
        await asyncio.sleep(CHECK_EVERY_S)
        player.sample()
        violations = _check(world, player)
        if not violations:
            converged = world.now - healed_at
            break
    if converged is None:
        violations.append(
            Violation(
                "not converged",
                f"{len(violations)} violation(s) {bound:.0f} s after heal",
            )
        )
    simulated = world.now
    faults = dict(world.counts)
    await world.close()
    return Result(None, events, violations, simulated, converged, faults, trace=world.trace)


def heal_bound(profile: Profile) -> float:
    """The tree must converge within three heartbeats and five minutes of the heal."""
    return 3 * profile.heartbeat_s + 300.0


def _check(world: World, player: Player) -> list[Violation]:
    paths = {code: node.path for code, node in world.nodes.items()}
    return checker.check(player.model, paths, checker.dead_tasks(world.nodes))


async def _heal(world: World, player: Player, profile: Profile) -> float:
    """Every fault ends: links whole, clocks right, disks free, dead nodes restarted; then the
    operator repairs each node that lost data (verify --repair, deepest first)."""
    for link in world.links.values():
        link.down_until = 0.0
        link.faults = LinkFaults()
    for node in world.nodes.values():
        node.skew_ms = 0
        node.disk_full_until = 0.0
        node.crash_after = None
    await asyncio.sleep(5)
    for code, node in world.nodes.items():
        if node.state == "down":
            await world.restart(code)
    await asyncio.sleep(min(120.0, 2 * profile.heartbeat_s))  # a round of pushes first
    for code in sorted(player.restored, key=len, reverse=True):
        if world.nodes[code].parent is not None:
            with contextlib.suppress(Exception, httpx.HTTPError):
                await world.operator(code, "verify --repair")
    return world.now
