"""The duplicate-person finder: the same ID number (by its keyed hash) registered in two or
more villages of a subtree — floating population or a duplicate registration — found at any
level without the number itself (`tiersync persons duplicates`)."""

from collections import defaultdict
from dataclasses import dataclass

from node.db import Database
from node.records import repository as records_repo
from node.records.wire import wire_id
from node.units import repository as units_repo
from schemas.codes import CODE_LENGTHS, Level


@dataclass(frozen=True)
class Registration:
    village: str
    name: str  # the village's name as the registry knows it
    unit: str  # where the record is (the village or one of its grids)
    record_id: str


@dataclass(frozen=True)
class Duplicate:
    id_hash: str
    registrations: list[Registration]


def find(db: Database, *, root: str, kind: str = "person") -> list[Duplicate]:
    """Every keyed hash held for records in two or more villages of `root`'s subtree."""
    village_len = CODE_LENGTHS[Level.village]
    with db.read() as conn:
        rows = records_repo.id_hashes_in(conn, kind=kind, root=root)
        by_hash: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for row in rows:
            by_hash[row.id_hash].append((row.unit, wire_id(row.id)))
        found = {
            h: regs for h, regs in by_hash.items() if len({u[:village_len] for u, _ in regs}) > 1
        }
        villages = {u[:village_len] for regs in found.values() for u, _ in regs}
        names = {code: units_repo.get_unit(conn, code) for code in villages}
    return [
        Duplicate(
            id_hash=h,
            registrations=[
                Registration(
                    village=unit[:village_len],
                    name=str(getattr(names.get(unit[:village_len]), "name", "") or ""),
                    unit=unit,
                    record_id=rid,
                )
                for unit, rid in regs
            ],
        )
        for h, regs in sorted(found.items())
    ]
