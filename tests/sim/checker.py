"""What the clients were told (the model) and the checker that holds the tree to it, after the
faults heal (Jepsen-style: every acknowledged write, no more, no less)."""

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from federation.crypto import suite
from federation.privacy.sealing import Sealer
from node.sync.receive import CLOCK_AHEAD
from node.views.rollups import Deltas
from schemas.directives import REJECTED_PREFIX, receipt_id
from schemas.kinds import FEDERATION_KINDS

FEDERATION = {str(k) for k in FEDERATION_KINDS}
RANK = {"delivered": 0, "acknowledged": 1, "done": 2, "rejected": 3}


@dataclass(frozen=True)
class Violation:
    check: str
    detail: str

    def __str__(self) -> str:
        return f"{self.check}: {self.detail}"


@dataclass
class Row:
    id: str
    kind: str
    unit: str
    data: dict[str, Any]
    hlc: int
    origin: str
    deleted: bool

    @property
    def version(self) -> tuple[int, str]:
        return (self.hlc, self.origin)

    def value(self) -> tuple[bool, Any]:
        return (True, None) if self.deleted else (False, self.data)


def read_rows(path: Path) -> dict[str, Row]:
    """Every record a node's file holds, read with sqlite3 (the node may be up or down); the
    fields sealed at rest opened with the node's data key (node/privacy/at_rest.py)."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        rows = conn.execute(
            "SELECT id, kind, unit, data, hlc, origin, deleted FROM records"
        ).fetchall()
    key_file = path.parent / "data.key"
    sealer = (
        Sealer(suite("default"), bytes.fromhex(key_file.read_text()), None)
        if key_file.is_file()
        else None
    )

    def data(kind: str, rid: str, text: str) -> Any:
        value = json.loads(text)
        return sealer.open(kind, rid, value) if sealer is not None else value

    return {
        str(r[0]).replace("-", ""): Row(
            str(r[0]).replace("-", ""), r[1], r[2], data(r[1], r[0], r[3]), r[4], r[5], bool(r[6])
        )
        for r in rows
    }


def receipt_rank(row: Row | None) -> int:
    if row is None or row.deleted:
        return -1
    state = str(row.data.get("state"))
    if state == "done" and str(row.data.get("note") or "").startswith(REJECTED_PREFIX):
        return RANK["rejected"]
    return RANK.get(state, -1)


@dataclass
class Expect:
    """What a record may hold after heal: one of `values` ((deleted, data)), at its owner and,
    with the owner's version, at every ancestor. Several values while an outcome is unknown."""

    owner: str
    values: list[tuple[bool, Any]]
    poison: bool = False


@dataclass
class Model:
    parents: dict[str, str | None]
    records: dict[str, Expect] = field(default_factory=dict)
    directives: dict[str, str] = field(default_factory=dict)  # id -> issuer
    receipts: dict[tuple[str, str], int] = field(default_factory=dict)  # (directive, unit) -> rank
    backwards: list[Violation] = field(default_factory=list)  # seen by the monitor
    seen_at_issuer: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    # records written while their owner's clock ran ahead of TIERSYNC_MAX_CLOCK_SKEW_S: a
    # parent holds such a version in quarantine (clock ahead) until its own time reaches it
    ahead: set[str] = field(default_factory=set)

    def ancestors(self, code: str) -> list[str]:
        out, at = [], self.parents.get(code)
        while at is not None:
            out.append(at)
            at = self.parents.get(at)
        return out

    def acked(self, rid: str, owner: str, value: tuple[bool, Any]) -> None:
        self.records[key(rid)] = Expect(owner, [value])

    def unknown(self, rid: str, owner: str, value: tuple[bool, Any]) -> None:
        held = self.records.get(key(rid))
        if held is None:
            self.records[key(rid)] = Expect(owner, [(True, None), value])  # absent or written
        else:
            held.values.append(value)

    def receipt(self, directive: str, unit: str, state: str) -> None:
        key = (directive, unit)
        self.receipts[key] = max(self.receipts.get(key, -1), RANK[state])

    def data_lost(self, code: str, survivors: Iterable[dict[str, Row]]) -> None:
        """`code` lost its data (restore or rebuild): what it owned is now whatever survives
        in `survivors` (its backup, its parent's copy), the newest version of each."""
        kept = list(survivors)
        for rid, expect in self.records.items():
            if expect.owner != code:
                continue
            found = [s[rid] for s in kept if rid in s]
            if not found:
                expect.values = [(True, None)]  # never reached anywhere that survived
                continue
            newest = max(found, key=lambda r: r.version)
            expect.values = [newest.value()]
        for (directive, unit), rank in list(self.receipts.items()):
            if unit != code:
                continue
            rid = receipt_id(_uuid(directive), unit).hex
            best = max((receipt_rank(s.get(rid)) for s in kept), default=-1)
            self.receipts[(directive, unit)] = min(rank, best)


