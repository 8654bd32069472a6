"""Kind `key_person`: a member of a key group under special care (重点人群)."""

from enum import StrEnum

from pydantic import ConfigDict, Field

from schemas.common import GridCode, KindModel, LongText, NonEmptyStr, PastDate
from schemas.idnumber import IdNumber


class KeyCategory(StrEnum):
    community_correction = "community_correction"
    released_prisoner = "released_prisoner"
    drug_rehabilitation = "drug_rehabilitation"
    severe_mental_disorder = "severe_mental_disorder"
    key_youth = "key_youth"
    petitioner = "petitioner"
    other = "other"


class RiskLevel(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"


class KeyPerson(KindModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id_number": "632322199003020125",
                    "name": "拉毛措",
                    "category": "community_correction",
                    "risk_level": "low",
                    "responsible_worker": "多杰才旦",
                    "grid": "632322101201003",
                    "since": "2020-03-01",
                }
            ]
        }
    )

    id_number: IdNumber = Field(description="18-character national ID number")
    name: NonEmptyStr = Field(description="Full name")
    category: KeyCategory = Field(description="Key group the person belongs to")
    risk_level: RiskLevel = Field(description="low, medium or high")
    responsible_worker: NonEmptyStr = Field(description="Grid worker responsible for the person")
    grid: GridCode | None = Field(default=None, description="15-digit code of the grid")
    since: PastDate | None = Field(default=None, description="Date the person joined the group")
    note: LongText | None = Field(default=None, description="Free-text note")
