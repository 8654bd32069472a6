"""Kind `incident`: an event a grid worker reports, with a status workflow."""

from datetime import datetime
from enum import StrEnum

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from schemas.common import GridCode, KindModel, LongText, NonEmptyStr, NotFutureDatetime


class IncidentCategory(StrEnum):
    hazard = "hazard"
    dispute_clue = "dispute_clue"
    public_security = "public_security"
    petition = "petition"
    fire = "fire"
    other = "other"


class IncidentStatus(StrEnum):
    reported = "reported"
    accepted = "accepted"
    handling = "handling"
    resolved = "resolved"
    closed = "closed"


class IncidentPriority(StrEnum):
    high = "high"
    normal = "normal"


class Incident(KindModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "category": "hazard",
                    "title": "Loose power line by the school road",
                    "description": "Reported by a herder; area cordoned off.",
                    "status": "resolved",
                    "reported_at": "2020-11-20T09:15:00+08:00",
                    "reporter": "多杰才旦",
                    "grid": "632322101201003",
                    "resolved_at": "2020-11-20T16:40:00+08:00",
                }
            ]
        }
    )

    category: IncidentCategory = Field(description="Kind of incident")
    title: NonEmptyStr = Field(description="Short title")
    description: LongText | None = Field(default=None, description="Details")
    status: IncidentStatus = Field(description="reported → accepted → handling → resolved → closed")
    reported_at: NotFutureDatetime = Field(
        description="When it was reported (timezone required; not in the future)"
    )
    reporter: NonEmptyStr = Field(description="Who reported it")
    grid: GridCode | None = Field(default=None, description="15-digit code of the grid")
    priority: IncidentPriority | None = Field(
        default=None,
        description="high: alert every ancestor's screen; when absent, fire and public-security "
        "incidents are high and the rest normal",
    )
    resolved_at: NotFutureDatetime | None = Field(
        default=None, description="When it was resolved; not before reported_at"
    )

    @field_validator("resolved_at")
    @classmethod
    def _after_report(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        reported = info.data.get("reported_at")
        if value is not None and reported is not None and value < reported:
            raise ValueError(
                f"resolved_at {value.isoformat()} is before reported_at {reported.isoformat()}"
            )
        return value
