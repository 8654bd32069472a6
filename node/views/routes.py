"""/api/v1/views: aggregates of a subtree (`?unit=`, default this node's own unit).

A unit outside this node's subtree is 403; a malformed code is 422. Every view has a row per
direct child unit for drill-down, each with its data freshness.
"""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Query, Response

from node.deps import ContextDep, PrincipalDep
from node.records.routes import ERRORS
from node.views import service
from schemas.codes import UnitCode
from schemas.views import (
    DirectiveView,
    DisputeView,
    GovernanceView,
    IncidentView,
    KeyGroupView,
    LegalView,
    Overview,
    PatrolView,
    PopulationView,
    Summary,
)

router = APIRouter(prefix="/api/v1/views", tags=["views"], responses=ERRORS)
UnitQuery = Query(None, description="root of the subtree; default: this node's unit")


def _view(path: str, model: Any, build: Callable[..., Any], summary: str) -> None:
    def endpoint(ctx: ContextDep, by: PrincipalDep, unit: UnitCode | None = UnitQuery) -> Response:
        # The service returns the response model; serialise it once, straight to JSON.
        shown = build(ctx, unit=by.confine(unit))
        return Response(shown.model_dump_json(), media_type="application/json")

    router.add_api_route(
        path,
        endpoint,
        methods=["GET"],
        response_model=model,
        summary=summary,
        name=f"views{path.replace('/', '_').replace('-', '_')}",
    )


_view("/summary", Summary, service.summary, "Live records per kind in a subtree, per child")
_view(
    "/population",
    PopulationView,
    service.population,
    "Persons and households by sex, age band, ethnicity and status",
)
_view("/key-groups", KeyGroupView, service.key_groups, "Key groups by category and risk level")
_view("/incidents", IncidentView, service.incidents, "Incidents by category, status and month")
_view(
    "/disputes",
    DisputeView,
    service.disputes,
    "Disputes accepted, mediated, failed, in progress; success rate; yuan recovered",
)
_view(
    "/patrols",
    PatrolView,
    service.patrols,
    "Grids with a basic patrol in 7 days and a screening in 30; the grids that missed",
)
_view("/legal", LegalView, service.legal, "Legal-service sessions and attendance")
_view(
    "/governance",
    GovernanceView,
    service.governance,
    "Grids, grid leaders and members, centres and organisations",
)
_view("/directives", DirectiveView, service.directives, "Directive progress and receipts")
_view("/overview", Overview, service.overview, "Every view of a subtree in one answer")
