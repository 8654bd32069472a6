"""Kind `patrol`: a logged patrol visit, basic (weekly) or screening (monthly)."""

from enum import StrEnum

from pydantic import ConfigDict, Field

from schemas.common import Count, GridCode, KindModel, LongText, NonEmptyStr, NotFutureDatetime


class PatrolType(StrEnum):
    basic = "basic"
    screening = "screening"


class Patrol(KindModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "grid": "632322101201003",
                    "patrol_type": "basic",
                    "worker": "多杰才旦",
                    "visited_at": "2020-11-23T10:00:00+08:00",
                    "households_visited": 12,
                    "findings": "No hazards found.",
                }
            ]
        }
    )

    grid: GridCode = Field(description="15-digit code of the patrolled grid")
    patrol_type: PatrolType = Field(description="basic (weekly) or screening (monthly)")
    worker: NonEmptyStr = Field(description="Grid worker who patrolled")
    visited_at: NotFutureDatetime = Field(
        description="When the visit took place (timezone required; not in the future)"
    )
    households_visited: Count = Field(default=0, description="Households visited")
    findings: LongText | None = Field(default=None, description="What was found")
