"""Projection: a record's data as the policy lets a given level hold it.

`Projector(policy, level, suite, key)` compiles the policy for one level into, per kind, a short
list of field operations; `project(kind, data)` applies them (a dict transform, the input left
untouched) and returns `data` itself for a kind with nothing to project. Every operation is
idempotent on its own output and on the output of any weaker one (a value already hashed stays
as it is), so a relay re-projects what it holds and a parent projects a child's projection to the
same result as the original's.

Keyed hashes are the suite's HMAC with the prefecture's hash key (`key`), written
`h:<32 hex>` or, with the last four characters, `h:<32 hex>:0035`; `id_hash` is the same hash
for a lookup (the duplicate finder, the at-rest index).
"""

from collections.abc import Callable
from typing import Any

from federation.crypto import Suite
from federation.errors import FederationError
from federation.privacy.policy import Policy, Treatment

HASH_PREFIX = "h:"
ID_FIELDS: dict[str, str] = {"person": "id_number", "key_person": "id_number"}
"""The field whose keyed hash is a record's `id_hash` (the index lookups by ID number use, and
a projection may take instead of hashing again: `Projector.project(..., id_hash=)`)."""
_HASH_HEX = 32  # 16 bytes of the HMAC: collisions out of reach for a prefecture's population
_DROP = object()
_NO_ID: tuple[None, None] = (None, None)  # a kind without a keyed-hash ID field

Op = Callable[[Any], Any]


class MissingHashKey(FederationError):
    """A record to hash and no hash key: nothing leaves (the replicator reports and retries)."""


def id_hash(suite: Suite, key: bytes, value: str) -> str:
    """`h:<32 hex>`: the keyed hash of an identifier (upper-cased: ...003x = ...003X)."""
    digest = suite.hmac(key, b"tiersync-id\x00" + value.strip().upper().encode())
    return HASH_PREFIX + digest.hex()[:_HASH_HEX]


def key_id(suite: Suite, key: bytes) -> str:
    """A short public fingerprint of a hash key: what nodes compare to find a mismatch."""
    return suite.hmac(key, b"tiersync-hash-key-id").hex()[:16]


def mask_name(value: str) -> str:
    """才让多杰 → 才***; idempotent."""
    return value[:1] + "*" * (len(value) - 1) if len(value) > 1 else "*"


