"""Valid record payloads for tests."""

import itertools
from datetime import date
from typing import Any

from schemas.idnumber import make_id_number, sex_of

_seq = itertools.count(1)


def person_data(
    region: str = "632322", birth: date = date(1988, 7, 15), **extra: Any
) -> dict[str, Any]:
    n = next(_seq)
    id_number = make_id_number(region, birth, n % 1000)
    data = {
        "id_number": id_number,
        "name": f"Resident {n}",
        "sex": sex_of(id_number),
        "birth_date": birth.isoformat(),
    }
    data.update(extra)
    return data


def person(unit: str = "632322101201", **extra: Any) -> dict[str, Any]:
    return {"kind": "person", "unit": unit, "data": person_data(**extra)}


def household(unit: str = "632322101201", address: str = "1 Main Street") -> dict[str, Any]:
    return {"kind": "household", "unit": unit, "data": {"address": address, "head_name": "Tashi"}}
