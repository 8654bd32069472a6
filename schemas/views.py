"""Aggregated views of a subtree (CONTRACT.md, Views).

Every view has the same frame: the subtree's figures at the top level, `own` (records held at
exactly this unit, not in any child: e.g. a county centre's own cases), and one row per direct
child unit with the same figures plus its name, level and data freshness, for drill-down.
"""

from typing import Annotated, Literal

from pydantic import BaseModel, Field, PlainSerializer

from schemas.codes import Level
from schemas.common import Timestamp


def _json_number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


YuanNumber = Annotated[float, PlainSerializer(_json_number, return_type=float)]
"""Yuan as a JSON number (the exact sum is also given as a decimal string)."""


class Freshness(BaseModel):
    """How current this node's copy of a unit's data is."""

    source: Literal["local", "replica"] = Field(
        description="local: held by this node itself; replica: received from the node(s) below"
    )
    last_received_at: Timestamp | None = Field(
        description="when this unit's data last reached this node, on every hop up (the oldest "
        "hop counts); null for local data, or a child node that never pushed"
    )
    age_s: float | None = Field(description="seconds since last_received_at")
    stale: bool = Field(description="no data received for longer than stale_after_s")


class ViewHead(BaseModel):
    unit: str
    name: str
    level: Level
    as_of: Timestamp = Field(description="this node's clock when the view was read")
    stale_after_s: float = Field(description="a unit silent for longer is flagged stale")
    freshness: Freshness = Field(description="of this unit's data as held here")
    stale_children: list[str] = Field(description="codes of the children flagged stale")


class ChildHead(BaseModel):
    unit: str
    name: str
    level: Level
    freshness: Freshness


# --- summary (CONTRACT shape: unit, counts, children[unit, name, counts]) --------------------


class ChildSummary(ChildHead):
    counts: dict[str, int] = Field(description="live records per kind in this child's subtree")


class Summary(ViewHead):
    counts: dict[str, int] = Field(description="live records per kind in the whole subtree")
    own: dict[str, int] = Field(description="live records per kind held at exactly this unit")
    children: list[ChildSummary]

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "unit": "632322101",
                    "name": "Kangyang Town",
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


# --- population --------------------------------------------------------------------------------


class PopulationFigures(BaseModel):
    persons: int
    households: int
    household_members: int = Field(description="sum of the households' member counts")
    by_sex: dict[str, int]
    by_age_band: dict[str, int] = Field(description="0-17, 18-34, 35-59, 60+ (by birth year)")
    by_ethnicity: dict[str, int]
    by_status: dict[str, int] = Field(description="registered, floating, moved_out, deceased")


class PopulationChild(PopulationFigures, ChildHead):
    pass


class PopulationView(PopulationFigures, ViewHead):
    own: PopulationFigures
    children: list[PopulationChild]


# --- key groups --------------------------------------------------------------------------------


class KeyGroupFigures(BaseModel):
    total: int
    high_risk: int
    by_category: dict[str, int]
    by_risk: dict[str, int]
    by_category_risk: dict[str, dict[str, int]] = Field(description="category → risk → n")


class KeyGroupChild(KeyGroupFigures, ChildHead):
    pass


class KeyGroupView(KeyGroupFigures, ViewHead):
    own: KeyGroupFigures
    children: list[KeyGroupChild]


# --- incidents ---------------------------------------------------------------------------------


class IncidentFigures(BaseModel):
    total: int
    open: int = Field(description="reported, accepted or handling")
    by_category: dict[str, int]
    by_status: dict[str, int]
    by_month: dict[str, int] = Field(description="YYYY-MM (China Standard Time) → reported")


class IncidentChild(IncidentFigures, ChildHead):
    pass


class IncidentView(IncidentFigures, ViewHead):
    own: IncidentFigures
    children: list[IncidentChild]


# --- disputes (CONTRACT shape) -----------------------------------------------------------------


