"""The child's side of the downward pull: store what the parent sent, in one transaction.

Implements federation.peer.DirectiveStore. Each accepted directive version goes through the one
idempotent write path (store_versions), is indexed to be served on down, and — where this node
is a target — gets a "delivered" receipt; the pull cursor moves in the same transaction. So a
crash either keeps all of it or none, and a feed pulled twice stores nothing the second time:
each directive is delivered once per target whatever the link does.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import ValidationError

from federation.hlc import parse_version
from node.audit import service as audit
from node.db import Database
from node.directives import repository, seals
from node.directives.feed import Wake
from node.directives.versions import index_directive, receipts_due, target_units
from node.records.store import Version, store_versions
from node.records.wire import to_version
from schemas.codes import is_within
from schemas.directives import DirectiveFeed
from schemas.kinds import SCHEMA_VERSION, Kind
from schemas.kinds.directive import Directive
from schemas.sync import ChangeRecord


def refusal(node_code: str, record: ChangeRecord) -> str | None:
    """Why this node will not take a record the parent sent down, or None to accept it."""
    if record.kind != Kind.directive:
        return f"{record.kind} {record.id}: only directives come down"
    try:
        _, origin = parse_version(record.version)
    except ValueError as exc:
        return f"directive {record.id}: {exc}"
    if origin == node_code or not is_within(node_code, origin):
        return f"directive {record.id} issued by {origin}, which is not an ancestor of {node_code}"
    if record.unit != origin or record.data.get("issuer") != origin:
        return f"directive {record.id}: unit and issuer must be its origin {origin}"
    if record.schema_version > SCHEMA_VERSION:
        return f"directive {record.id}: schema version {record.schema_version} is newer than ours"
    if record.deleted:
        return None
    try:
        Directive.model_validate(record.data)
    except ValidationError as exc:
        return f"directive {record.id}: invalid data: {exc.errors()[0]['msg']}"
    if not any(is_within(u, node_code) for u in target_units(record.data)):
        return f"directive {record.id} names no unit of {node_code}'s subtree"
    return None


@dataclass
class SqlDirectiveStore:
    db: Database
    node_code: str
    wake: Wake = None  # the node's directive signal (NodeContext.directive_signal.notify)
    ca: bytes | None = None  # the prefecture's CA: with one, only signed directives are stored
    suite: str = "default"

    def pull_cursor(self) -> int:
        with self.db.read() as conn:
            row = repository.get_pull(conn)
        return int(row.cursor) if row else 0

    def apply_feed(self, feed: DirectiveFeed, *, since: int) -> int:
        if not feed.records and feed.cursor <= since:
            return 0
        refused: list[str] = []
        # Only a stored directive concerns anyone else: the replicator (receipts) and the
        # children's held polls.
        with self.db.write(notify=bool(feed.records)) as txn:
            current = repository.get_pull(txn.conn)
            accepted: list[Version] = []
            for record in feed.records:
                seal = feed.seals.get(str(record.id))
                reason = refusal(self.node_code, record) or seals.refusal(
                    self.ca, self.suite, node_code=self.node_code, record=record, seal=seal
                )
                if reason:
                    refused.append(reason)
                    continue
                accepted.append(to_version(record))
            directives = _latest(accepted)
            kept_seals = {v.id: feed.seals.get(str(v.id)) for v in directives}
            # The receipts go in the same store call: one pass of the per-write bookkeeping.
            receipts = receipts_due(txn, [(v.id, v.data) for v in directives], self.node_code)
            kept = set(store_versions(txn, directives + receipts).stored)
            stored = [v.id for v in directives if v.id in kept]
            for directive_id in stored:
                index_directive(
                    txn,
                    directive_id=directive_id,
                    node_code=self.node_code,
                    seal=kept_seals.get(directive_id),
                )
            for reason in refused:
                audit.in_txn(
                    txn, actor="parent", action="directives.pull", outcome="refused", detail=reason
                )
            last_refused = {"last_refused": refused[-1]} if refused else {}
            repository.save_pull(
                txn.conn,
                **last_refused,
                cursor=max(feed.cursor, int(current.cursor) if current else 0),
                last_pull_at=txn.now,
                received=(int(current.received) if current else 0) + len(stored),
                refused=(int(current.refused) if current else 0) + len(refused),
            )
        if stored and self.wake is not None:
            self.wake()  # pass it on down: wake the children's held polls
        return len(stored)

    def save_pull_error(self, message: str | None) -> None:
        with self.db.write(notify=False) as txn:
            at = datetime.now(UTC) if message else None
            repository.save_pull(txn.conn, last_error=message, last_error_at=at)


def _latest(versions: list[Version]) -> list[Version]:
    """One version per id (the newest), as store_versions expects."""
    latest: dict[uuid.UUID, Version] = {}
    for version in versions:
        held = latest.get(version.id)
        if held is None or version.order_key() > held.order_key():
            latest[version.id] = version
    return list(latest.values())
