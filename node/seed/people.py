"""Residents of a village: households with members, persons with valid ID numbers, key groups."""

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from node.seed.context import UnitContext
from schemas.idnumber import check_character

ETHNICITY = {
    "632301": {"Tibetan": 70, "Tu": 12, "Han": 10, "Hui": 6, "Salar": 2},
    "632322": {"Tibetan": 55, "Han": 25, "Hui": 15, "Tu": 5},
    "632323": {"Tibetan": 95, "Han": 3, "Hui": 2},
    "632324": {"Mongol": 80, "Tibetan": 15, "Han": 5},
}
STATUS = {"registered": 92, "floating": 5, "moved_out": 2, "deceased": 1}
AGES = [((0, 17), 26), ((18, 34), 28), ((35, 59), 33), ((60, 92), 13)]
HOUSE_TYPES = {"owned": 80, "rented": 12, "collective": 5, "other": 3}
KEY_CATEGORIES = {
    "community_correction": 20,
    "released_prisoner": 15,
    "drug_rehabilitation": 10,
    "severe_mental_disorder": 25,
    "key_youth": 20,
    "petitioner": 8,
    "other": 2,
}
RISK = {"low": 60, "medium": 30, "high": 10}


@dataclass
class IdNumbers:
    """Distinct ID numbers for a village: each village of a county has its own block of sequence
    numbers (5 per birth date and sex), so numbers never repeat across the county."""

    region: str
    slot: int
    used: dict[tuple[date, bool], int] = field(default_factory=dict)

    def make(self, birth: date, male: bool) -> tuple[str, date]:
        while True:
            k = self.used.get((birth, male), 0)
            if k < 5:
                self.used[(birth, male)] = k + 1
                x = (self.slot * 5 + k) % 500
                first17 = f"{self.region}{birth:%Y%m%d}{2 * x + (1 if male else 0):03d}"
                return first17 + check_character(first17), birth
            birth -= timedelta(days=1)


@dataclass
class Resident:
    grid: str
    name: str
    id_number: str
    adult: bool


def _birth(ctx: UnitContext, adult: bool) -> date:
    bands = AGES[1:] if adult else AGES
    (low, high) = ctx.rng.choices([b for b, _ in bands], weights=[w for _, w in bands])[0]
    age = ctx.rng.randint(low, high)
    return ctx.as_of.date() - timedelta(days=age * 365 + ctx.rng.randrange(365))


def population(
    ctx: UnitContext, grids: list[str], *, persons: int, households: int, slot: int
) -> tuple[list[dict[str, Any]], list[Resident]]:
    """Households (one head each) and their members, spread over the village's grids."""
    ids = IdNumbers(ctx.county, slot)
    records: list[dict[str, Any]] = []
    residents: list[Resident] = []
    village = ctx.spec.name
    for h, size in enumerate(ctx.split(persons, households)):
        grid = grids[h % len(grids)]
        ethnicity = ctx.weighted(ETHNICITY[ctx.county])
        members = [_person(ctx, ids, grid, ethnicity, adult=(m == 0)) for m in range(size)]
        head = members[0]
        household = ctx.record(
            "household",
            grid,
            {
                "address": f"{village}, house {h + 1}",
                "head_name": head["name"],
                "head_id_number": head["id_number"],
                "grid": grid,
                "member_count": size,
                "house_type": ctx.weighted(HOUSE_TYPES),
            },
        )
        records.append(household)
        for data in members:
            data["household_id"] = household["id"]
            records.append(ctx.record("person", grid, data))
            adult = data["birth_date"] <= (ctx.as_of.date() - timedelta(days=18 * 365)).isoformat()
            residents.append(Resident(grid, data["name"], data["id_number"], adult))
    return records, residents


def _person(
    ctx: UnitContext, ids: IdNumbers, grid: str, ethnicity: str, *, adult: bool
) -> dict[str, Any]:
    male = ctx.rng.random() < 0.5
    id_number, born = ids.make(_birth(ctx, adult), male)
    data: dict[str, Any] = {
        "id_number": id_number,
        "name": ctx.name(ethnicity),
        "sex": "male" if male else "female",
        "birth_date": born.isoformat(),
        "ethnicity": ethnicity,
        "grid": grid,
        "status": ctx.weighted(STATUS),
    }
    if adult or ctx.rng.random() < 0.3:
        data["phone"] = ctx.phone()
    return data


def key_persons(
    ctx: UnitContext, residents: list[Resident], leaders: dict[str, str], share: float
) -> list[dict[str, Any]]:
    """A small share of the adults, in key groups under a grid leader's care."""
    adults = [r for r in residents if r.adult]
    chosen = ctx.rng.sample(adults, min(len(adults), round(len(residents) * share)))
    return [
        ctx.record(
            "key_person",
            r.grid,
            {
                "id_number": r.id_number,
                "name": r.name,
                "category": ctx.weighted(KEY_CATEGORIES),
                "risk_level": ctx.weighted(RISK),
                "responsible_worker": leaders[r.grid],
                "grid": r.grid,
                "since": ctx.date_ago(30, 5 * 365).isoformat(),
            },
        )
        for r in chosen
    ]
