"""Kind `organization`: a non-public economic or social organisation (非公经济组织)."""

from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field

from schemas.common import Count, GridCode, KindModel, NonEmptyStr

# GB 32100-2015 charset: digits and upper-case letters except I, O, Z, S, V.
_CREDIT_CODE_CHARS = frozenset("0123456789ABCDEFGHJKLMNPQRTUWXY")


def check_credit_code(value: str) -> str:
    """Upper-case a unified social credit code; check length and charset (not the checksum)."""
    code = value.upper()
    if len(code) != 18:
        raise ValueError(f"unified credit code must have 18 characters, got {len(code)}")
    bad = sorted(set(code) - _CREDIT_CODE_CHARS)
    if bad:
        raise ValueError(
            f"unified credit code has invalid characters {''.join(bad)!r} "
            "(allowed: digits and A-Z except I, O, Z, S, V)"
        )
    return code


CreditCode = Annotated[str, AfterValidator(check_credit_code)]


class OrgType(StrEnum):
    enterprise = "enterprise"
    individual_business = "individual_business"
    social_organization = "social_organization"
    other = "other"


class Organization(KindModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Jianzha Highland Barley Cooperative",
                    "org_type": "enterprise",
                    "unified_credit_code": "93632322MA7XK2L41B",
                    "address": "Kangyang Town",
                    "grid": "632322101201003",
                    "employees": 12,
                    "legal_rep": "扎西",
                }
            ]
        }
    )

    name: NonEmptyStr = Field(description="Registered name")
    org_type: OrgType = Field(description="Type of organisation")
    unified_credit_code: CreditCode | None = Field(
        default=None, description="18-character unified social credit code (charset checked)"
    )
    address: NonEmptyStr | None = Field(default=None, description="Address")
    grid: GridCode | None = Field(default=None, description="15-digit code of the grid")
    employees: Count | None = Field(default=None, description="Number of employees")
    legal_rep: NonEmptyStr | None = Field(default=None, description="Legal representative")
