"""Reveal on request (issue 14): an upper tier asks a record's owner for it in full.

`POST /api/v1/records/{id}/reveal-request` at the requester issues a directive of kind
`reveal` to the record's owner; `POST /api/v1/reveals/{id}/approve` or `/refuse` at the owner
answers; `GET /api/v1/reveals/{id}` at the requester reads the answer while it is held.
"""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from schemas.codes import UnitCode
from schemas.common import LongText
from schemas.storable import StorableInbound

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=500)]


class RevealStatus(StrEnum):
    pending = "pending"  # asked, no answer yet
    approved = "approved"  # the answer arrived and is readable until expires_at
    refused = "refused"  # the owner's operator said no (note: why)
    expired = "expired"  # the hold ended: the answer was purged


class RevealRequestIn(StorableInbound):
    """Body of `POST /api/v1/records/{id}/reveal-request`: why the record is needed in full."""

    reason: Reason = Field(description="Why (5-500 characters); travels to the owner, audited")


class ApproveIn(StorableInbound):
    """Body of `POST /api/v1/reveals/{id}/approve` (optional)."""

    note: LongText | None = Field(default=None, description="A note for the requester")


class RefuseIn(StorableInbound):
    """Body of `POST /api/v1/reveals/{id}/refuse`."""

    reason: Reason = Field(description="Why the request is refused (5-500 characters)")


class RevealRead(BaseModel):
    id: uuid.UUID = Field(description="The request's id (the id of the directive carrying it)")
    record_id: uuid.UUID
    owner: UnitCode = Field(description="The node that owns the record and answers")
    reason: str
    requested_by: str
    requested_at: datetime
    status: RevealStatus
    answered_at: datetime | None = None
    expires_at: datetime | None = Field(default=None, description="When the answer is purged")
    note: str | None = Field(default=None, description="The owner's note or reason to refuse")
    record: dict[str, Any] | None = Field(
        default=None, description="The record in full, while approved and held (each read audited)"
    )


class RevealPage(BaseModel):
    items: list[RevealRead]
