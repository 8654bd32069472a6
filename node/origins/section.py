"""The `origins` push section: each batch carries the seal of the records its sender
originates, and a relay's batch the seals of its descendants' records it forwards
(docs/decisions/0951, docs/protocol.md "Origin signatures").

- **Sealing** (every node with a parent): the records of the batch whose origin is this node,
  hashed as each ancestor level will hold them (node/origins/leaves.py), one Merkle root per
  level, one signature over the roots (federation/origin.py): one signature per batch.
- **Relaying** (a node with a parent): the seals a push brings are kept with the ids of the
  records they cover and those records' leaves at the levels above (`relayed_seals`); a batch
  going up finds the seals of the records it carries by their log positions and forwards each
  with the leaves of the sealed records it does not carry. Records that reached this node
  unsealed (a child of an earlier release) are declared `unsealed` by origin.
- **Checking** (a node holding the prefecture's CA), before anything is stored: each record of
  a push with the section must be covered by a seal of its origin whose root for this level
  matches and whose signature verifies with the origin's key certified by the CA. What fails
  is quarantined, each record named with its origin (the rest applied: decision 0603), audited
  and counted for `status`. A push without the section (a child of an earlier release) is
  taken as before and counted as not checked. An origin once seen sealing never passes
  unsealed again with a version above the batches it sealed. Without a CA nothing is checked
  (as for directive signatures).
"""

import base64
import binascii
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection

from federation import keycert, origin
from federation.crypto import suite as suite_of
from federation.hlc import parse_version
from federation.identity import Identity
from federation.keycert import KeyCertRefused
from node.audit import service as audit
from node.db import WriteTxn
from node.origins import repository
from node.origins.leaves import LeafMaker, leaf_of
from node.records.wire import WIRE_WIDTH
from node.seams import OutgoingInfo
from node.sync.receive import ORIGIN_SEAL
from node.units import keys as descendant_keys
from schemas.codes import level_of
from schemas.storable import INT64_MAX
from schemas.sync import ChangeRecord, PushBatch, SealWire


@dataclass
class Screened:
    """What a check makes of a push before it is stored: the records to quarantine (by their
    index in `batch.records`, with the reason) and what to keep once the push is stored."""

    refused: dict[int, str] = field(default_factory=dict)
    keep: Callable[[WriteTxn], None] | None = None


def _ranges(indexes: Sequence[int]) -> list[list[int]]:
    out: list[list[int]] = []
    for i in indexes:
        if out and out[-1][1] == i - 1:
            out[-1][1] = i
        else:
            out.append([i, i])
    return out


def _origin_of(version: str) -> str:
    return version.partition(".")[2]


