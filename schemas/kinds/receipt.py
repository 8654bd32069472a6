"""Kind `receipt`: a unit's acknowledgement of a directive, sent up to the issuer."""

from enum import StrEnum
from uuid import UUID

from pydantic import AwareDatetime, ConfigDict, Field

from schemas.codes import UnitCode
from schemas.common import KindModel, LongText


class ReceiptState(StrEnum):
    delivered = "delivered"
    acknowledged = "acknowledged"
    done = "done"


class Receipt(KindModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "directive_id": "0b7f6c1e-2d7a-4f6e-9a57-3f0c1d2e4b5a",
                    "unit": "632322101201",
                    "state": "done",
                    "note": "All 3 grids screened.",
                    "at": "2020-11-28T17:05:00+08:00",
                }
            ]
        }
    )

    directive_id: UUID = Field(description="Id of the directive")
    unit: UnitCode = Field(description="Code of the receiving unit")
    state: ReceiptState = Field(description="delivered, acknowledged or done")
    note: LongText | None = Field(default=None, description="Note, up to 2,000 characters")
    at: AwareDatetime = Field(description="When the unit reached this state")
