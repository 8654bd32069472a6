"""Replication messages between a child node and its parent (docs/protocol.md).

Inbound models forbid unknown fields. A pushed record's `kind` and `unit` are plain strings here:
a kind or schema version the parent does not know is quarantined, not a failed batch, and a unit
outside the child's subtree is judged by the parent's jurisdiction check (403 for the batch).
"""

from typing import Annotated
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.storable import INT64_MAX, StorableInbound, StorableParsed

PROTOCOL_VERSION = 1
BATCH_MEDIA_TYPE = "application/vnd.tiersync.batch+json"


class _Inbound(BaseModel):
    model_config = ConfigDict(extra="forbid")


Position = Annotated[int, Field(ge=0, le=INT64_MAX)]
"""A log position, HLC value or epoch-ms time: a signed 64-bit column everywhere."""


class ChangeRecord(StorableParsed):
    """The latest version of one record, as the sending node holds it."""

    id: UUID
    kind: str = Field(max_length=32)
    unit: str = Field(max_length=32)
    data: dict[str, object]
    version: str = Field(description="<16 hex HLC>.<origin unit code>")
    deleted: bool = False
    schema_version: int = Field(ge=1, le=2**31 - 1)


class UnitChange(StorableInbound):
    """One entry of the unit registry (code, name, level, parent), newest wins by hlc."""

    code: str = Field(max_length=32)
    name: str = Field(max_length=200)
    level: str
    parent: str | None
    hlc: Position


class FreshnessEntry(StorableInbound):
    """When the node at `unit` last pushed to its parent, as far as the sender knows."""

    unit: str = Field(max_length=32, description="a node unit strictly below the sender")
    last_received_at: Position = Field(description="epoch milliseconds, on its parent's clock")


TOKEN_SHA256 = "token-sha256"
"""The enrolment scheme of today's bearer tokens: the verifier is the token's SHA-256 (hex)."""


class Enrolment(StorableInbound):
    """A child node enrolled at the sender, as the sender verifies it: what the sender's parent
    keeps so that a rebuilt sender lets its children in again. Only the verifier travels (for
    bearer tokens their SHA-256), never a secret; `scheme` leaves room for node keys."""

    code: str = Field(max_length=32, description="the enrolled node: a direct child of the sender")
    scheme: str = Field(TOKEN_SHA256, max_length=32)
    credential: str = Field(max_length=512, description="the verifier (a token's SHA-256, hex)")
    created_at: AwareDatetime
    revoked: bool = False


class KeyWire(_Inbound):
    """A descendant's signing key as the sender knows it, with the CA's certificate of it when
    it has one (federation/keycert.py): the receiver checks that against its own CA."""

    code: str = Field(max_length=32, description="the node: strictly below the sender")
    public_key: str = Field(max_length=200, description="base64")
    suite: str = Field(max_length=16)
    certificate: dict[str, str] | None = Field(
        None,
        description="the CA's key certificate: node, suite, public_key, issued_at, ca, signature",
    )


class AuditHeadWire(_Inbound):
    """The head of the child's audit chain: its last entry's id and hash (hex)."""

    id: int = Field(ge=0, le=INT64_MAX)
    hash: str = Field(pattern=r"^[0-9a-f]{64}$")


MAX_PUSH_ITEMS = 10_000
"""Records (and registry entries) in one push: the largest batch a child builds
(TIERSYNC_BATCH_MAX_RECORDS ≤ 10,000); a longer list is refused with 422 naming the field."""

Leaf = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
"""A record's leaf hash (hex; SHA-256 or SM3, both 32 bytes: federation/origin.py)."""


class SealWire(_Inbound):
    """The origin's seal of one of its batches (federation/origin.py), with which records of
    this push it covers and, from a relay, the leaves of that batch's other records."""

    origin: str = Field(max_length=32, description="the node that made the records and signed")
    since: Position = Field(description="the origin's batch: (since, until] of its log")
    until: Position
    roots: dict[str, Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]] = Field(
        max_length=4, description="ancestor level → Merkle root of the batch as it holds it"
    )
    signature: str = Field(max_length=200, description="base64, the origin's key")
    at: list[tuple[Position, Position]] = Field(
        max_length=MAX_PUSH_ITEMS,
        description="the records of this push the seal covers: [first, last] index ranges",
    )
    leaves: dict[str, Annotated[list[Leaf], Field(max_length=MAX_PUSH_ITEMS)]] = Field(
        default_factory=dict,
        max_length=4,
        description="level → leaves of the batch's records this push does not carry (relays)",
    )