class DisputeFigures(BaseModel):
    accepted: int = Field(description="cases accepted (all cases, whatever their status)")
    mediated: int = Field(description="settled by mediation")
    failed: int
    referred: int
    in_progress: int = Field(description="accepted or mediating, not yet closed")
    success_rate: float = Field(description="mediated / accepted (0 when none)")
    recovered_yuan: YuanNumber = Field(description="economic loss recovered, yuan")
    recovered_yuan_exact: str = Field(description="the same, as an exact decimal string")
    by_month: dict[str, int] = Field(description="YYYY-MM accepted → cases")


class DisputeChild(DisputeFigures, ChildHead):
    pass


class DisputeView(DisputeFigures, ViewHead):
    own: DisputeFigures
    children: list[DisputeChild]


# --- patrols (CONTRACT shape) ------------------------------------------------------------------


class PatrolFigures(BaseModel):
    grids: int
    basic_ok: int = Field(description="grids with a basic patrol in the last 7 days")
    screening_ok: int = Field(description="grids with a screening visit in the last 30 days")
    compliant: int = Field(description="grids meeting both rules")
    compliance_rate: float = Field(description="compliant / grids (1 when no grids)")
    missing: list[str] = Field(description="grid codes that missed either rule")


class MissingGrid(BaseModel):
    grid: str
    name: str
    basic_ok: bool
    screening_ok: bool
    last_basic_at: Timestamp | None
    last_screening_at: Timestamp | None


class PatrolChild(PatrolFigures, ChildHead):
    pass


class PatrolView(PatrolFigures, ViewHead):
    basic_window_days: int = 7
    screening_window_days: int = 30
    missing_detail: list[MissingGrid] = Field(description="the first 500 missing grids")
    children: list[PatrolChild]


# --- legal services ----------------------------------------------------------------------------


class LegalFigures(BaseModel):
    sessions: int
    attendance: int
    publicity_sessions: int
    publicity_attendance: int
    by_type: dict[str, dict[str, int]] = Field(description="type → {sessions, attendance}")
    by_month: dict[str, int] = Field(description="YYYY-MM → sessions")


class LegalChild(LegalFigures, ChildHead):
    pass


class LegalView(LegalFigures, ViewHead):
    own: LegalFigures
    children: list[LegalChild]


# --- governance network: grids, their workers, centres and organisations ------------------------


class GovernanceFigures(BaseModel):
    grids: int
    grid_leaders: int = Field(description="one per grid")
    grid_members: int
    centres: int = Field(description="governance centres (governance_org of type centre)")
    governance_orgs: dict[str, int] = Field(description="governance bodies by type")
    organizations: dict[str, int] = Field(description="non-public organisations by type")


class GovernanceChild(GovernanceFigures, ChildHead):
    pass


class GovernanceView(GovernanceFigures, ViewHead):
    own: GovernanceFigures
    children: list[GovernanceChild]


# --- directives --------------------------------------------------------------------------------


class DirectiveFigures(BaseModel):
    directives: int = Field(description="directive records held for this subtree")
    receipts: dict[str, int] = Field(description="receipts of its units by state")
    reached: dict[str, int] = Field(
        default_factory=dict,
        description="receipts that reached at least each state, cumulative like directive "
        "progress (a done unit is also acknowledged and delivered)",
    )


class DirectiveChild(DirectiveFigures, ChildHead):
    pass


class DirectiveView(DirectiveFigures, ViewHead):
    own: DirectiveFigures
    progress: list[dict[str, object]] | None = Field(
        description="per directive issued here: targets, delivered, acknowledged, done "
        "(from the directives domain; null where it is not available)"
    )
    children: list[DirectiveChild]


class PathItem(BaseModel):
    unit: str
    name: str
    level: Level


class Overview(BaseModel):
    """Every view of one subtree in one answer (what the dashboard loads)."""

    node: PathItem = Field(description="the node answering")
    path: list[PathItem] = Field(description="from this node's unit down to the viewed unit")
    summary: Summary
    population: PopulationView
    key_groups: KeyGroupView
    incidents: IncidentView
    disputes: DisputeView
    patrols: PatrolView
    legal: LegalView
    governance: GovernanceView
    directives: DirectiveView
