"""Kind `legal_activity`: a legal-service activity, e.g. a legal-publicity session."""

from enum import StrEnum

from pydantic import ConfigDict, Field

from schemas.common import Count, KindModel, NonEmptyStr, PastDate


class ActivityType(StrEnum):
    publicity = "publicity"
    consultation = "consultation"
    legal_aid = "legal_aid"
    training = "training"
    other = "other"


class LegalActivity(KindModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "title": "Grassland law publicity for herders",
                    "activity_type": "publicity",
                    "held_on": "2020-09-15",
                    "attendance": 160,
                    "place": "Tuoyema herders' committee 2",
                }
            ]
        }
    )

    title: NonEmptyStr = Field(description="Title of the activity")
    activity_type: ActivityType = Field(description="Type of activity")
    held_on: PastDate = Field(description="Date it was held")
    attendance: Count = Field(description="Number of people attending")
    place: NonEmptyStr | None = Field(default=None, description="Where it was held")
