"""Kind `grid`: a grid (网格) with its leader and members."""

from pydantic import ConfigDict, Field

from schemas.common import Count, GridCode, KindModel, NonEmptyStr, Phone


class Grid(KindModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "632322101201003",
                    "name": "Dongmen grid 3",
                    "leader": "多杰才旦",
                    "members": ["卓玛", "索南"],
                    "leader_phone": "13897312345",
                    "households": 58,
                }
            ]
        }
    )

    code: GridCode = Field(description="15-digit grid code")
    name: NonEmptyStr = Field(description="Grid name")
    leader: NonEmptyStr = Field(description="Grid leader (网格长)")
    members: list[NonEmptyStr] = Field(
        default_factory=list, description="Names of the grid members (网格员)"
    )
    leader_phone: Phone | None = Field(default=None, description="Grid leader's phone")
    households: Count | None = Field(default=None, description="Households in the grid")
