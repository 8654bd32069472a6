"""The parent as the replicator sees it, and the local change store it ships from.

Both are protocols so the replicator knows neither HTTP nor SQL: `HttpPeer` and the node's
`SqlChangeStore` implement them; tests may substitute either.
"""

from dataclasses import dataclass, field
from typing import Any, Protocol

from schemas.directives import DirectiveFeed
from schemas.sync import PushAck


@dataclass(frozen=True)
class OutgoingBatch:
    """A slice (since, until] of the local change log, ready to encode."""

    since: int
    until: int
    head: int
    records: list[dict[str, Any]]
    units: list[dict[str, Any]]
    digest: dict[str, list[int]] | None = None  # ops: root digest, on the batch reaching head
    # views: freshness of the units below, changed since `since` (docs/protocol.md, Freshness)
    freshness: list[dict[str, Any]] = field(default_factory=list)
    # The peer's own encoding of this batch for `source`, made ahead by Peer.prepare.
    prepared: tuple[str, Any] | None = None

    @property
    def empty(self) -> bool:
        """Nothing left to send. A batch of only skipped positions is not empty: pushing it
        moves the parent's cursor past them."""
        return self.until == self.since


class Peer(Protocol):
    def prepare(self, batch: OutgoingBatch, *, source: str) -> OutgoingBatch:
        """The batch with whatever `push` would compute from it done ahead (e.g. its encoding):
        CPU work only, safe in any thread. The replicator prepares the next batch while the
        current push is in flight. Returning the batch unchanged is always correct."""
        ...

    async def push(self, batch: OutgoingBatch, *, source: str) -> PushAck:
        """Deliver one batch. Must be safe to repeat: the parent applies it idempotently.

        Raises CursorMismatch when the parent's cursor is not `batch.since`-compatible,
        PeerUnavailable when it cannot be reached, PeerRejected when it refuses the batch.
        """
        ...

    async def cursor(self, *, source: str) -> int:
        """The parent's cursor for this child (the truth after any restore)."""
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

    def save_error(self, message: str | None) -> None:
        """Record the last failure (None clears it) for `tiersync status`."""
        ...


class DirectiveSource(Protocol):
    """The parent as the directive puller sees it."""

    async def pull_directives(self, *, since: int, wait_s: float) -> DirectiveFeed:
        """Directive versions after parent log position `since` for this child's subtree.

        With nothing to send the parent holds the request up to `wait_s` seconds (a long poll)
        and may answer with no records and a cursor ahead of `since`. Safe to repeat.
        Raises PeerUnavailable, or PeerRejected when the parent refuses the credential.
        """
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
