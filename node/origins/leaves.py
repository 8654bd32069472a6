"""Leaf hashes of records as each ancestor level will hold them (docs/decisions/0951).

A node hashes a record once per level above it: the data projected for that level (the privacy
policy, federation/privacy; deterministic and monotone, so projecting what a level below holds
gives what the level above holds), the other wire fields as they travel. A kind the policy
treats alike at two levels is hashed once for both.
"""

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from federation.crypto import Suite
from federation.privacy import Policy, Projector
from schemas.codes import level_of, parent_of


def levels_above(code: str) -> list[str]:
    """The levels of `code`'s ancestors, nearest first."""
    out = []
    parent = parent_of(code)
    while parent is not None:
        out.append(level_of(parent).value)
        parent = parent_of(parent)
    return out


def leaf_of(suite: Suite, record: Mapping[str, Any], data: Any) -> bytes:
    """federation.origin.leaf of `record` holding `data` (a dict, already parsed)."""
    fields = _fields(record)
    fields[3] = data
    return suite.hash(orjson.dumps(fields, option=orjson.OPT_SORT_KEYS))


def _fields(record: Mapping[str, Any]) -> list[Any]:
    """The wire fields of a leaf, in order, the data (at 3) left to fill in."""
    return [
        str(record["id"]),
        record["kind"],
        record["unit"],
        None,
        record["version"],
        record.get("deleted", False),
        record.get("schema_version"),
    ]


class LeafMaker:
    """The leaves of a record at each of `levels` (nearest first)."""

    def __init__(
        self, suite: Suite, levels: Sequence[str], policy: Policy, key: bytes | None
    ) -> None:
        self.suite = suite
        self.levels = list(levels)
        self.projectors = [Projector(policy, level, suite, key) for level in self.levels]
        # The same levels for data the first level's projection was applied to (the outgoing
        # wire): only what each treats otherwise than the first level is projected again.
        self._after_first = self.projectors[:1] + [
            Projector(policy, level, suite, key, applied=self.levels[0])
            for level in self.levels[1:]
        ]
        # Per kind and level: does the level hold the kind as the level before it does?
        self._same: list[dict[str, bool]] = [{}]
        for below, above in zip(self.projectors, self.projectors[1:], strict=False):
            kinds = below.kinds | above.kinds
            self._same.append({k: below.fields.get(k) == above.fields.get(k) for k in kinds})
        self._steps: dict[tuple[str, bool], list[tuple[Any, bool]]] = {}  # of(), per kind

    def of(
        self, record: Mapping[str, Any], data: dict[str, Any], *, first_done: bool
    ) -> list[bytes]:
        """One leaf per level; `data` is the record's data as this node holds it, or as the
        first level holds it already (`first_done`: the outgoing wire)."""
        kind = record["kind"]
        steps = self._steps.get((kind, first_done))
        if steps is None:
            steps = self._steps[(kind, first_done)] = self._steps_of(kind, first_done)
        fields = _fields(record)  # leaf_of's, filled once per record and level
        digest, dumps = self.suite.hash, orjson.dumps
        out: list[bytes] = []
        for project, same in steps:
            if same:
                out.append(out[-1])
                continue
            fields[3] = data if project is None else project(kind, data)
            out.append(digest(dumps(fields, option=orjson.OPT_SORT_KEYS)))
        return out

    def _steps_of(self, kind: str, first_done: bool) -> list[tuple[Any, bool]]:
        """Per level, for records of `kind`: the projection to apply (None: the data as it
        is) and whether the leaf is the level below's (the level holds the kind alike)."""
        steps: list[tuple[Any, bool]] = []
        for i, projector in enumerate(self._after_first if first_done else self.projectors):
            same = bool(i) and self._same[i].get(kind, True)
            needed = kind in projector.kinds and not (i == 0 and first_done)
            steps.append((projector.project if needed else None, same))
        return steps