class OriginsWire(_Inbound):
    """The `origins` push section: the seals of the records of this push (docs/protocol.md)."""

    seals: list[SealWire] = Field(default_factory=list, max_length=MAX_PUSH_ITEMS)
    unsealed: list[str] = Field(
        default_factory=list,
        max_length=10_000,
        description="origins whose records in this push reached the sender without a seal "
        "(from a node of an earlier release)",
    )


class PushBatch(_Inbound):
    """A contiguous slice (since, until] of the child's change log."""

    protocol: int = Field(ge=0, le=2**31 - 1)
    source: str = Field(max_length=32, description="the pushing child's unit code")
    since: Position = Field(description="child log position the batch starts after")
    until: Position = Field(description="child log position of the batch's last change")
    head: Position = Field(description="the child's newest log position (lag = head - until)")
    records: list[ChangeRecord] = Field(
        default_factory=list, max_length=MAX_PUSH_ITEMS, description="at most 10,000"
    )
    units: list[UnitChange] = Field(
        default_factory=list, max_length=MAX_PUSH_ITEMS, description="at most 10,000"
    )
    digest: dict[str, list[Annotated[int, Field(ge=0, le=INT64_MAX)]]] | None = Field(
        None,
        description="ops: on the batch that reaches `head`, the root digest of the child's "
        "subtree, kind → [count, hash sum] (docs/protocol.md, Operator exchanges)",
    )
    freshness: list[FreshnessEntry] = Field(
        default_factory=list,
        description="views: when each node below last pushed, changed since `since`; merged by "
        "max at the parent (docs/protocol.md, Freshness)",
    )
    enrolments: list[Enrolment] = Field(
        default_factory=list,
        max_length=100_000,
        description="units: the sender's child enrolments changed in (since, until]; kept at "
        "the parent for a rebuild (docs/protocol.md, Rebuilding a middle node)",
    )
    keys: list[KeyWire] = Field(
        default_factory=list,
        max_length=100_000,
        description="units: the signing keys of nodes below the sender changed in (since, "
        "until], certified by the prefecture's CA (docs/protocol.md, Key certificates)",
    )
    audit: AuditHeadWire | None = Field(
        None,
        description="audit: the head of the child's audit chain; the parent keeps the newest "
        "(docs/protocol.md, Audit chain)",
    )
    origins: OriginsWire | None = Field(
        None,
        description="origins: the seals of the records this push carries; absent from a child "
        "of an earlier release (docs/protocol.md, Origin signatures)",
    )
    hash_key_id: str | None = Field(
        None,
        pattern="^[0-9a-f]{16}$",
        description="privacy: fingerprint of the sender's hash key; a parent holding another "
        "key refuses the batch (docs/protocol.md, Personal data)",
    )


class PushAck(BaseModel):
    """The parent's answer once the batch is committed: its cursor is the truth."""

    protocol: int = PROTOCOL_VERSION
    cursor: int = Field(description="child log position the parent has applied up to")
    applied: int = Field(description="versions stored (newer than what the parent held)")
    stale: int = Field(description="versions already held at the same or a newer version")
    quarantined: int = Field(description="records set aside with a reason; see quarantine")
    durable: int = Field(description="child log position that every ancestor holds")
    verify_requested: bool = Field(
        False, description="ops: the parent's copy differs from the child's digest report"
    )
    now_ms: int | None = Field(
        None,
        description="the parent's wall clock (epoch ms) when it answered: a child whose own "
        "clock differs by more than TIERSYNC_MAX_CLOCK_SKEW_S says so (docs/protocol.md)",
    )


class CursorInfo(BaseModel):
    """Where the parent stands with one child: sent with 409 when a push starts elsewhere."""

    protocol: int = PROTOCOL_VERSION
    cursor: int
    reason: str = ""
    issued: int = Field(
        0,
        description="the highest HLC the parent holds of a version the child itself issued "
        "(origin = the child): a child restored from a backup moves its clock past it",
    )
