"""Record kinds: one model per kind for a record's `data`, and `validate_data`."""

import copy
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from schemas.common import KindModel
from schemas.kinds.directive import Directive
from schemas.kinds.dispute import Dispute
from schemas.kinds.governance_org import GovernanceOrg
from schemas.kinds.grid import Grid
from schemas.kinds.household import Household
from schemas.kinds.incident import Incident
from schemas.kinds.key_person import KeyPerson
from schemas.kinds.legal_activity import LegalActivity
from schemas.kinds.organization import Organization
from schemas.kinds.patrol import Patrol
from schemas.kinds.person import Person
from schemas.kinds.receipt import Receipt, receipt_rank

SCHEMA_VERSION: int = 1
"""Version of the data schemas in this code; stored with each record version."""


class Kind(StrEnum):
    person = "person"
    household = "household"
    key_person = "key_person"
    organization = "organization"
    governance_org = "governance_org"
    grid = "grid"
    incident = "incident"
    dispute = "dispute"
    patrol = "patrol"
    legal_activity = "legal_activity"
    directive = "directive"
    receipt = "receipt"


KIND_MODELS: dict[Kind, type[KindModel]] = {
    Kind.person: Person,
    Kind.household: Household,
    Kind.key_person: KeyPerson,
    Kind.organization: Organization,
    Kind.governance_org: GovernanceOrg,
    Kind.grid: Grid,
    Kind.incident: Incident,
    Kind.dispute: Dispute,
    Kind.patrol: Patrol,
    Kind.legal_activity: LegalActivity,
    Kind.directive: Directive,
    Kind.receipt: Receipt,
}

FEDERATION_KINDS: tuple[Kind, ...] = (Kind.directive, Kind.receipt)
BASE_KINDS: tuple[Kind, ...] = tuple(k for k in Kind if k not in FEDERATION_KINDS)
"""The ten base-data and working-record kinds (all but directive and receipt)."""


def precedence(kind: str, data: Mapping[str, Any], deleted: bool) -> int:
    """What orders a record's versions before their (HLC, origin): 0 for every kind but the
    receipt, whose state only moves forward (receipt_rank). The same rule at every node, so a
    record converges to one version everywhere."""
    return receipt_rank(data, deleted) if kind == "receipt" else 0


RANKED_KINDS: frozenset[str] = frozenset({"receipt"})
"""The kinds whose `precedence` is not always 0 (the store reads their heads' data)."""


def model_for(kind: str) -> type[KindModel]:
    """The data model of `kind`; ValueError for an unknown kind."""
    try:
        return KIND_MODELS[Kind(kind)]
    except ValueError:
        raise ValueError(
            f"unknown kind {kind!r}; known kinds: {', '.join(k.value for k in Kind)}"
        ) from None


def validate_data(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """Validate `data` as a `kind` payload and return it normalised and JSON-ready.

    Unknown kind → ValueError; invalid data → pydantic.ValidationError (locations relative to
    `data`). Unset optional fields are left out; defaults are filled in.
    """
    return model_for(kind).model_validate(data).model_dump(mode="json", exclude_none=True)


def example_data(kind: str) -> dict[str, Any]:
    """A fresh copy of the valid example `data` of `kind` (the one shown in OpenAPI)."""
    extra = model_for(kind).model_config.get("json_schema_extra")
    assert isinstance(extra, dict)
    examples = extra["examples"]
    assert isinstance(examples, list) and isinstance(examples[0], dict)
    return copy.deepcopy(examples[0])


__all__ = [
    "BASE_KINDS",
    "FEDERATION_KINDS",
    "KIND_MODELS",
    "RANKED_KINDS",
    "SCHEMA_VERSION",
    "Directive",
    "Dispute",
    "GovernanceOrg",
    "Grid",
    "Household",
    "Incident",
    "KeyPerson",
    "Kind",
    "LegalActivity",
    "Organization",
    "Patrol",
    "Person",
    "Receipt",
    "example_data",
    "model_for",
    "precedence",
    "validate_data",
]
