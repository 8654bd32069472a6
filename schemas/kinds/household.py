"""Kind `household`: a dwelling / household (房屋)."""

from enum import StrEnum

from pydantic import ConfigDict, Field

from schemas.common import Count, GridCode, KindModel, NonEmptyStr
from schemas.idnumber import IdNumber


class HouseType(StrEnum):
    owned = "owned"
    rented = "rented"
    collective = "collective"
    other = "other"


class Household(KindModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "address": "Dongmen Village, house 17",
                    "head_name": "才让多杰",
                    "head_id_number": "632322198807150035",
                    "grid": "632322101201003",
                    "member_count": 4,
                    "house_type": "owned",
                }
            ]
        }
    )

    address: NonEmptyStr = Field(description="Address of the dwelling")
    head_name: NonEmptyStr = Field(description="Name of the household head")
    head_id_number: IdNumber | None = Field(
        default=None, description="National ID number of the household head"
    )
    grid: GridCode | None = Field(default=None, description="15-digit code of the grid")
    member_count: Count = Field(default=0, description="Number of members (0 = not yet counted)")
    house_type: HouseType | None = Field(
        default=None, description="owned, rented, collective or other"
    )
