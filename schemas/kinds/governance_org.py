"""Kind `governance_org`: a governance body or team (综治组织) and its members."""

from enum import StrEnum

from pydantic import ConfigDict, Field

from schemas.common import KindModel, NonEmptyStr, PastDate, Phone


class GovOrgType(StrEnum):
    centre = "centre"
    mediation_committee = "mediation_committee"
    security_patrol = "security_patrol"
    legal_service_station = "legal_service_station"
    service_post = "service_post"
    other = "other"


class Member(KindModel):
    name: NonEmptyStr = Field(description="Member's name")
    role: NonEmptyStr = Field(description="Role, e.g. judge, mediator, clerk")
    phone: Phone | None = Field(default=None, description="Phone number")


class GovernanceOrg(KindModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Jianzha County People's Mediation Centre",
                    "org_type": "mediation_committee",
                    "members": [
                        {"name": "王法官", "role": "judge"},
                        {"name": "李律师", "role": "lawyer", "phone": "0973-8721234"},
                    ],
                    "founded": "2019-01-01",
                }
            ]
        }
    )

    name: NonEmptyStr = Field(description="Name of the body")
    org_type: GovOrgType = Field(description="Type of governance body")
    members: list[Member] = Field(default_factory=list, description="Members and their roles")
    founded: PastDate | None = Field(default=None, description="Founding date")
