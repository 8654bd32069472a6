"""What every view of a subtree starts from: the checked scope, the roll-up tallies of the unit
and of each direct child, their names, and an assessor of their freshness."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from node.context import NodeContext
from node.errors import FieldError, Forbidden, NotFound
from node.views import repository
from node.views.freshness import Assessor, to_datetime
from node.views.rollups import ancestry
from schemas.codes import LEVEL_BY_LENGTH, is_within

_LENGTHS = sorted(LEVEL_BY_LENGTH)


@dataclass(frozen=True)
class Scope:
    """A view's subtree root, checked against this node's jurisdiction, and the clock."""

    node_code: str
    unit: str
    now_ms: int
    stale_after_s: float

    @property
    def child_len(self) -> int | None:
        longer = [n for n in _LENGTHS if n > len(self.unit)]
        return longer[0] if longer else None

    @property
    def now(self) -> datetime:
        return to_datetime(self.now_ms)


def open_scope(ctx: NodeContext, unit: str | None) -> Scope:
    """403 for a unit outside this node's subtree (malformed codes are refused by the route)."""
    node_code = ctx.identity.code
    root = unit or node_code
    if not is_within(root, node_code):
        raise Forbidden(
            f"unit {root} is outside this node's subtree ({node_code})",
            [FieldError("unit", f"not in the subtree of {node_code}")],
        )
    return Scope(node_code, root, int(ctx.db.clock()), ctx.settings.stale_after_s)


def ensure_known(conn: Connection, unit: str) -> None:
    """404 for a code of this subtree that nothing is known of: no registered unit, no records.

    An unknown code must not read as a real unit full of zeros ("all units reporting", 100 %
    patrol compliance).
    """
    if repository.unit_names(conn, unit=unit, codes=[unit]).get(unit) is None and not (
        repository.holds_unit(conn, unit)
    ):
        raise NotFound(
            f"no unit {unit} in this node's subtree",
            [FieldError("unit", "no such unit here: not in the registry and no records held")],
        )


class Tally:
    """Roll-up cells of one subtree: (kind, dim) → key → [n, amount]."""

    def __init__(self) -> None:
        self.cells: dict[tuple[str, str], dict[str, list[int]]] = {}

    def add(self, kind: str, dim: str, key: str, n: int, amount: int) -> None:
        cell = self.cells.setdefault((kind, dim), {}).setdefault(key, [0, 0])
        cell[0] += int(n)
        cell[1] += int(amount)

    def n(self, kind: str, dim: str = "all", key: str = "") -> int:
        return self.cells.get((kind, dim), {}).get(key, (0, 0))[0]

    def amount(self, kind: str, dim: str = "all", key: str = "") -> int:
        return self.cells.get((kind, dim), {}).get(key, (0, 0))[1]

    def keys(self, kind: str, dim: str) -> dict[str, int]:
        """n per key of one dimension (zero keys left out), in key order."""
        found = self.cells.get((kind, dim), {})
        return {k: found[k][0] for k in sorted(found) if found[k][0]}

    def amounts(self, kind: str, dim: str) -> dict[str, int]:
        found = self.cells.get((kind, dim), {})
        return {k: found[k][1] for k in sorted(found)}

    def kinds(self) -> dict[str, int]:
        counts = {kind: keys[""][0] for (kind, dim), keys in self.cells.items() if dim == "all"}
        return {kind: counts[kind] for kind in sorted(counts) if counts[kind]}

    def minus(self, others: Iterable["Tally"]) -> "Tally":
        out = Tally()
        out.cells = {c: {k: list(v) for k, v in keys.items()} for c, keys in self.cells.items()}
        for other in others:
            for (kind, dim), keys in other.cells.items():
                for key, (n, amount) in keys.items():
                    out.add(kind, dim, key, -n, -amount)
        return out


EMPTY = Tally()


@dataclass
class Frame:
    scope: Scope
    name: str
    total: Tally
    children: dict[str, Tally]
    names: dict[str, str]
    fresh: Assessor
    extra_children: set[str] = field(default_factory=set)
    path: list[tuple[str, str]] = field(default_factory=list)
    _own: Tally | None = None

    def child_codes(self) -> list[str]:
        return sorted(set(self.children) | set(self.names) | self.extra_children)

    def child(self, code: str) -> Tally:
        return self.children.get(code, EMPTY)

    def own(self) -> Tally:
        if self._own is None:
            self._own = self.total.minus(self.children.values())
        return self._own

    def head(self) -> dict[str, Any]:
        stale = [c for c in self.child_codes() if self.fresh.of(c).stale]
        return {
            "unit": self.scope.unit,
            "name": self.name,
            "level": LEVEL_BY_LENGTH[len(self.scope.unit)],
            "as_of": self.scope.now,
            "stale_after_s": self.scope.stale_after_s,
            "freshness": self.fresh.of(self.scope.unit),
            "stale_children": stale,
        }

    def child_head(self, code: str) -> dict[str, Any]:
        return {
            "unit": code,
            "name": self.names.get(code, code),
            "level": LEVEL_BY_LENGTH[len(code)],
            "freshness": self.fresh.of(code),
        }

    def assemble(
        self,
        figures: Callable[[Tally], dict[str, Any]],
        view: Any,
        child: Any,
        *,
        own: Callable[[Tally], Any] | None = None,
        **extra: Any,
    ) -> Any:
        """The view model: the subtree's figures, `own` (default: the same figures of the
        records held at exactly this unit), any `extra` fields, and one row per child."""
        own_figures = (own or figures)(self.own())
        return view(
            **self.head(),
            **figures(self.total),
            own=own_figures,
            **extra,
            children=[
                child(**self.child_head(c), **figures(self.child(c))) for c in self.child_codes()
            ],
        )


def read_frame(
    conn: Connection, scope: Scope, *, kinds: Iterable[str], dims: Iterable[str]
) -> Frame:
    """The roll-ups of the unit and its children, their names and freshness: three reads."""
    total, children = Tally(), dict[str, Tally]()
    rows = repository.frame_rows(conn, scope.unit, kinds=list(kinds), dims=list(dims))
    for unit, dim, kind, key, n, amount in rows:
        tally = total if unit == scope.unit else children.setdefault(unit, Tally())
        tally.add(kind, dim, key, n, amount)
    path = [code for code, _parent in ancestry(scope.unit, len(scope.node_code))]
    registry = repository.unit_names(conn, unit=scope.unit, codes=path)
    if scope.child_len == 15 or len(scope.unit) == 15:  # grids: named by their grid records
        grids = {row.code: row.name or row.code for row in repository.grids_in(conn, scope.unit)}
        registry.update(grids)
    if not (scope.unit in registry or total.cells):
        ensure_known(conn, scope.unit)
    names = {c: n for c, n in registry.items() if len(c) == scope.child_len}
    fresh = Assessor(
        conn,
        node_code=scope.node_code,
        now_ms=scope.now_ms,
        stale_after_s=scope.stale_after_s,
        units=[scope.unit, *children, *names],
    )
    frame = Frame(scope, registry.get(scope.unit, scope.unit), total, children, names, fresh)
    frame.path = [(code, registry.get(code, code)) for code in path]
    return frame
