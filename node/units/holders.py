"""Which node holds a unit's records: this node, or the enrolled child node below it.

A unit's records live at the nearest node at or above it (its own node, or the nearest
ancestor that runs one). A node knows its own enrolled children (live credentials), and
nodes form a tree, so a unit of this subtree is held here exactly when no enrolled child's
subtree contains it (docs/decisions/0650).
"""

from collections.abc import Iterable

from sqlalchemy import Connection

from node.units import repository
from schemas.codes import is_within


def enrolled_children(conn: Connection) -> frozenset[str]:
    """The child nodes enrolled here whose credential stands (a revoked one holds nothing)."""
    return repository.live_child_codes(conn)


def child_holding(unit: str, children: Iterable[str]) -> str | None:
    """The enrolled child node whose subtree holds `unit`, or None when this node holds it."""
    return next((c for c in children if is_within(unit, c)), None)


def held_here(unit: str, node_code: str, children: Iterable[str]) -> bool:
    """`unit` is in this node's subtree and no child node below holds it."""
    return is_within(unit, node_code) and child_holding(unit, children) is None