class OriginSection:
    name = "origins"

    def __init__(
        self,
        code: str,
        *,
        has_parent: bool,
        suite_name: str,
        data_dir: Path,
        leaves: LeafMaker | None,
        ca: bytes | None,
    ) -> None:
        self.code = code
        self.has_parent = has_parent
        self.suite_name = suite_name
        self.suite = suite_of(suite_name)
        self.data_dir = Path(data_dir)
        self.leaves = leaves if has_parent else None  # levels above this node
        self.ca = ca
        self.level = level_of(code).value

    @cached_property
    def _sign(self) -> Callable[[bytes], bytes]:
        return Identity.of(self.data_dir, self.suite_name).key().sign

    # --- going up -----------------------------------------------------------------------

    def outgoing(self, conn: Connection, info: OutgoingInfo) -> dict[str, Any] | None:
        if self.leaves is None:
            return None
        own: list[int] = []
        relayed: list[int] = []
        for k, wire in enumerate(info.records):
            (own if _origin_of(wire["version"]) == self.code else relayed).append(k)
        seals: list[dict[str, Any]] = []
        if own:
            seals.append(self._seal_own(info, own))
        unsealed: set[str] = set()
        if relayed:
            seals += self._forward(conn, info, relayed, unsealed)
        out: dict[str, Any] = {"seals": seals}
        if unsealed:
            out["unsealed"] = sorted(unsealed)
        return out

    def _seal_own(self, info: OutgoingInfo, own: list[int]) -> dict[str, Any]:
        assert self.leaves is not None
        per_level: list[list[bytes]] = [[] for _ in self.leaves.levels]
        for k in own:
            wire = info.records[k]
            data = wire["data"]
            if isinstance(data, orjson.Fragment):  # sent as held, unparsed
                data = orjson.loads(info.rows[k][3])
            for i, h in enumerate(self.leaves.of(wire, data, first_done=True)):
                per_level[i].append(h)
        roots: dict[str, str] = {}
        below: tuple[list[bytes], str] | None = None
        for level, hs in zip(self.leaves.levels, per_level, strict=True):
            # A level that holds the kinds of the batch as the level below does has its leaves,
            # hence its root (LeafMaker.of repeats them): one tree, not one per level.
            root = (
                below[1] if below and below[0] == hs else origin.merkle_root(self.suite, hs).hex()
            )
            roots[level], below = root, (hs, root)
        seal = origin.Seal(self.code, info.since, info.until, roots)
        signature = base64.b64encode(self._sign(seal.message())).decode()
        return {
            "origin": self.code,
            "since": info.since,
            "until": info.until,
            "roots": roots,
            "signature": signature,
            "at": _ranges(own),
        }

    def _forward(
        self, conn: Connection, info: OutgoingInfo, relayed: list[int], unsealed: set[str]
    ) -> list[dict[str, Any]]:
        seqs = [info.rows[k][WIRE_WIDTH] for k in relayed]
        kept = repository.relayed_between(conn, min(seqs), max(seqs))
        parts = [_Part(row) for row in kept]
        carried: dict[int, list[int]] = {}  # part index → indexes in this batch
        astray: dict[str, list[tuple[int, int, bytes]]] = {}  # origin → (index, hlc, id)
        for k, seq in zip(relayed, seqs, strict=True):
            wire = info.records[k]
            hlc, who = parse_version(wire["version"])
            rid = uuid.UUID(wire["id"]).bytes
            for p, part in enumerate(parts):
                within = part.local_from <= seq <= part.local_to
                if part.origin == who and within and rid in part.index:
                    carried.setdefault(p, []).append(k)
                    break
            else:
                astray.setdefault(who, []).append((k, hlc, rid))
        for who, entries in astray.items():
            self._find_astray(conn, who, entries, parts, carried, unsealed)
        out = []
        for p, ks in carried.items():
            part = parts[p]
            taken = {part.index[uuid.UUID(info.records[k]["id"]).bytes] for k in ks}
            leaves = {}
            for level in part.levels:
                mine = [h for j, h in enumerate(part.leaves_at(level)) if j not in taken]
                rest = [*(h.hex() for h in mine), *part.extra.get(level, [])]
                if rest:
                    leaves[level] = rest
            entry = {**part.seal, "at": _ranges(ks)}
            if leaves:
                entry["leaves"] = leaves
            out.append(entry)
        return out

    def _find_astray(
        self,
        conn: Connection,
        who: str,
        entries: list[tuple[int, int, bytes]],
        parts: list["_Part"],
        carried: dict[int, list[int]],
        unsealed: set[str],
    ) -> None:
        """Records stored here since the push that brought them (applied from this node's
        quarantine, say): their seal by the origin's batch their version lies in."""
        hlcs = [hlc for _, hlc, _ in entries]
        found = repository.relayed_of(conn, who, min(hlcs), max(hlcs))
        known = {p.row_id: n for n, p in enumerate(parts)}
        extra = [_Part(row) for row in found]
        for k, hlc, rid in entries:
            for part in extra:
                if part.since < hlc <= part.until and rid in part.index:
                    if part.row_id not in known:
                        known[part.row_id] = len(parts)
                        parts.append(part)
                    carried.setdefault(known[part.row_id], []).append(k)
                    break
            else:
                unsealed.add(who)

    def incoming(
        self, txn: WriteTxn, *, child: str, batch: PushBatch, stored: int
    ) -> dict[str, Any]:
        return {}  # everything happens in `screen`, before and after the records are stored

    # --- coming in ----------------------------------------------------------------------

    def screen(
        self, txn: WriteTxn, *, child: str, batch: PushBatch, refused_at: Sequence[int] = ()
    ) -> Screened:
        """Check the push's records against their seals (with a CA), before they are stored;
        `refused_at` are the indexes of the pushed records that did not parse (dropped from
        `batch.records`)."""
        origins = batch.origins
        if origins is None:  # a child of an earlier release: taken as before, not checked
            repair = batch.until == 0  # a repair (node/ops/exchanges.py) carries no seals
            repository.note_push(
                txn,
                child=child,
                sends=None if repair else False,
                refused=0,
                last=None,
                unchecked=len(batch.records),
            )
            return Screened()
        records = batch.records
        position = _positions(len(records), refused_at)
        members: list[tuple[SealWire, list[int]]] = []
        problems: dict[int, str] = {}
        sent = len(records) + len(refused_at)
        for entry in origins.seals:
            at = [
                position[i]
                for a, b in entry.at
                for i in range(a, min(b, sent - 1) + 1)
                if i in position
            ]
            members.append((entry, at))
        outcome = Screened()
        if self.ca is not None:
            problems = self._check(txn, child, batch, members, origins.unsealed)
            if problems:
                self._report(txn, child, batch, problems)
        else:
            repository.note_push(txn, child=child, sends=True, refused=0, last=None, unchecked=0)
        outcome.refused = problems
        if self.leaves is not None:  # a relay: keep the seals to forward them
            start = txn.last_hlc
            good = [(e, at) for e, at in members if at and not problems.keys() & set(at)]
            outcome.keep = lambda t: self._keep(t, child, records, good, start)
        return outcome

    def _check(
        self,
        txn: WriteTxn,
        child: str,
        batch: PushBatch,
        members: list[tuple[SealWire, list[int]]],
        unsealed: list[str],
    ) -> dict[int, str]:
        records = batch.records
        verified: set[int] = set()
        broken: dict[int, str] = {}
        sealing: dict[str, int] = {}  # origin → the lowest `since` of its seals verified
        keys: dict[str, bytes | str] = {}
        for entry, at in members:
            wrong = [i for i in at if _origin_of(records[i].version) != entry.origin]
            for i in wrong:
                broken[i] = self._reason(records[i], f"在 {entry.origin} 的签名之下，来源却不是它")
            at = [i for i in at if i not in wrong]
            if entry.origin not in keys:
                keys[entry.origin] = self._key(txn, entry.origin, batch)
            key = keys[entry.origin]
            if isinstance(key, str):
                for i in at:
                    broken.setdefault(i, self._reason(records[i], key))
                continue
            seal = origin.Seal(
                entry.origin, entry.since, entry.until, dict(entry.roots), entry.signature
            )
            others = [bytes.fromhex(h) for h in entry.leaves.get(self.level, [])]
            held = [_as_leaf_record(records[i]) for i in at]
            try:
                origin.check_seal(
                    self.suite, key, seal, level=self.level, records=held, other_leaves=others
                )
            except origin.SealBroken as exc:
                named = set(exc.ids) or {str(records[i].id) for i in at}
                why = (
                    f"批次 {entry.since}..{entry.until} 的签名不符（{exc.reason}）：转发途中被改动"
                )
                for i in at:
                    if str(records[i].id) in named:
                        broken.setdefault(i, self._reason(records[i], why))
                continue
            verified.update(at)
            sealing[entry.origin] = min(entry.since, sealing.get(entry.origin, entry.since))
        repository.add_sealing(txn, sealing)
        declared = set(unsealed) - {child}  # the child itself runs this release: it seals
        known = repository.sealing_among(txn.conn, sorted(declared))
        unchecked = 0
        for i, rec in enumerate(records):
            if i in verified or i in broken:
                continue
            try:
                hlc, who = parse_version(rec.version)
            except ValueError:
                continue  # quarantined for its version (node/sync/receive.py)
            if who in declared and hlc <= known.get(who, INT64_MAX):
                # From a node of an earlier release below the child, or made before its
                # origin sealed (a relay resending what it held from before the upgrade).
                unchecked += 1
                continue
            if who in known:
                why = f"没有签名，而 {who} 此前的记录都有签名：中间节点去掉了签名"
            else:
                why = f"没有 {who} 的签名"
            broken[i] = self._reason(rec, why)
        for i in verified:
            broken.pop(i, None)  # another seal of the same records verified
        repository.note_push(
            txn,
            child=child,
            sends=True,
            refused=len(broken),
            last=next(iter(broken.values()), None),
            unchecked=unchecked,
        )
        return broken

    def _reason(self, rec: ChangeRecord, why: str) -> str:
        who = _origin_of(rec.version)
        return f"{ORIGIN_SEAL}：记录 {rec.id}（来源 {who}）未通过来源签名检查：{why}"[:500]

    def _key(self, txn: WriteTxn, code: str, batch: PushBatch) -> bytes | str:
        """The origin's public key certified by the CA, or why there is none."""
        assert self.ca is not None
        for entry in batch.keys:  # a key that arrives with this very push
            if entry.code != code or entry.certificate is None:
                continue
            try:
                cert = keycert.parse(entry.certificate)
                keycert.check(
                    self.ca, cert, node=code, suite=self.suite_name, public_key=entry.public_key
                )
                return base64.b64decode(entry.public_key, validate=True)
            except (KeyCertRefused, binascii.Error, ValueError):
                break
        row = descendant_keys.get_key(txn.conn, code)
        if row is None:
            return f"本节点没有 {code} 的密钥"
        if not row.certified or row.suite != self.suite_name:
            return f"{code} 的密钥未经 CA 证明"
        try:
            return base64.b64decode(row.public_key, validate=True)
        except (binascii.Error, ValueError):
            return f"{code} 的密钥无法读取"

    def _report(
        self, txn: WriteTxn, child: str, batch: PushBatch, problems: dict[int, str]
    ) -> None:
        named = sorted({(str(batch.records[i].id), _origin_of(batch.records[i].version))
                        for i in problems})  # fmt: skip
        listed = ", ".join(f"{rid} (origin {who})" for rid, who in named[:10])
        more = f" and {len(named) - 10} more" if len(named) > 10 else ""
        audit.in_txn(
            txn,
            actor=f"node:{child}",
            action="sync.origin_seal",
            outcome="refused",
            detail=f"{len(named)} record(s) quarantined, not covered by a valid seal of their "
            f"origin: {listed}{more}; first reason: {next(iter(problems.values()))}",
        )

    def _keep(
        self,
        txn: WriteTxn,
        child: str,
        records: list[ChangeRecord],
        good: list[tuple[SealWire, list[int]]],
        start: int,
    ) -> None:
        assert self.leaves is not None
        levels = self.leaves.levels
        rows = []
        for entry, at in good:
            per_level: list[list[bytes]] = [[] for _ in levels]
            ids = []
            for i in at:
                rec = records[i]
                ids.append(rec.id.bytes)
                wire = _as_leaf_record(rec)
                for n, h in enumerate(self.leaves.of(wire, wire["data"], first_done=False)):
                    per_level[n].append(h)
            extra = {lvl: entry.leaves[lvl] for lvl in levels if entry.leaves.get(lvl)}
            rows.append(
                {
                    "origin": entry.origin,
                    "since": entry.since,
                    "until": entry.until,
                    "via": child,
                    "roots": orjson.dumps(entry.roots).decode(),
                    "signature": entry.signature,
                    "local_from": start + 1,
                    "local_to": max(txn.last_hlc, start + 1),
                    "levels": ",".join(levels),
                    "members": b"".join(ids),
                    "leaves": b"".join(h for hs in per_level for h in hs),
                    "extra": orjson.dumps(extra).decode(),
                }
            )
        repository.add_relayed(txn, rows)


