"""Enrolments travel up: a node's child enrolments go to its parent in the push (a push section,
node/seams.py), the parent keeps them apart from its own credentials, and `rebuild
--from-parent` brings them back — so the children of a rebuilt middle node reconnect with the
credentials they hold, without being enrolled again by hand (docs/protocol.md).

Only verifiers travel (for bearer tokens their SHA-256), never a secret. At the parent they
authenticate nobody: they are given back only to the child that sent them.
"""

from typing import Any

from sqlalchemy import Connection

from node.db import WriteTxn, as_utc
from node.errors import FieldError, Forbidden
from node.seams import OutgoingInfo
from node.units import repository
from schemas.codes import parent_of
from schemas.sync import TOKEN_SHA256, Enrolment, PushBatch


def to_wire(row: Any) -> dict[str, Any]:
    return Enrolment(
        code=row.code,
        scheme=TOKEN_SHA256,
        credential=row.token_hash,
        created_at=as_utc(row.created_at),
        revoked=bool(row.revoked),
    ).model_dump(mode="json")


def held_for(conn: Connection, child: str) -> list[Enrolment]:
    """What `child` sent up of its children's enrolments (for its rebuild)."""
    return [
        Enrolment(
            code=r.code,
            scheme=r.scheme,
            credential=r.credential,
            created_at=as_utc(r.created_at),
            revoked=bool(r.revoked),
        )
        for r in repository.held_via(conn, child)
    ]


def restore(txn: WriteTxn, enrolments: list[Enrolment]) -> int:
    """At a node being rebuilt: its children's enrolments as its parent kept them."""
    restored = 0
    for e in enrolments:
        if e.scheme != TOKEN_SHA256:
            continue  # a scheme this version does not verify: leave it to a newer one
        repository.put_credential(
            txn.conn,
            code=e.code,
            token_hash=e.credential,
            at=e.created_at,
            revoked=e.revoked,
            seq=txn.tick(),
        )
        restored += 1
    return restored


def _child_of(code: str, parent: str) -> bool:
    try:
        return parent_of(code) == parent
    except ValueError:
        return False


class EnrolmentSection:
    """The push section `enrolments`: what changed in the slice, kept at the parent."""

    name = "enrolments"
    relays_below = True  # the children's enrolments: nothing at a village

    def outgoing(self, conn: Connection, info: OutgoingInfo) -> list[dict[str, Any]] | None:
        rows = repository.credentials_between(conn, info.since, info.until)
        return [to_wire(r) for r in rows] or None

    def incoming(
        self, txn: WriteTxn, *, child: str, batch: PushBatch, stored: int
    ) -> dict[str, Any]:
        entries = batch.enrolments
        if not entries:
            return {}
        wrong = [
            FieldError(f"enrolments.{i}.code", f"{e.code!r} is not a direct child of {child}")
            for i, e in enumerate(entries)
            if not _child_of(e.code, child)
        ]
        if wrong:
            raise Forbidden(
                f"batch from {child} holds enrolments of nodes that are not its children; "
                "nothing was stored",
                wrong[:20],
            )
        rows = [
            {
                "code": e.code,
                "via": child,
                "scheme": e.scheme,
                "credential": e.credential,
                "created_at": e.created_at,
                "revoked": e.revoked,
            }
            for e in entries
        ]
        repository.put_held(txn.conn, rows)
        return {}
