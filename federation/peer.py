"""The parent as this node sees it, and the local stores replication ships from and into.

`Parent` is the one connection to the parent: pushes and cursor (the replicator), directive
pulls (the puller) and the operator exchanges (verify, repair, rebuild), each method with its
contract. The replicator and the puller depend only on their part of it (`Peer`,
`DirectiveSource`). `HttpPeer` (federation/http_peer.py) is its one implementation, over one
httpx client; tests may substitute any part. The stores are protocols too, so federation knows
neither HTTP routes nor SQL: the node implements them.
"""

from dataclasses import dataclass, field
from typing import Any, Protocol

from schemas.directives import DirectiveFeed
from schemas.ops import (
    DigestLeaves,
    DigestNodes,
    DigestRoot,
    ExportPage,
    RecordsFound,
    RepairResult,
)
from schemas.sync import PROTOCOL_VERSION, CursorInfo, PushAck


@dataclass(frozen=True)
class OutgoingBatch:
    """A slice (since, until] of the local change log, ready to encode."""

    since: int
    until: int
    head: int
    records: list[dict[str, Any]]
    units: list[dict[str, Any]]
    # Fields the node's push sections add (node/seams.py), by wire name: e.g. the digest report
    # on the batch that reaches head, the freshness of the nodes below (docs/protocol.md).
    sections: dict[str, Any] = field(default_factory=dict)
    # The peer's own encoding of this batch for `source`, made ahead by Peer.prepare.
    prepared: tuple[str, Any] | None = None

    @property
    def empty(self) -> bool:
        """Nothing left to send. A batch of only skipped positions is not empty: pushing it
        moves the parent's cursor past them."""
        return self.until == self.since

    def payload(self, source: str) -> dict[str, Any]:
        """The batch as a PushBatch on the wire: the one encoding of pushes and offline bundles."""
        return {
            **self.sections,
            "protocol": PROTOCOL_VERSION,
            "source": source,
            "since": self.since,
            "until": self.until,
            "head": self.head,
            "records": self.records,
            "units": self.units,
        }


class Peer(Protocol):
    """The parent as the replicator sees it (upward: pushes)."""

    def prepare(self, batch: OutgoingBatch, *, source: str) -> OutgoingBatch:
        """The batch with whatever `push` would compute from it done ahead (e.g. its encoding):
        CPU work only, safe in any thread. The replicator prepares the next batch while the
        current push is in flight. Returning the batch unchanged is always correct."""
        ...

    async def push(self, batch: OutgoingBatch, *, source: str) -> PushAck:
        """Deliver one batch. Idempotent, may be retried: the parent applies it idempotently.

        Raises CursorMismatch when the parent's cursor is not `batch.since`-compatible,
        PeerUnavailable when it cannot be reached, PeerRejected when it refuses the batch.
        """
        ...

    async def cursor(self, *, source: str) -> int:
        """The parent's cursor for this child (the truth after any restore). A read: retry."""
        ...

    async def standing(self, *, source: str) -> CursorInfo:
        """The cursor and the highest version of this child's own the parent holds
        (CursorInfo.issued). A read: retry."""
        ...


class DirectiveSource(Protocol):
    """The parent as the directive puller sees it (downward: directives)."""

    async def pull_directives(self, *, since: int, wait_s: float) -> DirectiveFeed:
        """Directive versions after parent log position `since` for this child's subtree.

        With nothing to send the parent holds the request up to `wait_s` seconds (a long poll)
        and may answer with no records and a cursor ahead of `since`. A read: safe to repeat.
        Raises PeerUnavailable, or PeerRejected when the parent refuses the credential.
        """
        ...


class OperatorExchanges(Protocol):
    """What the operator tools ask the parent about this node's subtree (docs/protocol.md,
    "Operator exchanges"). Errors are those of a push: PeerUnavailable, PeerRejected."""

    async def digest_root(self) -> DigestRoot:
        """Per kind, the parent's digest of this subtree. A read: retry freely."""
        ...

    async def audit_head(self) -> tuple[int, str] | None:
        """The head (id, hash) of this node's audit chain the parent keeps. A read."""
        ...

    async def digest_nodes(self, kind: str, prefixes: list[str]) -> DigestNodes:
        """The children digests of these tree nodes. A read: retry freely."""
        ...

    async def digest_leaves(self, kind: str, prefixes: list[str]) -> DigestLeaves:
        """id -> version of every record under these tree nodes. A read: retry freely."""
        ...

    async def records(self, ids: list[str], *, data: bool = True) -> RecordsFound:
        """The parent's versions (and with `data`, records) of these ids. A read: retry."""
        ...

    async def repair(self, records: list[dict[str, Any]], *, source: str) -> RepairResult:
        """Apply records like a push that moves no cursor. Idempotent: may be retried."""
        ...

    async def export_page(self, after: str | None, *, limit: int = 1000) -> ExportPage:
        """One page of the parent's copy of this subtree (rebuild). A read: retry freely."""
        ...


class Parent(Peer, DirectiveSource, OperatorExchanges, Protocol):
    """The whole connection to the parent, as `node/wiring.py` builds it once per node."""

    async def aclose(self) -> None:
        """Release the connection. Safe to call twice."""
        ...


class ChangeStore(Protocol):
    """The child's durable side of replication (blocking calls; run off the event loop)."""

    def acked(self) -> int:
        """The log position the parent last acknowledged."""
        ...

    def read_batch(self, since: int, *, max_records: int, max_bytes: int) -> OutgoingBatch:
        """The next changes after `since`, bounded in count and encoded size."""
        ...

    def save_ack(self, *, until: int, durable: int) -> None:
        """Persist the acknowledgement right after the parent committed (never before)."""
        ...

    def rewind(self, cursor: int) -> None:
        """Start again from the parent's cursor (the parent was restored or is ahead)."""
        ...

    def reconcile(self, standing: CursorInfo) -> int | None:
        """On (re)connect, before pushing: move the clock past what the parent holds of this
        node (its cursor, the highest version this node issued), so no new version or log
        position sorts below an old one after a restore; rewind to the parent's cursor if it
        is below the acked one (the parent went back). Returns the cursor rewound to, or None."""
        ...

    def save_error(self, message: str | None) -> None:
        """Record the last failure (None clears it) for `tiersync status`."""
        ...


class DirectiveStore(Protocol):
    """The child's durable side of the downward pull (blocking calls; run off the event loop)."""

    def pull_cursor(self) -> int:
        """The parent log position up to which this node holds its directives."""
        ...

    def apply_feed(self, feed: DirectiveFeed, *, since: int) -> int:
        """Store the feed's directives and move the cursor to `feed.cursor`, in one transaction.

        Must be idempotent (a feed applied twice changes nothing the second time) and must
        refuse, and record, any directive whose issuer is not an ancestor of this node.
        Returns the number of directive versions stored.
        """
        ...

    def save_pull_error(self, message: str | None) -> None:
        """Record the last failure (None clears it) for `tiersync status`."""
        ...
