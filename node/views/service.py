"""Aggregated views of a subtree, read from the roll-ups kept with every write.

Each view is one read transaction of three small reads: the roll-up rows of the unit and of its
direct children (a primary-key and an index range whose size follows the number of children and
feature keys, not of records), the names, and the freshness rows of the way up. The overview
reads them once for every view.
"""

from collections.abc import Callable
from typing import Any

from node.context import NodeContext
from node.views import directives as directive_hook
from node.views import figures
from node.views.frame import Frame, Scope, Tally, open_scope, read_frame
from node.views.patrols import patrols as patrol_view
from schemas.codes import LEVEL_BY_LENGTH
from schemas.kinds import Kind
from schemas.views import (
    ChildSummary,
    DirectiveChild,
    DirectiveView,
    DisputeChild,
    DisputeView,
    GovernanceChild,
    GovernanceView,
    IncidentChild,
    IncidentView,
    KeyGroupChild,
    KeyGroupView,
    LegalChild,
    LegalView,
    Overview,
    PathItem,
    PatrolView,
    PopulationChild,
    PopulationView,
    Summary,
)

SUMMARY = {"kinds": tuple(k.value for k in Kind), "dims": ("all",)}
PATROLS = {"kinds": (), "dims": ()}
_SPECS = (
    SUMMARY,
    figures.POPULATION,
    figures.KEY_GROUPS,
    figures.INCIDENTS,
    figures.DISPUTES,
    figures.LEGAL,
    figures.GOVERNANCE,
    figures.DIRECTIVES,
)
EVERYTHING = {
    "kinds": tuple(sorted({k for spec in _SPECS for k in spec["kinds"]})),
    "dims": tuple(sorted({d for spec in _SPECS for d in spec["dims"]})),
}


def _frame(ctx: NodeContext, scope: Scope, spec: dict[str, Any]) -> Frame:
    with ctx.db.read() as conn:
        return read_frame(conn, scope, kinds=spec["kinds"], dims=spec["dims"])


def _build_summary(frame: Frame) -> Summary:
    return frame.assemble(lambda t: {"counts": t.kinds()}, Summary, ChildSummary, own=Tally.kinds)


def _build_population(frame: Frame) -> PopulationView:
    year = frame.scope.now.year
    build = frame.assemble
    return build(lambda t: figures.population(t, year=year), PopulationView, PopulationChild)


def _simple(fn: Callable[[Tally], dict[str, Any]], view: Any, child: Any) -> Callable[..., Any]:
    return lambda frame: frame.assemble(fn, view, child)


_build_key_groups = _simple(figures.key_groups, KeyGroupView, KeyGroupChild)
_build_incidents = _simple(figures.incidents, IncidentView, IncidentChild)
_build_disputes = _simple(figures.disputes, DisputeView, DisputeChild)
_build_legal = _simple(figures.legal, LegalView, LegalChild)
_build_governance = _simple(figures.governance, GovernanceView, GovernanceChild)


def _build_directives(ctx: NodeContext, frame: Frame) -> DirectiveView:
    progress = directive_hook.progress_of(ctx, frame.scope.unit)
    return frame.assemble(figures.directives, DirectiveView, DirectiveChild, progress=progress)


def _view(spec: dict[str, Any], build: Callable[[Frame], Any]) -> Callable[..., Any]:
    def view(ctx: NodeContext, *, unit: str | None = None) -> Any:
        return build(_frame(ctx, open_scope(ctx, unit), spec))

    return view


summary = _view(SUMMARY, _build_summary)
population = _view(figures.POPULATION, _build_population)
key_groups = _view(figures.KEY_GROUPS, _build_key_groups)
incidents = _view(figures.INCIDENTS, _build_incidents)
disputes = _view(figures.DISPUTES, _build_disputes)
legal = _view(figures.LEGAL, _build_legal)
governance = _view(figures.GOVERNANCE, _build_governance)


def patrols(ctx: NodeContext, *, unit: str | None = None) -> PatrolView:
    scope = open_scope(ctx, unit)
    with ctx.db.read() as conn:
        return patrol_view(conn, read_frame(conn, scope, kinds=(), dims=()))


def directives(ctx: NodeContext, *, unit: str | None = None) -> DirectiveView:
    return _build_directives(ctx, _frame(ctx, open_scope(ctx, unit), figures.DIRECTIVES))


def overview(ctx: NodeContext, *, unit: str | None = None) -> Overview:
    """Every view of the subtree from one read of the roll-ups (the dashboard's one request)."""
    scope = open_scope(ctx, unit)
    with ctx.db.read() as conn:
        frame = read_frame(conn, scope, kinds=EVERYTHING["kinds"], dims=EVERYTHING["dims"])
        patrol = patrol_view(conn, frame)
    path = [PathItem(unit=c, name=n, level=LEVEL_BY_LENGTH[len(c)]) for c, n in frame.path]
    return Overview(
        node=path[0],
        path=path,
        summary=_build_summary(frame),
        population=_build_population(frame),
        key_groups=_build_key_groups(frame),
        incidents=_build_incidents(frame),
        disputes=_build_disputes(frame),
        patrols=patrol,
        legal=_build_legal(frame),
        governance=_build_governance(frame),
        directives=_build_directives(ctx, frame),
    )
