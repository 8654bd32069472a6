"""Aggregated views of a subtree."""

from pydantic import BaseModel, Field

from schemas.codes import Level


class ChildSummary(BaseModel):
    unit: str
    name: str
    counts: dict[str, int] = Field(description="live records per kind in this child's subtree")


class Summary(BaseModel):
    unit: str
    level: Level
    counts: dict[str, int] = Field(description="live records per kind in the whole subtree")
    children: list[ChildSummary]

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "unit": "632322101",
                    "level": "township",
                    "counts": {"person": 2223, "household": 583},
                    "children": [
                        {
                            "unit": "632322101201",
                            "name": "Dongmen Village",
                            "counts": {"person": 2223, "household": 583},
                        }
                    ],
                }
            ]
        }
    }
