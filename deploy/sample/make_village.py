"""Write deploy/sample/village.ndjson: 20 made-up records of Dongmen Village for `make demo`.

Run from the repository root: `.venv/bin/python deploy/sample/make_village.py`. The output is
deterministic (fixed ids and dates), so importing it twice replaces rather than duplicates.
Dongmen Village and Kangyang Town are named in the article; the codes below the county
(632322101201) and every person, household and grid here are made up.
"""

import uuid
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from schemas.idnumber import make_id_number, sex_of

VILLAGE = "632322101201"
GRIDS = (VILLAGE + "001", VILLAGE + "002")
NAMESPACE = uuid.UUID("6f0e9d52-3a41-4a5c-9d0e-2c1f7b1e6d20")
OUT = Path(__file__).with_name("village.ndjson")

HOUSEHOLDS = [("才让多杰", 4), ("卓玛措", 3), ("扎西", 5), ("索南吉", 2), ("拉毛", 6), ("多杰", 3)]
PEOPLE = [
    ("才让多杰", date(1968, 3, 12)),
    ("卓玛措", date(1972, 8, 30)),
    ("扎西才让", date(1995, 1, 4)),
    ("索南吉", date(1958, 11, 21)),
    ("拉毛草", date(1989, 6, 9)),
    ("多杰太", date(1979, 2, 17)),
    ("德吉卓玛", date(2001, 10, 3)),
    ("更登", date(1984, 5, 25)),
]


def record(key: str, kind: str, unit: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"id": str(uuid.uuid5(NAMESPACE, key)), "kind": kind, "unit": unit, "data": data}


def records() -> list[dict[str, Any]]:
    out = [
        record(
            f"grid-{i}",
            "grid",
            grid,
            {
                "code": grid,
                "name": f"Dongmen grid {i}",
                "leader": leader,
                "members": members,
                "households": 3,
            },
        )
        for i, (grid, leader, members) in enumerate(
            zip(GRIDS, ("多杰才旦", "仁青"), (["卓玛", "索南"], ["拉毛"]), strict=True), start=1
        )
    ]
    for i, (head, members) in enumerate(HOUSEHOLDS, start=1):
        grid = GRIDS[i % 2]
        out.append(
            record(
                f"household-{i}",
                "household",
                grid,
                {
                    "address": f"Dongmen Village, house {i}",
                    "head_name": head,
                    "grid": grid,
                    "member_count": members,
                    "house_type": "owned",
                },
            )
        )
    for i, (name, born) in enumerate(PEOPLE, start=1):
        id_number = make_id_number("632322", born, 100 + i)
        grid = GRIDS[i % 2]
        out.append(
            record(
                f"person-{i}",
                "person",
                grid,
                {
                    "id_number": id_number,
                    "name": name,
                    "sex": sex_of(id_number),
                    "birth_date": born.isoformat(),
                    "ethnicity": "Tibetan",
                    "grid": grid,
                },
            )
        )
    for i, (grid, kind) in enumerate(
        zip(GRIDS * 2, ("basic", "basic", "screening", "screening"), strict=True), start=1
    ):
        out.append(
            record(
                f"patrol-{i}",
                "patrol",
                grid,
                {
                    "grid": grid,
                    "patrol_type": kind,
                    "worker": "多杰才旦",
                    "visited_at": f"2020-11-{10 + i:02d}T10:00:00+08:00",
                    "households_visited": 3,
                },
            )
        )
    return out


if __name__ == "__main__":
    OUT.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records()))
    print(f"wrote {len(records())} records to {OUT}")
