"""The figures of each view, computed from a subtree's roll-up tally (pure functions)."""

from decimal import Decimal
from typing import Any

from node.views.frame import Tally

AGE_BANDS = (("0-17", 0, 17), ("18-34", 18, 34), ("35-59", 35, 59), ("60+", 60, 1000))
OPEN_INCIDENT = ("reported", "accepted", "handling")
IN_PROGRESS_DISPUTE = ("accepted", "mediating")

POPULATION = {
    "kinds": ("person", "household"),
    "dims": ("all", "sex", "birth_year", "ethnicity", "status"),
}
KEY_GROUPS = {"kinds": ("key_person",), "dims": ("all", "category_risk")}
INCIDENTS = {"kinds": ("incident",), "dims": ("all", "category", "status", "month")}
DISPUTES = {"kinds": ("dispute",), "dims": ("all", "status", "month")}
LEGAL = {"kinds": ("legal_activity",), "dims": ("all", "activity_type", "month")}
GOVERNANCE = {"kinds": ("grid", "governance_org", "organization"), "dims": ("all", "org_type")}
DIRECTIVES = {"kinds": ("directive", "receipt"), "dims": ("all", "state")}


def age_bands(by_birth_year: dict[str, int], year: int) -> dict[str, int]:
    """Persons per age band, age taken as this year minus the birth year."""
    bands = {name: 0 for name, _, _ in AGE_BANDS}
    for born, n in by_birth_year.items():
        if not born.isdigit():
            continue
        age = year - int(born)
        for name, low, high in AGE_BANDS:
            if low <= age <= high:
                bands[name] += n
                break
    return bands


def population(t: Tally, *, year: int) -> dict[str, Any]:
    return {
        "persons": t.n("person"),
        "households": t.n("household"),
        "household_members": t.amount("household"),
        "by_sex": t.keys("person", "sex"),
        "by_age_band": age_bands(t.keys("person", "birth_year"), year),
        "by_ethnicity": t.keys("person", "ethnicity"),
        "by_status": t.keys("person", "status"),
    }


def key_groups(t: Tally) -> dict[str, Any]:
    matrix: dict[str, dict[str, int]] = {}
    by_category: dict[str, int] = {}
    by_risk: dict[str, int] = {}
    for cell, n in t.keys("key_person", "category_risk").items():
        category, _, risk = cell.partition("|")
        matrix.setdefault(category, {})[risk] = n
        by_category[category] = by_category.get(category, 0) + n
        by_risk[risk] = by_risk.get(risk, 0) + n
    return {
        "total": t.n("key_person"),
        "high_risk": by_risk.get("high", 0),
        "by_category": by_category,
        "by_risk": by_risk,
        "by_category_risk": matrix,
    }


def incidents(t: Tally) -> dict[str, Any]:
    by_status = t.keys("incident", "status")
    return {
        "total": t.n("incident"),
        "open": sum(by_status.get(s, 0) for s in OPEN_INCIDENT),
        "by_category": t.keys("incident", "category"),
        "by_status": by_status,
        "by_month": t.keys("incident", "month"),
    }


def disputes(t: Tally) -> dict[str, Any]:
    by_status = t.keys("dispute", "status")
    accepted = t.n("dispute")
    fen = t.amount("dispute")
    yuan = Decimal(fen) / 100
    return {
        "accepted": accepted,
        "mediated": by_status.get("mediated", 0),
        "failed": by_status.get("failed", 0),
        "referred": by_status.get("referred", 0),
        "in_progress": sum(by_status.get(s, 0) for s in IN_PROGRESS_DISPUTE),
        "success_rate": round(by_status.get("mediated", 0) / accepted, 4) if accepted else 0.0,
        "recovered_yuan": float(yuan),
        "recovered_yuan_exact": f"{yuan:.2f}",
        "by_month": t.keys("dispute", "month"),
    }


def legal(t: Tally) -> dict[str, Any]:
    sessions = t.keys("legal_activity", "activity_type")
    people = t.amounts("legal_activity", "activity_type")
    return {
        "sessions": t.n("legal_activity"),
        "attendance": t.amount("legal_activity"),
        "publicity_sessions": sessions.get("publicity", 0),
        "publicity_attendance": people.get("publicity", 0),
        "by_type": {
            k: {"sessions": n, "attendance": people.get(k, 0)} for k, n in sessions.items()
        },
        "by_month": t.keys("legal_activity", "month"),
    }


def governance(t: Tally) -> dict[str, Any]:
    orgs = t.keys("governance_org", "org_type")
    return {
        "grids": t.n("grid"),
        "grid_leaders": t.n("grid"),
        "grid_members": t.amount("grid"),
        "centres": orgs.get("centre", 0),
        "governance_orgs": orgs,
        "organizations": t.keys("organization", "org_type"),
    }


RECEIPT_STATES = ("delivered", "acknowledged", "done")


def directives(t: Tally) -> dict[str, Any]:
    receipts = t.keys("receipt", "state")
    # Cumulative, as directive progress counts: a headline of "acknowledged" must not leave
    # out the units that are already done.
    reached = {
        state: sum(receipts.get(s, 0) for s in RECEIPT_STATES[i:])
        for i, state in enumerate(RECEIPT_STATES)
    }
    return {"directives": t.n("directive"), "receipts": receipts, "reached": reached}
