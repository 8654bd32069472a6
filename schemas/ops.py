"""Operator exchanges between a child and its parent (docs/protocol.md, "Operator exchanges"),
and the reports of the operator commands (`tiersync status|verify|rebuild|bundle|audit --json`).

A digest is `[count, sum]`: how many record versions, and the sum modulo 2**40 of their 40-bit
hashes of (id, version). Tree nodes are named by a hex prefix of the record id ("" is a kind's
root, "3f" one of its 256 buckets, "3fa" a sixteenth of that...).
"""

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from schemas.common import Timestamp
from schemas.storable import StorableInbound
from schemas.sync import PROTOCOL_VERSION, ChangeRecord, Enrolment, UnitChange

Digest = tuple[int, int]
HexPrefix = str


class _Inbound(StorableInbound):
    """Unknown fields refused; every value storable (schemas/storable.py)."""


class DigestRoot(BaseModel):
    """Per kind, the digest of every record version made in `subtree` that this node holds."""

    protocol: int = PROTOCOL_VERSION
    subtree: str
    kinds: dict[str, Digest] = Field(default_factory=dict)
    horizons: dict[str, int] = Field(
        default_factory=dict,
        description="origin → HLC up to which the answering node collected that origin's "
        "tombstones (docs/decisions/0702): an id it lacks whose version is at or below is "
        "deleted there, not missing",
    )


class DigestQuery(_Inbound):
    """Which tree nodes of one kind to expand (children) or list (leaves)."""

    kind: str = Field(max_length=32)
    prefixes: list[HexPrefix] = Field(max_length=8192)


class DigestNodes(BaseModel):
    """For each asked prefix, the digest of each non-empty child prefix."""

    kind: str
    nodes: dict[HexPrefix, dict[HexPrefix, Digest]]


class DigestLeaves(BaseModel):
    """For each asked prefix, id → version of every record version under it (tombstones
    included; `deleted` lists those, per prefix)."""

    kind: str
    leaves: dict[HexPrefix, dict[str, str]]
    deleted: dict[HexPrefix, list[str]] = Field(default_factory=dict)


class RecordsQuery(_Inbound):
    ids: list[UUID] = Field(max_length=5000)
    data: bool = Field(True, description="false: versions only")


class RecordsFound(BaseModel):
    """The asked records the parent holds made in the child's subtree (`versions`, and with
    `data` the `records` themselves); `foreign`: ids it holds at a version made outside that
    subtree (an id conflict the child lost), version only, no data."""

    versions: dict[str, str] = Field(default_factory=dict)
    records: list[ChangeRecord] = Field(default_factory=list)
    foreign: dict[str, str] = Field(default_factory=dict)


class RepairBatch(_Inbound):
    """Records a child sends back up outside its log order: checked and applied like a push,
    but no cursor moves."""

    protocol: int
    source: str
    records: list[ChangeRecord] = Field(max_length=10_000)


class RepairResult(BaseModel):
    applied: int
    stale: int
    quarantined: int


class ExportPage(BaseModel):
    """One page of the parent's copy of a child's subtree (for `tiersync rebuild`)."""

    protocol: int = PROTOCOL_VERSION
    subtree: str
    cursor: int = Field(description="the parent's cursor in the child's log")
    records: list[ChangeRecord]
    units: list[UnitChange] = Field(default_factory=list)
    enrolments: list[Enrolment] = Field(
        default_factory=list,
        description="on the first page: the enrolments of the child's own children, as it "
        "sent them up (a rebuilt node lets them in again)",
    )
    next: str | None = None


# --- reports of the commands ---------------------------------------------------------------


class UpstreamStatus(BaseModel):
    parent_url: str | None
    acked: int
    durable: int
    last_push_at: Timestamp | None
    pending: int = Field(description="changes made here not yet acknowledged by the parent")
    last_error: str | None
    last_error_at: Timestamp | None
    bundles_awaiting_receipt: int = 0
    link: int = Field(
        1, description="this node's link protocol at its parent: 2 = key registered, signed"
    )
    revoked: str | None = Field(None, description="why the parent revoked this node, if it did")
    directive_signatures: Literal["required", "not checked"] = Field(
        "not checked",
        description="required: this node holds the prefecture's CA and stores only directives "
        "its issuer signed; not checked: no CA, unsigned directives are accepted",
    )
    directives_refused: int = Field(0, description="directive versions the pull did not store")
    directive_refused_last: str | None = Field(None, description="why the last one was refused")


class ChildStatus(BaseModel):
    code: str
    name: str
    level: str
    enrolled: bool
    revoked: bool
    last_contact: Timestamp | None
    cursor: int
    records_received: int
    lag_changes: int | None = Field(description="0 when the last push reached the child's head")
    lag_seconds: float | None = Field(description="time since the last push")
    log_lag_ms: int | None = Field(description="span of the child's log not yet held here")
    stale: bool
    digest: Literal["match", "mismatch", "unknown"] = "unknown"
    verify_requested: bool = False
    link: int | None = Field(
        None,
        description="its link protocol: 2 = its key registered, every request signed; 1 = "
        "today's release, its code as a bearer token (not upgraded yet); null: not enrolled",
    )
    clock_ahead: bool = Field(False, description="versions refused: its clock runs ahead")
    key_certified: bool = Field(
        False,
        description="its signing key is certified by the prefecture's CA, checked here "
        "(docs/protocol.md, Key certificates)",
    )
    origin_seals: str = Field(
        "unknown",
        description="the seals of its pushes' records: `checked` (with the CA here), `not "
        "checked` (no CA here), `not sent` (an earlier release), `unknown` (no push yet)",
    )
    seals_refused: int = Field(0, description="records quarantined for their origin's seal")
    seal_refused_last: str | None = Field(None, description="the last such refusal")
    seals_unchecked: int = Field(
        0, description="records taken without a seal (from a node of an earlier release)"
    )


