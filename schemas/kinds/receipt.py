"""Kind `receipt`: a unit's acknowledgement of a directive, sent up to the issuer."""

from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import AwareDatetime, ConfigDict, Field, StringConstraints

from schemas.codes import UnitCode
from schemas.common import KindModel, LongText

SealedAnswer = Annotated[
    str, StringConstraints(pattern=r"^x25519:[A-Za-z0-9_=-]+$", max_length=400_000)
]


class ReceiptState(StrEnum):
    delivered = "delivered"
    acknowledged = "acknowledged"
    done = "done"


REJECTED_PREFIX = "rejected: "
"""A done receipt whose note starts with this reports a refused correction request."""

_RANKS = {"delivered": 1, "acknowledged": 2, "done": 3}
RANK_REJECTED = 4
RANK_DELETED = 5


def receipt_rank(data: Mapping[str, Any], deleted: bool = False) -> int:
    """How far a receipt got: delivered < acknowledged < done < rejected (final).

    Ranks order a receipt's versions before their HLC (docs/protocol.md, Receipts only move
    forward): a target restored from an old backup re-pulls a directive and writes a fresh
    "delivered", which must not replace the "done" its ancestors hold. A tombstone (an
    operator's removal) ranks above all.
    """
    if deleted:
        return RANK_DELETED
    state = data.get("state")
    if state == "done" and str(data.get("note") or "").startswith(REJECTED_PREFIX):
        return RANK_REJECTED
    return _RANKS.get(state, 0) if isinstance(state, str) else 0


class Receipt(KindModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "directive_id": "0b7f6c1e-2d7a-4f6e-9a57-3f0c1d2e4b5a",
                    "unit": "632322101201",
                    "state": "done",
                    "note": "All 3 grids screened.",
                    "at": "2020-11-28T17:05:00+08:00",
                }
            ]
        }
    )

    directive_id: UUID = Field(description="Id of the directive")
    unit: UnitCode = Field(description="Code of the receiving unit")
    state: ReceiptState = Field(description="delivered, acknowledged or done")
    note: LongText | None = Field(default=None, description="Note, up to 2,000 characters")
    at: AwareDatetime = Field(description="When the unit reached this state")
    sealed: SealedAnswer | None = Field(
        default=None,
        description="An approved reveal request's answer, encrypted to the requester's one-time "
        "key (`x25519:` + base64url): the tiers it passes cannot read it",
    )
