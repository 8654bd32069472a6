"""Kind `person`: an actual resident (实有人口)."""

from datetime import date
from enum import StrEnum
from uuid import UUID

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from schemas.common import GridCode, KindModel, MoveLink, NonEmptyStr, PastDate, Phone, Sex
from schemas.idnumber import IdNumber, decoded_birth_date, decoded_sex


class PersonStatus(StrEnum):
    registered = "registered"
    floating = "floating"
    moved_out = "moved_out"
    deceased = "deceased"


class Person(KindModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id_number": "632322198807150035",
                    "name": "才让多杰",
                    "sex": "male",
                    "birth_date": "1988-07-15",
                    "ethnicity": "Tibetan",
                    "grid": "632322101201003",
                    "phone": "13897312345",
                    "status": "registered",
                }
            ]
        }
    )

    id_number: IdNumber = Field(description="18-character national ID number (GB 11643-1999)")
    name: NonEmptyStr = Field(description="Full name")
    sex: Sex = Field(description="male or female; must agree with the ID number's 17th digit")
    birth_date: PastDate = Field(description="ISO date; must equal the date in the ID number")
    ethnicity: NonEmptyStr | None = Field(default=None, description="Ethnic group")
    household_id: UUID | None = Field(default=None, description="Id of the household record")
    grid: GridCode | None = Field(default=None, description="15-digit code of the person's grid")
    phone: Phone | None = Field(default=None, description="Mobile or landline number")
    status: PersonStatus = Field(
        default=PersonStatus.registered,
        description="registered, floating (floating population), moved_out or deceased",
    )
    moved_from: MoveLink | None = Field(
        default=None,
        description="Set by a move (POST /api/v1/records/{id}/move): the record this one "
        "continues, which ended at its old unit",
    )

    @field_validator("sex")
    @classmethod
    def _sex_matches_id(cls, value: Sex, info: ValidationInfo) -> Sex:
        id_number = info.data.get("id_number")
        if id_number is not None and decoded_sex(id_number) != value:
            says = decoded_sex(id_number)
            raise ValueError(f"sex {value} does not match ID number: its 17th digit says {says}")
        return value

    @field_validator("birth_date")
    @classmethod
    def _birth_date_matches_id(cls, value: date, info: ValidationInfo) -> date:
        id_number = info.data.get("id_number")
        if id_number is not None and decoded_birth_date(id_number) != value:
            raise ValueError(
                f"birth_date {value.isoformat()} does not match ID number, which says "
                f"{decoded_birth_date(id_number).isoformat()}"
            )
        return value
