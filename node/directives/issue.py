"""The issuer's side: fix the target set from the registry, issue, cancel and supersede.

A directive's target list is resolved once, at issue time, from this node's unit registry (its
whole subtree, replicated up), and stored in the directive as `{"units": [...]}`; the target as
it was asked for is kept in the issuer's index for display.
"""

import uuid
from typing import Any

from sqlalchemy import Connection, Row

from node.audit import service as audit
from node.context import NodeIdentity
from node.db import Database, WriteTxn
from node.directives.feed import Wake
from node.directives.versions import receipts_due, store_directive
from node.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from node.principal import os_actor
from node.records import repository as records_repo
from node.records.store import store_versions
from node.units import repository as units_repository
from schemas.codes import CODE_LENGTHS, is_within
from schemas.directives import DirectiveCreate
from schemas.kinds import FEDERATION_KINDS
from schemas.kinds.directive import Directive, DirectiveKind, DirectiveStatus, Target


def _below(code: str, issuer: str) -> bool:
    return code != issuer and is_within(code, issuer)


def _correction_target(conn: Connection, issuer: str, body: DirectiveCreate) -> Target:
    """A correction request goes to the node that owns the record: the only one that may edit."""
    assert body.record_id is not None
    record = records_repo.get_row(conn, body.record_id)
    if record is None or record.deleted:
        raise Invalid(
            f"record {body.record_id} is not held here",
            [FieldError("record_id", "no such live record at this node")],
        )
    if record.kind in FEDERATION_KINDS:
        raise Invalid(
            f"record {body.record_id} is a {record.kind}; only data records can be corrected",
            [FieldError("record_id", f"a {record.kind}")],
        )
    owner = record.origin
    if not _below(owner, issuer):
        raise Invalid(
            f"record {body.record_id} is owned by this node ({owner}): edit it directly",
            [FieldError("record_id", f"owned by {owner}")],
        )
    if body.target is not None and body.target.units != [owner]:
        raise Invalid(
            f"a correction request goes to the record's owner {owner}",
            [FieldError("target", f'expected {{"units": ["{owner}"]}} or no target')],
        )
    return Target(units=[owner])


def resolve_targets(conn: Connection, issuer: str, target: Target) -> list[str]:
    """The fixed, sorted target set; 403 naming units outside the subtree, 422 for unknown."""
    registry = {
        u.code: u for u in units_repository.units_in_subtree(conn, issuer) if u.code != issuer
    }
    if target.level is not None:
        if CODE_LENGTHS[target.level] <= len(issuer):
            raise Invalid(
                f"level {target.level} is not below this node ({issuer})",
                [FieldError("target.level", "not a level below the issuer")],
            )
        units = sorted(c for c, u in registry.items() if u.level == target.level)
        if not units:
            raise Invalid(
                f"no {target.level} unit is registered below {issuer}",
                [FieldError("target.level", "no such units in this subtree")],
            )
        return units
    if target.units is not None:
        outside = [(i, u) for i, u in enumerate(target.units) if not _below(u, issuer)]
        if outside:
            raise Forbidden(
                f"target units {', '.join(u for _, u in outside)} are not below this node "
                f"({issuer})",
                [FieldError(f"target.units.{i}", f"{u} not below {issuer}") for i, u in outside],
            )
        unknown = [(i, u) for i, u in enumerate(target.units) if u not in registry]
        if unknown:
            raise Invalid(
                f"target units {', '.join(u for _, u in unknown)} are not in this node's registry",
                [FieldError(f"target.units.{i}", f"unknown unit {u}") for i, u in unknown],
            )
        return sorted(target.units)
    if not registry:
        raise Invalid(
            f"no unit is registered below {issuer}", [FieldError("target", "empty subtree")]
        )
    return sorted(registry)


def _audit(txn: WriteTxn, actor: str | None, action: str, detail: str) -> None:
    audit.in_txn(txn, actor=actor or os_actor(), action=action, detail=detail)


