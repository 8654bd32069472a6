"""Directives down, receipts up: the API's request and response models and the pull feed.

A directive is a record of kind `directive` owned by its issuer; its `target` is stored as the
fixed list of units resolved at issue time. A receipt is a record of kind `receipt` owned by the
target, one per (directive, unit), whose id is `receipt_id(directive, unit)` everywhere.
"""

import uuid
from typing import Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from schemas.codes import UnitCode
from schemas.common import LongText, NonEmptyStr, Timestamp
from schemas.kinds.directive import Body, DirectiveKind, DirectiveStatus, Target
from schemas.kinds.receipt import REJECTED_PREFIX as REJECTED_PREFIX  # re-exported
from schemas.kinds.receipt import ReceiptState
from schemas.storable import StorableInbound
from schemas.sync import PROTOCOL_VERSION, ChangeRecord

RECEIPT_NAMESPACE = uuid.UUID("5b0f7c52-33d1-4c5e-9d0e-7a61c2f1d2a4")


def receipt_id(directive_id: uuid.UUID, unit: str) -> uuid.UUID:
    """The id of `unit`'s receipt for a directive: the same on every node, so it is idempotent."""
    return uuid.uuid5(RECEIPT_NAMESPACE, f"{directive_id}/{unit}")


class _Inbound(StorableInbound):
    """Unknown fields refused; every value storable (schemas/storable.py)."""


class DirectiveCreate(_Inbound):
    """Body of `POST /api/v1/directives`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "title": "Monthly dispute screening",
                    "body": "Screen every grid for dispute clues and report by the deadline.",
                    "kind": "screening",
                    "target": {"level": "village"},
                    "deadline": "2020-12-01T18:00:00+08:00",
                }
            ]
        }
    )

    title: NonEmptyStr = Field(description="Title, 1-200 characters")
    body: Body = Field(default="", description="Text (up to 20,000 characters)")
    kind: DirectiveKind = Field(
        default=DirectiveKind.notice,
        description="notice, task, screening, correction (of record_id) or resync",
    )
    target: Target | None = Field(
        default=None,
        description='{"level": L}, {"units": [codes]} or {"subtree": true}; a correction request '
        "defaults to the record's owner",
    )
    deadline: AwareDatetime | None = Field(default=None, description="Deadline, or null")
    record_id: uuid.UUID | None = Field(default=None, description="Record to correct")

    @model_validator(mode="after")
    def _kind_rules(self) -> Self:
        about_a_record = (DirectiveKind.correction, DirectiveKind.reveal)
        if self.kind in about_a_record and self.record_id is None:
            raise ValueError(f"a {self.kind} request names its record (record_id)")
        if self.kind not in about_a_record and self.record_id is not None:
            raise ValueError("record_id belongs to correction and reveal requests only")
        if self.kind not in about_a_record and self.target is None:
            raise ValueError(
                'target is required: {"level": L}, {"units": [...]} or {"subtree": true}'
            )
        return self


class NoteIn(_Inbound):
    """Body of ack and done (optional): a note that travels up with the receipt."""

    note: LongText | None = Field(default=None, description="Note, up to 2,000 characters")
    units: list[UnitCode] | None = Field(
        default=None,
        max_length=10_000,
        description="Targets to answer for (default: this node and every target unit it holds, "
        "i.e. those below it without a node of their own)",
    )


class ReasonIn(_Inbound):
    """Body of reject: the reason is required."""

    note: LongText = Field(min_length=1, description="Why the request is refused")


class ChildProgress(BaseModel):
    """The counts of the targets below one direct child unit of this node."""

    unit: str = Field(description="A direct child unit of this node")
    name: str
    targets: int
    delivered: int
    acknowledged: int
    done: int
    overdue: int
    rejected: int = 0


class Laggard(BaseModel):
    unit: str
    name: str
    state: str = Field(description="pending (not yet delivered), delivered or acknowledged")
    overdue: bool


class DirectiveFacts(BaseModel):
    """What every view of a directive says about it."""

    id: uuid.UUID
    title: str
    body: str
    kind: DirectiveKind
    issuer: str
    status: DirectiveStatus
    deadline: Timestamp | None
    record_id: uuid.UUID | None = None
    superseded_by: uuid.UUID | None = None


class DirectiveSummary(DirectiveFacts):
    """A directive and its progress, as seen from this node.

    Counts are of target units and cumulative: a done unit is also acknowledged and delivered.
    """

    version: str
    requested: dict[str, object] | None = Field(
        default=None, description="The target as it was asked for (at the issuer only)"
    )
    targets: int = Field(description="Target units (in this node's part of the tree)")
    delivered: int = Field(description="Stored at the target node")
    acknowledged: int = Field(description="Read and accepted there")
    done: int = Field(description="Reported complete (implies acknowledged)")
    overdue: int = Field(description="Deadline passed and not done (active directives only)")
    rejected: int = Field(default=0, description="Done as a refusal (correction requests)")


class DirectiveRead(DirectiveSummary):
    """`GET /api/v1/directives/{id}`: counts, drill-down by child unit, and the laggards."""

    target_units: list[str] = Field(description="Target units in this node's part of the tree")
    by_child: list[ChildProgress] = Field(default_factory=list)
    laggards: list[Laggard] = Field(default_factory=list)


class InboxItem(DirectiveFacts):
    """A directive addressed to this node, with this node's receipt."""

    state: ReceiptState | None = Field(description="This node's receipt state")
    note: str | None = None
    at: Timestamp | None = Field(default=None, description="When this node reached that state")
    units: list[str] = Field(
        default_factory=list,
        description="The targets this node answers for: itself and the units without a node "
        "that it holds; the state is its own, else the least advanced of theirs",
    )


class DirectivePage(BaseModel):
    items: list[DirectiveSummary]


class InboxPage(BaseModel):
    items: list[InboxItem]


class DirectiveFeed(BaseModel):
    """`GET /api/v1/sync/directives`: directive versions for the calling child's subtree.

    `cursor` is the parent's log position the child may resume after; `more` says a next slice
    is ready at once.
    """

    protocol: int = PROTOCOL_VERSION
    cursor: int = Field(ge=0)
    more: bool = False
    records: list[ChangeRecord] = Field(default_factory=list)
    push_cursor: int | None = Field(
        None,
        description="the parent's cursor in the child's own log (its pushes): a child that "
        "acked more than this sees its parent went back (a restore) and resends at once",
    )
