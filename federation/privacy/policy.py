"""The projection policy: for each field of each kind, how it is held at each level above the
village (docs/decisions/1001-personal-data-policy.md).

A field's treatment is named from a level up: `{"township": "hash_last4"}` holds it as a keyed
hash plus the last four characters at the township, the county and the prefecture. Treatments
only ever get stronger going up (clear → mask → drop, clear → hash_last4 → hash → drop,
clear → year → drop), so each level's projection is a function of the level below's, and a relay
re-projects what it holds for its own parent. A village holds its own records in clear.

A policy file (TOML or JSON, `TIERSYNC_PRIVACY_POLICY`) names, per kind and field, the
treatments that replace the default's for that field:

    [person]
    phone = { county = "drop" }          # the township keeps phone numbers, the county not
    name = "mask"                        # a plain treatment: from the township up

`validate` refuses an unknown kind, field, level or treatment, a treatment that does not fit the
field (a keyed hash of a number), a chain that weakens going up, and a treatment that would take
from a view a field it counts at that level (`VIEW_NEEDS`).
"""

import json
import tomllib
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

from schemas.kinds import KIND_MODELS, Kind


class Treatment(StrEnum):
    clear = "clear"  # as it is
    mask = "mask"  # names: the first character kept, the rest as * (才让多杰 → 才***)
    hash_last4 = "hash_last4"  # keyed hash (the prefecture's key) plus the last 4 characters
    hash = "hash"  # keyed hash only
    year = "year"  # a date generalised to its year (1988-07-15 → 1988)
    drop = "drop"  # not held at all


LEVELS: tuple[str, ...] = ("township", "county", "prefecture")
"""The levels a policy names, bottom up (a village holds its own records in clear)."""

STRONGER: dict[Treatment, frozenset[Treatment]] = {
    Treatment.clear: frozenset(Treatment),
    Treatment.mask: frozenset({Treatment.mask, Treatment.drop}),
    Treatment.hash_last4: frozenset({Treatment.hash_last4, Treatment.hash, Treatment.drop}),
    Treatment.hash: frozenset({Treatment.hash, Treatment.drop}),
    Treatment.year: frozenset({Treatment.year, Treatment.drop}),
    Treatment.drop: frozenset({Treatment.drop}),
}
"""What each treatment may become one level up: a projection of what the level below holds."""

_FITS: dict[Treatment, frozenset[str]] = {
    Treatment.clear: frozenset({"any"}),
    Treatment.drop: frozenset({"any"}),
    Treatment.mask: frozenset({"string", "strings"}),
    Treatment.hash_last4: frozenset({"string"}),
    Treatment.hash: frozenset({"string"}),
    Treatment.year: frozenset({"date"}),
}

Spec = dict[str, dict[str, dict[str, Treatment]]]
"""kind → field path → level → treatment (from that level up)."""

T = Treatment
DEFAULT_SPEC: Spec = {
    "person": {
        "id_number": {"township": T.hash_last4},
        "phone": {"township": T.drop},
        "birth_date": {"township": T.year},
        "name": {"county": T.mask},
    },
    "household": {
        "head_id_number": {"township": T.hash_last4},
        "head_name": {"county": T.mask},
    },
    "key_person": {  # above the township: category, risk level and grid only
        "id_number": {"township": T.hash_last4, "county": T.drop},
        "note": {"township": T.drop},
        "name": {"county": T.drop},
        "responsible_worker": {"county": T.drop},
        "since": {"county": T.drop},
    },
    "grid": {"leader_phone": {"township": T.drop}},
    "governance_org": {"members[].phone": {"township": T.drop}},
    "dispute": {"parties": {"county": T.mask}},
}

