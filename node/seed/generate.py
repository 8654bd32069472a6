"""Records of one unit, deterministic from (profile, seed, as_of): what the node that owns the
unit writes through POST /api/v1/records/bulk ({id, kind, unit, data}; ids are uuid5).

A village's records are written at the village and its grids (residents, households, grids,
patrols, incidents, organisations, key groups, its centre); a township's, county's or the
prefecture's at the unit itself (centres, mediation cases, legal-service sessions).
"""

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from node.seed import centres, grids, people
from node.seed.context import UnitContext, default_as_of
from node.seed.topology import (
    HAZANG,
    HUOERJIA,
    KANGYANG,
    TUOYEMA,
    UnitSpec,
    build_topology,
    unit_index,
)

HAZANG_PERSONS, HAZANG_HOUSEHOLDS = 2223, 583
HAZANG_GRID_MEMBERS = [10, 10, 10, 10, 9, 9, 9, 9, 9, 9]  # 94 unit grid members
KANGYANG_GRID_MEMBERS = (16, 7, 6)  # the first 16 of its 40 grids have 7 members, the rest 6
SIZES: dict[str, dict[str, Any]] = {
    "huangnan": {
        "persons": (125, 190),
        "incidents": 10,
        "orgs": 4,
        "key_share": 0.012,
        "disputes": {"county": 40, "township": 10, "village": 2},
        "legal": {"prefecture": 4, "county": 5, "township": 3, "village": 1},
    },
    "demo": {
        "persons": (30, 50),
        "incidents": 4,
        "orgs": 1,
        "key_share": 0.012,
        "disputes": {"county": 12, "township": 5, "village": 1},
        "legal": {"prefecture": 2, "county": 3, "township": 2, "village": 1},
    },
}


def records_for(
    profile: str, unit_code: str, seed: int = 1, *, as_of: datetime | None = None
) -> Iterator[dict[str, Any]]:
    """The records owned by `unit_code`: at the unit itself, and for a village at its grids too
    (for a grid: that grid's share of its village's records)."""
    index = unit_index(profile)
    spec = index.get(unit_code)
    if spec is None:
        raise ValueError(f"unit {unit_code} is not in profile {profile!r}")
    if spec.level == "grid":
        assert spec.parent is not None
        village = records_for(profile, spec.parent, seed, as_of=as_of)
        return (r for r in village if r["unit"] == unit_code)
    ctx = UnitContext(profile, seed, spec, as_of or default_as_of())
    return iter(_village(ctx, index) if spec.level == "village" else _centre(ctx))


def subtree_records(
    profile: str, root: str, seed: int = 1, *, as_of: datetime | None = None
) -> Iterator[dict[str, Any]]:
    """Every record of the subtree of `root`, unit by unit (parents first)."""
    moment = as_of or default_as_of()
    for spec in build_topology(profile):
        if spec.code.startswith(root) and spec.level != "grid":
            yield from records_for(profile, spec.code, seed, as_of=moment)


def _centre(ctx: UnitContext) -> list[dict[str, Any]]:
    sizes, level, code = SIZES[ctx.profile], ctx.spec.level, ctx.spec.code
    out = centres.governance_orgs(ctx)
    if code == centres.JIANZHA:
        out += centres.jianzha_centre_disputes(ctx)
    elif level in sizes["disputes"]:
        out += centres.disputes(ctx, ctx.rng.randint(1, 2 * sizes["disputes"][level]))
    if code == TUOYEMA:
        out += centres.tuoyema_sessions(ctx)
    else:
        out += centres.legal_activities(ctx, ctx.rng.randint(1, sizes["legal"][level]))
    return out


def _grid_members(ctx: UnitContext, index: dict[str, UnitSpec], grid_codes: list[str]) -> list[int]:
    code = ctx.spec.code
    if code == HAZANG:
        return HAZANG_GRID_MEMBERS
    if code.startswith(KANGYANG):
        first, more, rest = KANGYANG_GRID_MEMBERS
        everyone = sorted(
            c for c, u in index.items() if u.level == "grid" and c.startswith(KANGYANG)
        )
        return [more if everyone.index(g) < first else rest for g in grid_codes]
    return [ctx.rng.randint(3, 8) for _ in grid_codes]


def _village(ctx: UnitContext, index: dict[str, UnitSpec]) -> list[dict[str, Any]]:
    sizes, code = SIZES[ctx.profile], ctx.spec.code
    grid_codes = sorted(c for c, u in index.items() if u.parent == code)
    if code == HAZANG:
        persons, households = HAZANG_PERSONS, HAZANG_HOUSEHOLDS
    else:
        persons = sum(ctx.rng.randint(*sizes["persons"]) for _ in grid_codes)
        households = max(len(grid_codes), round(persons / 3.8))
    county_villages = [c for c, u in index.items() if u.level == "village" and c[:6] == code[:6]]
    slot = county_villages.index(code)
    residents_records, residents = people.population(
        ctx, grid_codes, persons=persons, households=households, slot=slot
    )
    per_grid = {g: 0 for g in grid_codes}
    for record in residents_records:
        if record["kind"] == "household":
            per_grid[record["unit"]] += 1
    members = _grid_members(ctx, index, grid_codes)
    grid_recs, leaders, workers = grids.grid_records(ctx, grid_codes, members, per_grid)
    out = centres.governance_orgs(ctx) + grid_recs + residents_records
    out += people.key_persons(ctx, residents, leaders, sizes["key_share"])
    orgs = [sizes["orgs"]] * len(grid_codes)
    if code == HUOERJIA:  # "9 institutions in its area"
        orgs = [
            9 // len(grid_codes) + (1 if i < 9 % len(grid_codes) else 0)
            for i in range(len(grid_codes))
        ]
    for grid, n_orgs in zip(grid_codes, orgs, strict=True):
        out += grids.patrols(ctx, grid, leaders[grid])
        out += grids.incidents(ctx, grid, [leaders[grid], *workers[grid]], sizes["incidents"])
        out += grids.organizations(ctx, grid, n_orgs)
    out += centres.disputes(ctx, ctx.rng.randint(0, 2 * sizes["disputes"]["village"]))
    if ctx.spec.parent == TUOYEMA:
        out += centres.tuoyema_sessions(ctx)
    else:
        out += centres.legal_activities(ctx, ctx.rng.randint(0, sizes["legal"]["village"]))
    return out