class Projector:
    """The policy compiled for records held at `level`."""

    def __init__(
        self,
        policy: Policy,
        level: str,
        suite: Suite,
        key: bytes | None,
        *,
        applied: str | None = None,
    ) -> None:
        """`applied`: a level below `level` whose projection every input already has; only
        the fields `level` treats otherwise are then projected (each treatment is idempotent
        on its own output, so the others would change nothing)."""
        self.level = level
        self.suite = suite
        self.key = key
        self.fields = policy.at(level)
        done = policy.at(applied) if applied else {}
        self._ops: dict[str, list[tuple[tuple[str, ...], Op]]] = {
            kind: [
                (tuple(path.split(".")), self._op(t))
                for path, t in fields.items()
                if done.get(kind, {}).get(path) != t
            ]
            for kind, fields in self.fields.items()
        }
        # The plan of each kind, in the policy's order: a field at the top by its name (applied
        # inline), a path through lists (name None) walked by _apply.
        self._plans: dict[str, list[tuple[str | None, tuple[str, ...], Op]]] = {
            kind: [
                (steps[0] if len(steps) == 1 and "[]" not in steps[0] else None, steps, op)
                for steps, op in ops
            ]
            for kind, ops in self._ops.items()
        }
        self.kinds = frozenset(self._ops)
        self.needs_key = any(
            t in (Treatment.hash, Treatment.hash_last4)
            for fields in self.fields.values()
            for t in fields.values()
        )
        # Per kind: its ID field and that field's treatment, when it is a keyed hash.
        self._id_treatment: dict[str, tuple[str, Treatment]] = {
            kind: (name, t)
            for kind, name in ID_FIELDS.items()
            if (t := self.fields.get(kind, {}).get(name)) in (Treatment.hash, Treatment.hash_last4)
        }
        self.ready = bool(key) or not self.needs_key
        """False: this node lacks the hash key its policy needs, and sends nothing that does."""

    def project(
        self,
        kind: str,
        data: dict[str, Any],
        *,
        id_hash: str | None = None,
        in_place: bool = False,
    ) -> dict[str, Any]:
        """`data` as this level holds it. `id_hash`: the keyed hash of the record's ID number
        (ID_FIELDS) that the database already holds (node/records: written with the record,
        with the same key), taken instead of computing the HMAC again. `in_place`: `data` is
        the caller's own fresh dict (just parsed or opened), changed rather than copied."""
        plan = self._plans.get(kind)
        if not plan or not isinstance(data, dict):
            return data
        id_field, id_treatment = self._id_treatment.get(kind, _NO_ID) if id_hash else _NO_ID
        out = data if in_place else dict(data)
        for name, steps, op in plan:
            if name is None:
                _apply(out, steps, op)
                continue
            value = out.get(name)  # _apply's case of a field at the top, inline
            if value is None:  # absent or null: nothing to project
                continue
            if name == id_field and _clear(value):
                out[name] = _hashed(id_treatment, value, id_hash)  # type: ignore[arg-type]
                continue
            value = op(value)
            if value is _DROP:
                del out[name]
            else:
                out[name] = value
        return out

    def hash_of(self, value: str) -> str:
        if not self.key:
            raise MissingHashKey(
                "this node has no hash key: set TIERSYNC_HASH_KEY to the key `tiersync child "
                "add` printed at the parent; nothing is sent until then"
            )
        return id_hash(self.suite, self.key, value)

    def _op(self, treatment: Treatment) -> Op:
        return {
            Treatment.clear: _same,
            Treatment.drop: _drop,
            Treatment.mask: _mask,
            Treatment.year: _year,
            Treatment.hash: self._hash,
            Treatment.hash_last4: self._hash_last4,
        }[treatment]

    def _hash(self, value: Any) -> Any:
        if not isinstance(value, str):
            return _DROP
        if value.startswith(HASH_PREFIX):
            return value[: len(HASH_PREFIX) + _HASH_HEX]
        return _hashed(Treatment.hash, value, self.hash_of(value))

    def _hash_last4(self, value: Any) -> Any:
        if not isinstance(value, str):
            return _DROP
        if value.startswith(HASH_PREFIX):
            return value
        return _hashed(Treatment.hash_last4, value, self.hash_of(value))


def _clear(value: Any) -> bool:
    return isinstance(value, str) and not value.startswith(HASH_PREFIX)


def _hashed(treatment: Treatment, value: str, digest: str) -> str:
    """A clear `value` held as its keyed hash `digest` (`h:<32 hex>`), with its last four
    characters for hash_last4."""
    if treatment is Treatment.hash_last4:
        return f"{digest}:{value.strip()[-4:].upper()}"
    return digest


def _apply(data: dict[str, Any], steps: tuple[str, ...], op: Op) -> None:
    head = steps[0]
    if head.endswith("[]"):
        name = head[:-2]
        items = data.get(name)
        if isinstance(items, list):
            copies = []
            for item in items:
                if isinstance(item, dict):
                    item = dict(item)
                    _apply(item, steps[1:], op)
                copies.append(item)
            data[name] = copies
        return
    if head not in data:
        return
    value = op(data[head]) if data[head] is not None else None
    if value is _DROP:
        del data[head]
    else:
        data[head] = value


def _same(value: Any) -> Any:
    return value


def _drop(_value: Any) -> Any:
    return _DROP


def _mask(value: Any) -> Any:
    if isinstance(value, str):
        return mask_name(value)
    if isinstance(value, list):
        return [mask_name(v) if isinstance(v, str) else v for v in value]
    return _DROP


def _year(value: Any) -> Any:
    text = str(value)[:4]
    return text if text.isdigit() else _DROP
