"""Aggregated views of a subtree, read from the roll-ups kept with every write."""

from node.db import Database
from node.errors import FieldError, Forbidden
from node.records import repository
from node.units import repository as units_repository
from schemas.codes import CODE_LENGTHS, LEVEL_BY_LENGTH, Level, is_within
from schemas.views import ChildSummary, Summary


def _check_in_view(node_code: str, unit: str) -> None:
    if not is_within(unit, node_code):
        raise Forbidden(
            f"unit {unit} is outside this node's subtree ({node_code})",
            [FieldError("unit", f"not in the subtree of {node_code}")],
        )


def child_length(unit: str) -> int | None:
    lengths = sorted(CODE_LENGTHS.values())
    index = lengths.index(len(unit))
    return lengths[index + 1] if index + 1 < len(lengths) else None


def summary(db: Database, *, node_code: str, unit: str) -> Summary:
    """Live records per kind in the subtree of `unit`, and the same for each direct child."""
    _check_in_view(node_code, unit)
    child_len = child_length(unit)
    with db.read() as conn:
        counts = repository.live_counts_by_kind(conn, unit)
        by_child = repository.live_counts_by_child(conn, unit, child_len) if child_len else {}
        names = units_repository.child_names(conn, unit)
    children = [
        ChildSummary(unit=code, name=names.get(code, code), counts=by_child.get(code, {}))
        for code in sorted(set(by_child) | set(names))
    ]
    return Summary(unit=unit, level=LEVEL_BY_LENGTH[len(unit)], counts=counts, children=children)


__all__ = ["Level", "summary"]
