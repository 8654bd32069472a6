"""The unit registry and child enrolment."""

from pydantic import BaseModel, ConfigDict, Field

from schemas.codes import Level, UnitCode


class UnitRead(BaseModel):
    code: str
    name: str
    level: Level
    parent: str | None


class ChildEnrol(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: UnitCode
    name: str = Field("", max_length=200)


class ChildEnrolled(BaseModel):
    unit: UnitRead
    token: str = Field(description="the child's credential; shown once, only its hash is kept")
