"""A village's grids and the grid workers' logs: patrols, incidents, organisations."""

from datetime import timedelta
from typing import Any

from node.seed.context import UnitContext, iso
from node.seed.names import INCIDENT_TITLES, ORG_WORDS

_CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_PREFIX = {
    "enterprise": "91",
    "individual_business": "92",
    "social_organization": "52",
    "other": "93",
}
INCIDENT_CATEGORIES = {
    "hazard": 30,
    "dispute_clue": 30,
    "public_security": 15,
    "petition": 10,
    "fire": 5,
    "other": 10,
}
ORG_TYPES = {"individual_business": 55, "enterprise": 20, "social_organization": 20, "other": 5}
PATROL_WEEKS, SCREENING_MONTHS = 8, 3
MISSES_BASIC, MISSES_SCREENING = 0.10, 0.06
"""Share of grids whose last basic patrol is over a week old / last screening over a month."""


def grid_records(
    ctx: UnitContext, grids: list[str], members: list[int], households: dict[str, int]
) -> tuple[list[dict[str, Any]], dict[str, str], dict[str, list[str]]]:
    """One grid record each, with its leader and members; returns the names by grid."""
    records, leaders, workers = [], {}, {}
    for n, (grid, count) in enumerate(zip(grids, members, strict=True), start=1):
        leaders[grid] = ctx.name()
        workers[grid] = [ctx.name() for _ in range(count)]
        records.append(
            ctx.record(
                "grid",
                grid,
                {
                    "code": grid,
                    "name": f"{ctx.spec.name} grid {n}",
                    "leader": leaders[grid],
                    "members": workers[grid],
                    "leader_phone": ctx.phone(),
                    "households": households.get(grid, 0),
                },
            )
        )
    return records, leaders, workers


def patrols(ctx: UnitContext, grid: str, leader: str) -> list[dict[str, Any]]:
    """A basic visit a week and a screening a month, except where the grid fell behind."""
    late_basic = ctx.rng.random() < MISSES_BASIC
    late_screening = ctx.rng.random() < MISSES_SCREENING
    out = []
    for week in range(PATROL_WEEKS):
        if late_basic and week < 2:
            continue  # the last two weekly visits were missed: 8-14 days since the last one
        when = ctx.days_ago(7 * week + 0.3, 7 * week + 5.5)
        out.append(_patrol(ctx, grid, leader, "basic", when))
    for month in range(SCREENING_MONTHS):
        if late_screening and month == 0:
            continue
        when = ctx.days_ago(30 * month + 1, 30 * month + 26)
        out.append(_patrol(ctx, grid, leader, "screening", when))
    return out


def _patrol(ctx: UnitContext, grid: str, leader: str, kind: str, when: Any) -> dict[str, Any]:
    visited = ctx.rng.randint(5, 15) if kind == "basic" else ctx.rng.randint(20, 60)
    findings = ctx.rng.choice(
        [
            "No hazards found.",
            "Reminded households of fire safety.",
            "One dispute clue noted and reported.",
        ]
    )
    return ctx.record(
        "patrol",
        grid,
        {
            "grid": grid,
            "patrol_type": kind,
            "worker": leader,
            "visited_at": iso(when),
            "households_visited": visited,
            "findings": findings,
        },
    )


def incidents(ctx: UnitContext, grid: str, reporters: list[str], n: int) -> list[dict[str, Any]]:
    out = []
    for _ in range(n):
        category = ctx.weighted(INCIDENT_CATEGORIES)
        reported = ctx.days_ago(0.2, 365)
        age = (ctx.as_of - reported).days
        if age > 30:
            status = ctx.weighted({"closed": 70, "resolved": 28, "handling": 2})
        else:
            status = ctx.weighted(
                {"reported": 15, "accepted": 20, "handling": 30, "resolved": 25, "closed": 10}
            )
        data: dict[str, Any] = {
            "category": category,
            "title": ctx.rng.choice(INCIDENT_TITLES[category]),
            "status": status,
            "reported_at": iso(reported),
            "reporter": ctx.rng.choice(reporters),
            "grid": grid,
        }
        if status in ("resolved", "closed"):
            resolved = reported + timedelta(hours=ctx.rng.uniform(1, 72))
            data["resolved_at"] = iso(min(resolved, ctx.as_of))
        out.append(ctx.record("incident", grid, data))
    return out


def organizations(ctx: UnitContext, grid: str, n: int) -> list[dict[str, Any]]:
    out = []
    for _ in range(n):
        org_type = ctx.weighted(ORG_TYPES)
        code = _CREDIT_PREFIX[org_type] + ctx.county + "".join(ctx.rng.choices(_CREDIT_CHARS, k=10))
        out.append(
            ctx.record(
                "organization",
                grid,
                {
                    "name": f"{ctx.spec.name} {ctx.rng.choice(ORG_WORDS[org_type])}",
                    "org_type": org_type,
                    "unified_credit_code": code,
                    "address": ctx.spec.name,
                    "grid": grid,
                    "employees": ctx.rng.randint(1, 40 if org_type == "enterprise" else 8),
                    "legal_rep": ctx.name(),
                },
            )
        )
    return out