_ANY = frozenset(Treatment)
_CLEAR = frozenset({Treatment.clear})
_COUNTED = frozenset({Treatment.clear, Treatment.mask})  # a list counted: names may be masked
VIEW_NEEDS: dict[str, dict[str, frozenset[Treatment]]] = {
    "person": {
        "sex": _CLEAR,
        "birth_date": frozenset({Treatment.clear, Treatment.year}),  # birth year → age band
        "ethnicity": _CLEAR,
        "status": _CLEAR,
    },
    "household": {"member_count": _CLEAR, "house_type": _CLEAR},
    "key_person": {"category": _CLEAR, "risk_level": _CLEAR},
    "organization": {"employees": _CLEAR, "org_type": _CLEAR},
    "governance_org": {"members": _COUNTED, "org_type": _CLEAR},
    "grid": {"code": _CLEAR, "name": _CLEAR, "members": _COUNTED},
    "incident": {
        "category": _CLEAR,
        "status": _CLEAR,
        "reported_at": _CLEAR,
        "title": _CLEAR,
        "grid": _CLEAR,
    },
    "dispute": {"amount_recovered_yuan": _CLEAR, "status": _CLEAR, "accepted_on": _CLEAR},
    "patrol": {
        "grid": _CLEAR,
        "patrol_type": _CLEAR,
        "visited_at": _CLEAR,
        "households_visited": _CLEAR,
    },
    "legal_activity": {"attendance": _CLEAR, "activity_type": _CLEAR, "held_on": _CLEAR},
    "receipt": {"state": _CLEAR},
    "directive": {},  # made above and sent down: never projected (any field may be read below)
}
"""The fields node/views (roll-ups, the live feed, directive progress) read, and what they may
become and still count exactly (tests/test_privacy_policy.py checks the views against it)."""

_VIEW_NAMES = {
    "person": "population by sex, age band, ethnicity and status",
    "household": "households by house type and members",
    "key_person": "key groups by category and risk",
    "organization": "organisations by type and employees",
    "governance_org": "governance bodies by type and members",
    "grid": "grids and grid members",
    "incident": "incidents by category, status and month; the live feed",
    "dispute": "disputes by status, month and amount recovered",
    "patrol": "patrols by type and grid",
    "legal_activity": "legal activities by type, month and attendance",
    "receipt": "directive progress",
    "directive": "directives",
}


class PolicyError(ValueError):
    """A policy that cannot be used: every problem, each naming where and why."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        listed = "; ".join(problems)
        super().__init__(f"privacy policy {source} refused: {listed}")


class Policy:
    """A validated policy: the treatment of every named field at every level."""

    def __init__(self, spec: Spec, source: str = "(default)") -> None:
        self.source = source
        self.spec = spec
        problems = validate(spec)
        if problems:
            raise PolicyError(source, problems)

    def treatment(self, kind: str, path: str, level: str) -> Treatment:
        """The field's treatment when held at `level` (a village holds everything clear)."""
        chain = self.spec.get(kind, {}).get(path, {})
        if level not in LEVELS:
            return Treatment.clear
        held = Treatment.clear
        for name in LEVELS[: LEVELS.index(level) + 1]:
            held = chain.get(name, held)
        return held

    def at(self, level: str) -> dict[str, dict[str, Treatment]]:
        """kind → field → treatment at `level`, leaving out the fields held clear."""
        out: dict[str, dict[str, Treatment]] = {}
        for kind, fields in self.spec.items():
            for path in fields:
                treatment = self.treatment(kind, path, level)
                if treatment is not Treatment.clear:
                    out.setdefault(kind, {})[path] = treatment
        return out

    def table(self) -> list[tuple[str, str, list[str]]]:
        """(kind, field, treatment at township, county, prefecture): the README's table."""
        return [
            (kind, path, [self.treatment(kind, path, level).value for level in LEVELS])
            for kind, fields in self.spec.items()
            for path in fields
        ]


def load_policy(path: Path | None) -> Policy:
    """The default policy with a file's fields over it (None: the default as it is)."""
    if path is None:
        return DEFAULT_POLICY
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(source, [f"cannot read the file: {exc.strerror or exc}"]) from None
    try:
        raw = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise PolicyError(source, [f"not valid {_format_of(path)}: {exc}"]) from None
    spec, problems = _parse(raw)
    if problems:
        raise PolicyError(source, problems)
    merged: Spec = {kind: dict(fields) for kind, fields in DEFAULT_SPEC.items()}
    for kind, fields in spec.items():
        merged.setdefault(kind, {}).update(fields)
    return Policy(merged, source)


def _format_of(path: Path) -> str:
    return "JSON" if path.suffix.lower() == ".json" else "TOML"