def key(rid: str) -> str:
    """Ids as the checker keys them: 32 hex digits (how SQLite stores them)."""
    return rid.replace("-", "")


def _uuid(text: str) -> Any:
    import uuid

    return uuid.UUID(text)


def recount(path: Path, floor: int) -> list[Violation]:
    """The node's roll-up table against a recount of its live records, by the hook's own rules."""
    rows = read_rows(path)
    deltas = Deltas(floor)
    for row in rows.values():
        if not row.deleted:
            deltas.add(row.kind, row.unit, row.data, +1)
    want = {
        (r["unit"], r["dim"], r["kind"], r["key"]): (r["n"], r["amount"])
        for r in deltas.rollup_rows()
    }
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        held = {
            (u, d, k, key): (n, a)
            for u, d, k, key, n, a in conn.execute(
                "SELECT unit, dim, kind, key, n, amount FROM view_rollup"
                " WHERE n != 0 OR amount != 0"
            )
        }
    out = []
    for cell in sorted(set(want) | set(held)):
        if want.get(cell, (0, 0)) != held.get(cell, (0, 0)):
            out.append(
                Violation(
                    "figures",
                    f"{path.parent.name}: roll-up {cell} holds {held.get(cell, (0, 0))}, "
                    f"a recount gives {want.get(cell, (0, 0))}",
                )
            )
    return out[:5]


def _dead(row: Row | None) -> bool:
    return row is None or row.deleted


def quarantine_reasons(path: Path) -> list[tuple[str, str]]:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        return [
            (str(rid).replace("-", ""), reason or "")
            for rid, reason in conn.execute("SELECT record_id, reason FROM quarantine")
        ]


