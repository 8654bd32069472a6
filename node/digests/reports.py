"""Children's digest reports: how a parent, which never calls its children, verifies them.

A child attaches the root digest of its subtree to the last batch of a push (the one that
reaches its head), read in the same snapshot as the batch. Once that batch is applied the
parent holds everything the child had, so its own digest of the child's subtree must equal
the report; the parent compares in the push's transaction, keeps the result, and while they
differ answers every push with `verify_requested: true` (docs/decisions/0301-...).
"""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from node.db import Database, WriteTxn
from node.digests import conflicts, repository
from node.digests import reads as digests
from node.digests import tree as digest_tree
from node.seams import OutgoingInfo
from node.sync import repository as sync_repo
from node.units import repository as units_repo
from schemas.codes import CODE_LENGTHS, NODE_LEVELS, level_of
from schemas.ops import ChildVerify
from schemas.sync import PushBatch


def as_wire(digest: dict[str, tuple[int, int]]) -> dict[str, list[int]]:
    return {kind: [c, s] for kind, (c, s) in sorted(digest.items())}


def child_digest(conn: Connection, code: str) -> dict[str, list[int]]:
    """What a child reports: the root digest of its own subtree (with the versions it holds
    that lost here to another subtree's: node/digests/conflicts.py)."""
    digest = dict(digests.root(conn, code))
    for kind, (count, total) in conflicts.held_below_only(conn, code).items():
        held = digest.get(kind, (0, 0))
        digest[kind] = (held[0] + count, (held[1] + total) % digest_tree.MOD)
    return as_wire(digest)


def on_push(conn: Connection, *, child: str, batch: PushBatch, at: datetime) -> bool:
    """Record the push (and compare its digest report); True when a verify is requested."""
    held = repository.get_report(conn, child)
    requested = bool(held and held.verify_requested)
    if batch.until == 0:  # a repair (node/ops/exchanges.py): not a slice of the child's log
        return requested
    values: dict[str, Any] = {"head": batch.head, "until": batch.until, "pushed_at": at}
    reported = getattr(batch, "digest", None)
    if reported is not None:
        own = child_digest(conn, child)
        matches = own == {k: list(v) for k, v in reported.items() if v and v[0]}
        requested = not matches
        values |= {
            "reported_at": at,
            "child_digest": reported,
            "own_digest": own,
            "matches": matches,
            "verify_requested": requested,
        }
    repository.save_report(conn, child, **values)
    return requested


class DigestSection:
    """The push section of the digests: the child's report out, the parent's comparison in."""

    name = "digest"

    def __init__(self, node_code: str) -> None:
        self.node_code = node_code

    def outgoing(self, conn: Connection, info: OutgoingInfo) -> dict[str, list[int]] | None:
        # Only the batch that reaches head: then the parent will hold all this node holds.
        return child_digest(conn, self.node_code) if info.reaches_head else None

    def incoming(
        self, txn: WriteTxn, *, child: str, batch: PushBatch, stored: int
    ) -> dict[str, Any]:
        return {"verify_requested": on_push(txn.conn, child=child, batch=batch, at=txn.now)}


def superseded(conn: Connection, *, node_code: str, units: list[str]) -> None:
    """Records of these units came from the parent (a repair), not from the child's pushes: the
    reports of the children they lie under describe an older state. They are set aside
    (state "unknown") until each child's next push brings a fresh one."""
    child_len = _child_length(node_code)
    if child_len is None:
        return
    for code in sorted({u[:child_len] for u in units if len(u) >= child_len}):
        if repository.get_report(conn, code) is not None:
            repository.save_report(
                conn,
                code,
                child_digest=None,
                own_digest=None,
                matches=None,
                verify_requested=False,
            )


def _child_length(code: str) -> int | None:
    longer = sorted(n for n in CODE_LENGTHS.values() if n > len(code))
    return longer[0] if longer else None


def check_children(db: Database, *, node_code: str) -> list[ChildVerify]:
    """Compare this node's current copy of each child's subtree with the child's last report."""
    out: list[ChildVerify] = []
    with db.write(notify=False) as txn:
        conn = txn.conn
        reports = repository.all_reports(conn)
        for code in _child_codes(conn, node_code, reports):
            report = reports.get(code)
            if report is None or report.child_digest is None:
                out.append(
                    ChildVerify(
                        code=code,
                        state="unknown",
                        verify_requested=False,
                        detail="no digest report since the last push or repair (one comes "
                        "with its next push)",
                    )
                )
                continue
            if report.until != report.head or sync_repo.child_cursor(conn, code) > report.head:
                out.append(
                    ChildVerify(
                        code=code,
                        state="unknown",
                        verify_requested=bool(report.verify_requested),
                        detail="pushes since the last report",
                    )
                )
                continue
            own = child_digest(conn, code)
            matches = own == {k: list(v) for k, v in report.child_digest.items() if v and v[0]}
            repository.save_report(
                conn, code, own_digest=own, matches=matches, verify_requested=not matches
            )
            detail = (
                f"matches its report of {_ago(report.reported_at)}"
                if matches
                else "differs from its report: it is asked to run `tiersync verify --repair` "
                "(flag in its next push ack)"
            )
            out.append(
                ChildVerify(
                    code=code,
                    state="match" if matches else "mismatch",
                    verify_requested=not matches,
                    detail=detail,
                )
            )
    return out


def _child_codes(conn: Connection, node_code: str, reports: dict[str, Any]) -> list[str]:
    names = units_repo.child_names(conn, node_code)
    nodes = {c for c in names if level_of(c) in NODE_LEVELS}
    return sorted(nodes | {r.code for r in sync_repo.children_sync(conn)} | set(reports))


def _ago(at: datetime | None) -> str:
    if at is None:
        return "?"
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return f"{(datetime.now(UTC) - at).total_seconds():.0f} s ago"
