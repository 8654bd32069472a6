"""The parent as the replicator sees it, and the local change store it ships from.

Both are protocols so the replicator knows neither HTTP nor SQL: `HttpPeer` and the node's
`SqlChangeStore` implement them; tests may substitute either.
"""

from dataclasses import dataclass
from typing import Any, Protocol

from schemas.sync import PushAck


@dataclass(frozen=True)
class OutgoingBatch:
    """A slice (since, until] of the local change log, ready to encode."""

    since: int
    until: int
    head: int
    records: list[dict[str, Any]]
    units: list[dict[str, Any]]

    @property
    def empty(self) -> bool:
        """Nothing left to send. A batch of only skipped positions is not empty: pushing it
        moves the parent's cursor past them."""
        return self.until == self.since


class Peer(Protocol):
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
