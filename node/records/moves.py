"""A record moving to a unit in another subtree: the old holder ends it, the new holder begins
it, and each end links to the other (docs/decisions/0652).

Records go up, never sideways, and each unit is written only where it is held (0650), so a move
between two townships' villages is two writes at two nodes: the old record becomes a tombstone
whose data is only the link `{"moved_to": {"id", "unit"}}` (no personal data), and the new
record, at `moved_id(old id, new unit)`, carries `moved_from`. The id is derived, so each half
is written once and idempotently, in either order; counts at every level are right once both are
in (each half is an ordinary write: the roll-ups follow it).
"""

import uuid
from typing import Any

from pydantic import ValidationError

from node.audit import service as audit
from node.context import NodeIdentity
from node.db import Database, WriteTxn
from node.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from node.principal import Principal, local
from node.records import repository
from node.records.service import to_read
from node.records.store import Version, store_versions
from node.units.holders import enrolled_children, held_here
from schemas.common import MoveLink
from schemas.errors import details_from_validation_error
from schemas.kinds import FEDERATION_KINDS, SCHEMA_VERSION, validate_data
from schemas.records import MoveResult, RecordMove, moved_id

MOVABLE = ("person",)


def _link(rid: uuid.UUID, unit: str) -> dict[str, Any]:
    return MoveLink(id=rid, unit=unit).model_dump(mode="json")


def _new_data(kind: str, data: dict[str, Any], old: MoveLink, to_unit: str) -> dict[str, Any]:
    data = {k: v for k, v in data.items() if k != "moved_from"}
    grid = data.get("grid")
    if isinstance(grid, str) and not grid.startswith(to_unit):
        data.pop("grid")  # the old grid is not in the new unit
    try:
        return validate_data(kind, data | {"moved_from": old.model_dump(mode="json")})
    except ValidationError as exc:
        details = [
            FieldError(d.field, d.reason)
            for d in details_from_validation_error(exc, prefix=("data",))
        ]
        raise Invalid(f"invalid {kind} data", details) from exc


def _version(txn: WriteTxn, node: NodeIdentity, rid: uuid.UUID, kind: str, unit: str,
             data: dict[str, Any], deleted: bool) -> Version:  # fmt: skip
    return Version(rid, kind, unit, data, txn.issue(), node.code, deleted, SCHEMA_VERSION)


def move_record(
    db: Database,
    *,
    node: NodeIdentity,
    record_id: uuid.UUID,
    body: RecordMove,
    by: Principal | None = None,
) -> MoveResult:
    """Write this node's half (or both halves) of moving `record_id` to `body.unit`."""
    by = by or local()
    new_id = moved_id(record_id, body.unit)
    with db.write() as txn:
        children = enrolled_children(txn.conn)
        holds_new = held_here(body.unit, node.code, children)
        heads = repository.fetch_heads(txn.conn, [record_id, new_id])
        old = repository.get_row(txn.conn, record_id)
        mine = old is not None and old.origin == node.code
        if mine:
            assert old is not None
            result = _end(txn, node, old, body, new_id, by)
        elif holds_new:
            result = None
        elif old is not None and not old.deleted:
            raise Conflict(
                f"record {record_id} belongs to node {old.origin}: move it there "
                "(or send it a correction request)",
                [FieldError("id", f"owned by {old.origin}")],
            )
        else:
            raise Forbidden(
                f"this node holds neither record {record_id} nor unit {body.unit}",
                [FieldError("unit", "not held here")],
            )
        from_unit = old.unit if mine and old is not None else body.from_unit
        if from_unit is None:
            raise Invalid(
                "the new holder names the unit the record moves from",
                [FieldError("from_unit", "required where the old record is not held")],
            )
        link_from = MoveLink(id=record_id, unit=from_unit)
        begun = None
        if holds_new:
            by.require(body.unit)
            kind = body.kind or (old.kind if old is not None else None)
            data = body.data if body.data is not None else (old.data if mine and old else None)
            if kind is None or data is None or (mine and old is not None and old.deleted):
                raise Invalid(
                    "the new record needs its kind and data (the old one is not held here)",
                    [FieldError("data", "required")],
                )
            _check_movable(kind)
            head = heads.get(new_id)
            if head is not None and head.origin != node.code:
                raise Conflict(f"record {new_id} belongs to node {head.origin}")
            new_data = _new_data(kind, data, link_from, body.unit)
            store_versions(txn, [_version(txn, node, new_id, kind, body.unit, new_data, False)])
            audit.in_txn(
                txn, actor=by.actor, action="record.move_in",
                detail=f"{new_id} ({kind} at {body.unit}) from {record_id} at {from_unit}",
            )  # fmt: skip
            row = repository.get_row(txn.conn, new_id)
            assert row is not None
            begun = to_read(row)
        pending = None
        if result is None:
            pending = f"end record {record_id} at the node holding {from_unit} (move it there)"
        elif begun is None:
            pending = f"begin record {new_id} at the node holding {body.unit} (move it there)"
        return MoveResult(
            moved_from=link_from,
            moved_to=MoveLink(id=new_id, unit=body.unit),
            ended=result is not None,
            begun=begun,
            pending=pending,
        )


def _check_movable(kind: str) -> None:
    if kind in FEDERATION_KINDS or kind not in MOVABLE:
        raise Invalid(
            f"{kind} records do not move; only {', '.join(MOVABLE)}",
            [FieldError("kind", "not movable")],
        )


def _end(
    txn: WriteTxn,
    node: NodeIdentity,
    old: Any,
    body: RecordMove,
    new_id: uuid.UUID,
    by: Principal,
) -> bool:
    """The old record ends here: a tombstone holding only the link to the new one."""
    _check_movable(old.kind)
    by.require(old.unit)
    link = {"moved_to": _link(new_id, body.unit)}
    if old.deleted:
        if (old.data or {}) == link:
            return True  # ended by this move already: idempotent
        raise NotFound(f"record {old.id} not found")
    store_versions(txn, [_version(txn, node, old.id, old.kind, old.unit, link, True)])
    audit.in_txn(
        txn,
        actor=by.actor,
        action="record.move_out",
        detail=f"{old.id} ({old.kind} at {old.unit}) to {new_id} at {body.unit}",
    )
    return True