def _parse(raw: Any) -> tuple[Spec, list[str]]:
    problems: list[str] = []
    spec: Spec = {}
    if not isinstance(raw, Mapping):
        return spec, ["the top level must be a table of kinds"]
    for kind, fields in raw.items():
        if not isinstance(fields, Mapping):
            problems.append(f"{kind}: must be a table of fields")
            continue
        for path, value in fields.items():
            where = f"{kind}.{path}"
            chain: dict[str, Treatment] = {}
            given = {LEVELS[0]: value} if isinstance(value, str) else value
            if not isinstance(given, Mapping):
                problems.append(f"{where}: a treatment or a table of level = treatment")
                continue
            for level, name in given.items():
                if level not in LEVELS:
                    why = (
                        "a village holds its own records in clear"
                        if level == "village"
                        else f"known levels: {', '.join(LEVELS)}"
                    )
                    problems.append(f"{where}: unknown level {level!r} ({why})")
                    continue
                try:
                    chain[level] = Treatment(name)
                except ValueError:
                    known = ", ".join(t.value for t in Treatment)
                    problems.append(f"{where}: unknown treatment {name!r} (known: {known})")
            spec.setdefault(str(kind), {})[str(path)] = chain
    return spec, problems


def validate(spec: Spec) -> list[str]:
    """Every problem of `spec`, each naming kind.field (and level) and the reason."""
    problems: list[str] = []
    known_kinds = {k.value for k in Kind}
    for kind, fields in spec.items():
        if kind not in known_kinds:
            problems.append(f"{kind}: unknown kind (known: {', '.join(sorted(known_kinds))})")
            continue
        for path, chain in fields.items():
            where = f"{kind}.{path}"
            shape = field_shape(kind, path)
            if shape is None:
                problems.append(f"{where}: unknown field of {kind} (known: {_known(kind)})")
                continue
            held = Treatment.clear
            for level in LEVELS:
                treatment = chain.get(level, held)
                if treatment not in STRONGER[held]:
                    problems.append(
                        f"{where}: {treatment.value} at the {level} would show more than the "
                        f"level below holds ({held.value}); treatments only get stronger going up"
                    )
                fits = _FITS[treatment]
                if "any" not in fits and shape not in fits:
                    problems.append(f"{where}: {treatment.value} does not fit a {shape} field")
                allowed = VIEW_NEEDS.get(kind, {}).get(path.split("[]")[0])
                if allowed is not None and treatment not in allowed and "[]" not in path:
                    problems.append(
                        f"{where}: {treatment.value} at the {level} takes from the view "
                        f"({_VIEW_NAMES[kind]}) a field it counts; allowed: "
                        + ", ".join(sorted(t.value for t in allowed))
                    )
                held = treatment
    return problems


def _known(kind: str) -> str:
    return ", ".join(sorted(_properties(_schema(kind), _schema(kind))))


def _schema(kind: str) -> dict[str, Any]:
    return KIND_MODELS[Kind(kind)].model_json_schema()


def _properties(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    node = _resolve(node, root)
    return dict(node.get("properties") or {})


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in node:
        name = str(node["$ref"]).rsplit("/", 1)[-1]
        return dict(root.get("$defs", {}).get(name, {}))
    options = [o for o in node.get("anyOf", []) if o.get("type") != "null"]
    if options:
        return _resolve(options[0], root)
    return node


def field_shape(kind: str, path: str) -> str | None:
    """ "string", "strings" (a list of strings), "date", "list" or "other" for a field path of
    `kind` (`members[].phone` steps into a list of objects); None for an unknown field."""
    root = _schema(kind)
    node: dict[str, Any] = root
    for step in path.split("."):
        many = step.endswith("[]")
        name = step[:-2] if many else step
        props = _properties(node, root)
        if name not in props:
            return None
        node = _resolve(props[name], root)
        if many:
            if node.get("type") != "array":
                return None
            node = _resolve(node.get("items") or {}, root)
    if node.get("type") == "array":
        items = _resolve(node.get("items") or {}, root)
        return "strings" if items.get("type") == "string" else "list"
    if node.get("type") == "string":
        return "date" if node.get("format") == "date" else "string"
    return "other"


DEFAULT_POLICY = Policy(DEFAULT_SPEC)
