"""The live incident feed (`GET /api/v1/live/incidents`, server-sent events).

Events carry what a command-centre screen shows of an incident — where, what, how urgent, its
status — and no personal data (no reporter, no description): the feed is for every screen.
"""

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from schemas.codes import Level

Priority = Literal["high", "normal"]


class Place(BaseModel):
    unit: str
    name: str
    level: Level


class LiveIncident(BaseModel):
    """One stored version of an incident (new, changed or deleted), as this node holds it."""

    id: UUID
    seq: int = Field(description="this node's log position of the version (the SSE event id)")
    unit: str = Field(description="the unit the incident belongs to")
    place: list[Place] = Field(
        description="the units from just below this node down to the incident's unit, named"
    )
    category: str
    title: str
    status: str
    priority: Priority = Field(description="high for fire and public-security incidents")
    reported_at: datetime | None
    grid: str | None = None
    deleted: bool = False
    received_at: datetime = Field(description="when this version reached this node")


class LiveSnapshot(BaseModel):
    """The first event of a stream: the latest incident versions of the subtree."""

    unit: str
    head: int = Field(description="this node's log position the snapshot is taken at")
    items: list[LiveIncident] = Field(description="newest first")