class _Part:
    """One kept seal, read back for an outgoing batch."""

    def __init__(self, row: Any) -> None:
        self.row_id = int(row.id)
        self.origin = row.origin
        self.local_from = int(row.local_from)
        self.local_to = int(row.local_to)
        self.levels = row.levels.split(",") if row.levels else []
        members = bytes(row.members)
        self.count = len(members) // 16
        self.index = {members[j * 16 : (j + 1) * 16]: j for j in range(self.count)}
        self._leaves = bytes(row.leaves)
        self.extra: dict[str, list[str]] = orjson.loads(row.extra)
        self.since, self.until = int(row.since), int(row.until)
        self.seal = {
            "origin": row.origin,
            "since": int(row.since),
            "until": int(row.until),
            "roots": orjson.loads(row.roots),
            "signature": row.signature,
        }

    def leaves_at(self, level: str) -> list[bytes]:
        n = self.levels.index(level)
        size = 32 * self.count
        block = self._leaves[n * size : (n + 1) * size]
        return [block[j * 32 : (j + 1) * 32] for j in range(self.count)]


def _positions(parsed: int, refused_at: Sequence[int]) -> dict[int, int]:
    """Index in the push as sent → index in `batch.records` (the records that parsed)."""
    if not refused_at:
        return {i: i for i in range(parsed)}
    dropped = set(refused_at)
    sent = [i for i in range(parsed + len(dropped)) if i not in dropped]
    return {i: n for n, i in enumerate(sent)}


def _as_leaf_record(rec: ChangeRecord) -> dict[str, Any]:
    return {
        "id": str(rec.id),
        "kind": rec.kind,
        "unit": rec.unit,
        "data": rec.data,
        "version": rec.version,
        "deleted": rec.deleted,
        "schema_version": rec.schema_version,
    }


__all__ = ["ORIGIN_SEAL", "OriginSection", "Screened", "leaf_of"]