class TaskStatus(BaseModel):
    """One background task of the serving node, as its supervisor last published it."""

    name: str
    state: Literal["running", "failing", "dead", "stopped"]
    restarts: int
    last_error: str | None
    failing_since: Timestamp | None
    failing_s: float | None = Field(None, description="how long it has been failing")
    last_ok: Timestamp | None


class TasksStatus(BaseModel):
    serving: bool = Field(description="the node published its tasks recently (it is serving)")
    published_at: Timestamp | None
    unready_after_s: float = Field(description="failing longer than this is a problem")
    tasks: list[TaskStatus] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="e.g. this node's clock is off")


class StatusReport(BaseModel):
    node: str
    name: str
    level: str
    last_hlc: int
    records: int
    quarantined: int
    tombstones: int = Field(0, description="deletions held as tombstones (counted in records)")
    tombstones_collected: int = Field(
        0, description="tombstones collected here once every ancestor held them (decision 0702)"
    )
    writes_refused_s: int = Field(
        0,
        description="seconds until this node issues versions again: its clock was set back "
        "after running ahead, and what it issued lies beyond now + TIERSYNC_MAX_CLOCK_SKEW_S "
        "(its writes answer 503 `clock_behind` meanwhile; 0: it writes)",
    )
    upstream: UpstreamStatus | None
    children: list[ChildStatus]
    tasks: TasksStatus | None = Field(
        None, description="the serving node's background tasks (None: it never served here)"
    )
    ok: bool = Field(True, description="no problem found (`tiersync status` exits 0, else 1)")
    problems: list[str] = Field(
        default_factory=list,
        description="what needs an operator: a stale child, a failing link to the parent, "
        "quarantined records, a background task dead or failing",
    )


class Difference(BaseModel):
    id: str
    kind: str
    here: str | None = Field(description="version held by this node")
    there: str | None = Field(description="version held by the other side")
    action: Literal["send", "fetch", "conflict", "collected"] = Field(
        description="collected: alive here, deleted and collected there (this node was "
        "restored from before the deletion); a repair deletes it here"
    )


class LinkVerify(BaseModel):
    peer: str
    checked_kinds: int
    differences: list[Difference]
    sent: int = 0
    fetched: int = 0
    remaining: int = 0
    conflicts: int = 0
    requests: int = 0
    bytes: int = 0
    scrubbed_rows: int = 0


class ChildVerify(BaseModel):
    code: str
    state: Literal["match", "mismatch", "unknown"]
    detail: str
    verify_requested: bool


class IdConflict(BaseModel):
    """One id held alive by more than one origin (two subtrees wrote it independently)."""

    id: str
    kind: str
    origins: list[str] = Field(description="Nodes whose latest version of the id is alive")
    units: list[str] = Field(description="The units those versions are in")
    kept: str | None = Field(description="Origin of the version this node holds")


class FigureDrift(BaseModel):
    """A roll-up cell whose kept count differs from a recount of the records."""

    unit: str
    kind: str
    kept: int
    counted: int


class FiguresVerify(BaseModel):
    """The roll-ups (what every view shows) against a recount of the live records here."""

    cells: int = Field(description="Roll-up cells that differed from the recount")
    grids: int = 0
    visits: int = 0
    examples: list[FigureDrift] = Field(default_factory=list)
    repaired: bool = Field(default=False, description="Rewritten from the recount (--repair)")

    @property
    def drifting(self) -> bool:
        return bool(self.cells or self.grids or self.visits) and not self.repaired


class VerifyReport(BaseModel):
    node: str
    parent: LinkVerify | None
    children: list[ChildVerify]
    figures: FiguresVerify | None = None
    conflicts: list[IdConflict] = Field(
        default_factory=list,
        description="Ids alive in two subtrees here: settle by deleting (or moving) the copy "
        "that should go, then writing again the one that stays",
    )
    ok: bool
    repaired: bool = False
    seconds: float = 0.0


class RebuildReport(BaseModel):
    node: str
    records: int
    units: int
    last_hlc: int
    acked: int
    pages: int
    enrolments: int = Field(0, description="enrolments of its children restored")


class BundleReport(BaseModel):
    file: str
    direction: Literal["up", "down"]
    source: str
    target: str
    since: int
    until: int
    records: int
    units: int
    sha256: str
    applied: int = 0
    stale: int = 0
    quarantined: int = 0
    already_imported: bool = False
    cursor: int | None = None
    receipt: str | None = None


class AuditRead(BaseModel):
    id: int
    at: Timestamp
    actor: str
    action: str
    outcome: str
    detail: str


# --- an operator command run through the serving node (`/api/v1/node/...`) ----------------
# `resync` and `bundle ack` move this node's own acked cursor: while `tiersync serve` runs, the
# CLI asks the serving process to do it (docs/protocol.md, "One owner of the cursors").

MAX_SINCE = 2**63 - 1


class ResyncRequest(_Inbound):
    since: int = Field(0, ge=0, le=MAX_SINCE, description="log position to resend from")
    requested_by: str | None = Field(
        None, max_length=128, description="who ran the command (the CLI's --actor), for the audit"
    )


class ResyncReport(BaseModel):
    since: int
    records: int
    batches: int
    bytes: int
    acked: int
    requests_done: list[str] = Field(default_factory=list)
    via: str = Field("this process", description="`serving node` when run by the serving node")


class ReceiptRequest(_Inbound):
    file: str = Field(
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="a bundle's name in the node's `incoming/` directory (the CLI puts it there)",
    )
    requested_by: str | None = Field(None, max_length=128)
