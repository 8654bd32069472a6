"""Kind `dispute`: a mediation case (矛盾纠纷调解)."""

from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from schemas.common import KindModel, NonEmptyStr, PastDate, Yuan


class DisputeStatus(StrEnum):
    accepted = "accepted"
    mediating = "mediating"
    mediated = "mediated"
    failed = "failed"
    referred = "referred"


class Dispute(KindModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "case_no": "JZ-2020-0118",
                    "category": "grassland boundary",
                    "parties": ["才让", "扎西"],
                    "accepted_on": "2020-06-02",
                    "status": "mediated",
                    "mediator": "invited mediator 3",
                    "judicial_confirmation": True,
                    "amount_recovered_yuan": "45600.00",
                    "closed_on": "2020-06-20",
                }
            ]
        }
    )

    case_no: NonEmptyStr = Field(description="Case number")
    category: NonEmptyStr | None = Field(default=None, description="Type of dispute")
    parties: list[NonEmptyStr] = Field(min_length=1, description="Names of the parties")
    accepted_on: PastDate = Field(description="Date the case was accepted")
    status: DisputeStatus = Field(
        description="accepted → mediating → mediated (settled) / failed / referred"
    )
    mediator: NonEmptyStr | None = Field(default=None, description="Mediator")
    judicial_confirmation: bool = Field(
        default=False, description="Whether a court confirmed the mediation agreement"
    )
    amount_recovered_yuan: Yuan = Field(
        default=Decimal("0.00"),
        description="Economic loss recovered, in yuan (exact decimal, as a JSON string)",
    )
    closed_on: PastDate | None = Field(
        default=None, description="Date the case was closed; not before accepted_on"
    )

    @field_validator("closed_on")
    @classmethod
    def _after_accepted(cls, value: date | None, info: ValidationInfo) -> date | None:
        accepted = info.data.get("accepted_on")
        if value is not None and accepted is not None and value < accepted:
            raise ValueError(
                f"closed_on {value.isoformat()} is before accepted_on {accepted.isoformat()}"
            )
        return value
