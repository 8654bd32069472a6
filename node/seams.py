"""The two seams through which features plug into a node (docs/architecture.md).

The core (records, sync) calls no feature by name: `node/wiring.py` hands it lists of these, the
way Starlette is handed its middleware list, and the core runs whatever it was given.

- A **write hook** sees every batch of versions the store keeps, in the writing transaction:
  the views' roll-ups and the digest tree are kept in step this way.
- A **push section** adds one named field to every outgoing batch (read in the same snapshot
  as the batch) and reads that field back at the parent, in the push's transaction; what it
  returns is merged into the ack. Children's freshness and digest reports are sections.
- An **outgoing projection** turns every record's data into what the parent may hold before it
  leaves the node (push, bundle, repair): the privacy policy (node/privacy).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection

from node.db import WriteTxn
from schemas.sync import PushBatch

Change = tuple[Any, Any]
"""A version kept by the store (node.records.store.Version) and the head row it replaces (None
for a new record). Hooks run before the kept rows are written, so a hook may still read the
replaced versions through the records repository."""


class WriteHook(Protocol):
    def __call__(self, txn: WriteTxn, changes: Sequence[Change]) -> None:
        """Bring this feature's tables in step with `changes`, once per stored batch.

        Runs in the writing transaction (a failure rolls the whole write back) and is called
        with an empty list never. The cost per record is the hook's own: keep it small.
        """
        ...


@dataclass(frozen=True)
class OutgoingInfo:
    """The slice (since, until] of the log being sent, and whether it reaches the head; the
    records as they leave, and the feed rows they were made of (`records_repo.feed_since`)."""

    since: int
    until: int
    head: int
    reaches_head: bool
    records: Sequence[dict[str, Any]] = ()
    rows: Sequence[Any] = ()


class PushSection(Protocol):
    name: str
    """The batch's top-level field this section owns (e.g. "digest"); the parent's PushBatch
    schema must know it (schemas/sync.py), so an older parent refuses nothing it cannot read.
    A section that only relays what the nodes below reported may say so with a class attribute
    `relays_below = True`: a village (no node below it) then leaves it out of its pushes."""

    def outgoing(self, conn: Connection, info: OutgoingInfo) -> Any | None:
        """The section's value for this batch, or None to leave the field out. Read in the
        snapshot of the batch itself; must not write."""
        ...

    def incoming(
        self, txn: WriteTxn, *, child: str, batch: PushBatch, stored: int
    ) -> dict[str, Any]:
        """At the parent, after the batch is stored (`stored` versions kept), in the push's
        transaction: take the field (`getattr(batch, name)`, possibly its default) and return
        the PushAck fields it contributes ({} for none). Called for every push, repairs and
        bundles included, so it must be idempotent."""
        ...


class RecordScreen(Protocol):
    def screen(
        self, txn: WriteTxn, *, child: str, batch: PushBatch, refused_at: Sequence[int] = ()
    ) -> Any:
        """At the parent, before the push's records are stored, in its transaction: an object
        with `refused` (index in `batch.records` → reason: those records are quarantined, not
        stored) and `keep` (None, or called with the transaction once the rest is stored).
        `refused_at` are the indexes, as sent, of the records that did not parse."""
        ...


class RecordProjection(Protocol):
    kinds: frozenset[str]
    """The kinds it changes: every other record leaves as it is held (no parse, no copy)."""
    ready: bool
    """False when it cannot project (a key missing): `project` raises a FederationError."""

    def project(
        self,
        kind: str,
        data: dict[str, Any],
        *,
        id_hash: str | None = None,
        in_place: bool = False,
    ) -> dict[str, Any]:
        """`data` as the parent may hold it (a new dict; `data` itself is left untouched unless
        `in_place`: the caller's own fresh dict); `id_hash`, the record's stored ID hash, saves
        hashing its ID number again."""
        ...


WriteHooks = Sequence[WriteHook]
RecordScreens = Sequence[RecordScreen]
PushSections = Sequence[PushSection]