def _issue(
    txn: WriteTxn,
    node: NodeIdentity,
    body: DirectiveCreate,
    actor: str | None,
    reveal_key: str | None = None,
) -> uuid.UUID:
    if body.kind == DirectiveKind.reveal and reveal_key is None:
        raise Invalid(
            "a reveal request is made with POST /api/v1/records/{id}/reveal-request "
            "(or `tiersync reveal request`), which gives it its one-time key",
            [FieldError("kind", "reveal requests are not issued here")],
        )
    if body.kind in (DirectiveKind.correction, DirectiveKind.reveal):
        target = _correction_target(txn.conn, node.code, body)
    else:
        assert body.target is not None
        target = body.target
    units = resolve_targets(txn.conn, node.code, target)
    directive = Directive(
        title=body.title,
        body=body.body,
        directive_kind=body.kind,
        issuer=node.code,
        target=Target(units=units),
        deadline=body.deadline,
        record_id=body.record_id,
        reveal_key=reveal_key,
    )
    directive_id = uuid.uuid4()
    directive_data = directive.model_dump(mode="json", exclude_none=True)
    store_directive(
        txn,
        node_code=node.code,
        directive_id=directive_id,
        data=directive_data,
        requested=target.model_dump(mode="json"),
    )
    # The targets this node holds itself (units without a node of their own) get theirs here.
    store_versions(txn, receipts_due(txn, [(directive_id, directive_data)], node.code))
    _audit(txn, actor, "directive.issue", f"{directive_id} ({body.kind}) to {len(units)} unit(s)")
    return directive_id


def issue_in_txn(
    txn: WriteTxn,
    *,
    node: NodeIdentity,
    body: DirectiveCreate,
    actor: str | None,
    reveal_key: str | None = None,
) -> uuid.UUID:
    """Issue inside the caller's transaction (a reveal request stores its key beside it);
    the caller wakes the children's polls after its commit."""
    return _issue(txn, node, body, actor, reveal_key)


def issue_directive(
    db: Database,
    *,
    node: NodeIdentity,
    body: DirectiveCreate,
    wake: Wake = None,
    actor: str | None = None,
) -> uuid.UUID:
    """Fix the target set and store the directive; its children pull it from here.

    `actor` is who issues it, for the audit log (default: the OS user of a local command)."""
    with db.write() as txn:
        directive_id = _issue(txn, node, body, actor)
    _woken(wake)
    return directive_id


def _woken(wake: Wake) -> None:
    """A directive version committed here: wake the children's held polls (if serving)."""
    if wake is not None:
        wake()


def _own_active(txn: WriteTxn, node: NodeIdentity, directive_id: uuid.UUID) -> Row[Any]:
    row = records_repo.get_row(txn.conn, directive_id)
    if row is None or row.deleted or row.kind != "directive":
        raise NotFound(f"directive {directive_id} not found")
    if row.origin != node.code:
        raise Forbidden(f"directive {directive_id} was issued by {row.origin}; change it there")
    status = row.data.get("status", "active")
    if status != DirectiveStatus.active:
        raise Conflict(f"directive {directive_id} is already {status}")
    return row


def cancel_directive(
    db: Database,
    *,
    node: NodeIdentity,
    directive_id: uuid.UUID,
    wake: Wake = None,
    actor: str | None = None,
) -> None:
    """A new version with status cancelled; it travels down the way the directive did."""
    with db.write() as txn:
        row = _own_active(txn, node, directive_id)
        data = {**row.data, "status": DirectiveStatus.cancelled.value}
        store_directive(txn, node_code=node.code, directive_id=directive_id, data=data)
        _audit(txn, actor, "directive.cancel", str(directive_id))
    _woken(wake)


def supersede_directive(
    db: Database,
    *,
    node: NodeIdentity,
    directive_id: uuid.UUID,
    body: DirectiveCreate,
    wake: Wake = None,
    actor: str | None = None,
) -> uuid.UUID:
    """Issue `body` and mark the old directive superseded by it, in one transaction."""
    with db.write() as txn:
        row = _own_active(txn, node, directive_id)
        new_id = _issue(txn, node, body, actor)
        data = {
            **row.data,
            "status": DirectiveStatus.superseded.value,
            "superseded_by": str(new_id),
        }
        store_directive(txn, node_code=node.code, directive_id=directive_id, data=data)
        _audit(txn, actor, "directive.supersede", f"{directive_id} by {new_id}")
    _woken(wake)
    return new_id