def check(model: Model, paths: dict[str, Path], tasks: dict[str, list[str]]) -> list[Violation]:
    """Every check on the healed tree; [] when it holds."""
    out: list[Violation] = []
    rows = {code: read_rows(path) for code, path in paths.items()}
    quarantined = {code: quarantine_reasons(path) for code, path in paths.items()}
    for code, held in quarantined.items():
        for rid, reason in held:
            if not reason.strip():
                out.append(Violation("quarantine", f"{code} holds {rid} without a reason"))
            elif rid in model.ahead and reason.startswith(CLOCK_AHEAD):
                continue  # held by design until this node's time reaches the version
            elif rid in model.records and not model.records[rid].poison:
                out.append(Violation("quarantine", f"{code} quarantined acked {rid}: {reason}"))
    for rid, expect in sorted(model.records.items()):
        at_owner = rows[expect.owner].get(rid)
        got = at_owner.value() if at_owner else (True, None)
        if got not in expect.values:
            state = "absent" if at_owner is None else ("deleted" if at_owner.deleted else "live")
            out.append(
                Violation(
                    "lost write" if got[0] else "unexpected value",
                    f"{rid} at its owner {expect.owner} is {state} ({_version(at_owner)}), "
                    f"expected {_show(expect.values)}"
                    + (" with the last acknowledged write's data" if not got[0] else ""),
                )
            )
        for up in model.ancestors(expect.owner):
            above = rows[up].get(rid)
            if expect.poison and (above is None and any(q == rid for q, _r in quarantined[up])):
                break  # quarantined with its reason at the first ancestor: nothing above
            if (
                rid in model.ahead
                and at_owner is not None
                and (above is None or above.version < at_owner.version)
                and any(q == rid and r.startswith(CLOCK_AHEAD) for q, r in quarantined[up])
            ):
                break  # the owner's clock ran ahead: held at this ancestor until its time
            if at_owner is None and above is None:
                continue
            if _dead(at_owner) and _dead(above):
                continue  # a tombstone collected on one side, kept on the other (decision 0702)
            if (
                at_owner is None
                and rid in model.ahead
                and any(q == rid and r.startswith(CLOCK_AHEAD) for q, r in quarantined[up])
            ):
                # The owner's clock ran ahead: its deletion is quarantined at this ancestor
                # until its time (and the owner, whose push was acked, collected it).
                break
            if above is None or at_owner is None or above.version != at_owner.version:
                out.append(
                    Violation(
                        "ancestor differs",
                        f"{rid} (owner {expect.owner}): {up} holds "
                        f"{_version(above)}, the owner {_version(at_owner)}",
                    )
                )
                break
    for code, held in rows.items():
        for rid, row in held.items():
            if row.kind in FEDERATION or rid in model.records:
                continue
            out.append(
                Violation("unexpected record", f"{code} holds {rid} ({row.kind}), never written")
            )
    for (directive, unit), rank in sorted(model.receipts.items()):
        rid = receipt_id(_uuid(directive), unit).hex
        issuer = model.directives.get(directive)
        path = [unit, *model.ancestors(unit)]
        for code in path:
            got = receipt_rank(rows[code].get(rid))
            if rid in model.ahead and any(
                q == rid and r.startswith(CLOCK_AHEAD) for q, r in quarantined[code]
            ):
                break  # reported while the unit's clock ran ahead: held here until its time
            if got < rank:
                out.append(
                    Violation(
                        "receipt behind",
                        f"directive {directive[:8]} unit {unit}: {code} holds rank {got}, "
                        f"the unit reported {rank}",
                    )
                )
                break
            if code == issuer:
                break
    out.extend(model.backwards)
    for code, path_ in paths.items():
        out.extend(recount(path_, len(code)))
    for code, dead in tasks.items():
        out.extend(Violation("task dead", f"{code}: {name}") for name in dead)
    return out


def _show(values: list[tuple[bool, Any]]) -> str:
    return " or ".join("absent/deleted" if d else "live" for d, _v in values)


def _version(row: Row | None) -> str:
    if row is None:
        return "nothing"
    return f"{row.hlc:016x}.{row.origin}{' (deleted)' if row.deleted else ''}"


def dead_tasks(nodes: dict[str, Any]) -> dict[str, list[str]]:
    """The background loops that no longer run, per serving node (a task found by walking each
    running task's chain of awaited coroutines)."""
    alive: set[int] = set()
    for task in asyncio.all_tasks():
        coro: Any = task.get_coro()
        while coro is not None:
            frame = getattr(coro, "cr_frame", None)
            owner = frame.f_locals.get("self") if frame is not None else None
            if owner is not None:
                alive.add(id(owner))
            coro = getattr(coro, "cr_await", None)
    out: dict[str, list[str]] = {}
    for code, node in nodes.items():
        if not node.alive or node.parent is None:
            continue
        ctx = node.ctx
        dead = [
            name
            for name, loop in (("replicator", ctx.replicator), ("directive puller", ctx.puller))
            if loop is not None and id(loop) not in alive
        ]
        if dead:
            out[code] = dead
    return out
