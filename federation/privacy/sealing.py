"""Sensitive fields encrypted at rest: which fields, and how a value is sealed in a record's data.

A record's sensitive fields are taken out of its data and kept together, sealed, under
`_sealed`: `enc:<base64url(nonce ‖ ciphertext ‖ tag)>`, the suite's AEAD (AES-256-GCM or
SM4-GCM) of their JSON by path, with the record's id as associated data (a ciphertext moved to
another record does not open). One AEAD per record, however many fields. What the views
count stays clear (a key-group member's category and risk level); what identifies a person is
sealed: ID numbers, phone numbers, a key-group member's name, worker and note. A value already
minimised (a keyed hash `h:…`) is kept as it is.
"""

import base64
import binascii
import uuid
from typing import Any

import orjson

from federation.crypto import Suite
from federation.privacy.projection import HASH_PREFIX, ID_FIELDS, id_hash

PREFIX = "enc:"
_PREFIX_LEN = len(PREFIX)
_a2b_base64 = binascii.a2b_base64
FIELD = "_sealed"  # where a record's sealed fields are kept, together
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")
SEALED: dict[str, tuple[str, ...]] = {
    "person": ("id_number", "phone"),
    "household": ("head_id_number",),
    "key_person": ("id_number", "name", "responsible_worker", "note"),
    "grid": ("leader_phone",),
    "governance_org": ("members[].phone",),
}


class Sealer:
    """Seals and opens the sensitive fields of records, with one node's data key."""

    def __init__(self, suite: Suite, data_key: bytes, hash_key: bytes | None) -> None:
        if len(data_key) != suite.aead_key_bytes:
            raise ValueError(
                f"data key is {len(data_key)} bytes; the {suite.name} suite needs "
                f"{suite.aead_key_bytes}"
            )
        self.suite = suite
        self.key = data_key
        self.hash_key = hash_key
        self.kinds = frozenset(SEALED)
        self._paths = {kind: [tuple(p.split(".")) for p in paths] for kind, paths in SEALED.items()}
        # Kinds whose sealed fields are all at the top: their names, for a quick look first.
        self._tops = {k: paths for k, paths in SEALED.items() if not any("." in p for p in paths)}

    def seal(self, kind: str, record_id: Any, data: dict[str, Any]) -> dict[str, Any]:
        """`data` with its sensitive fields taken out and sealed together under `_sealed` (one
        AEAD per record; a new dict, `data` is left as it is), or `data` itself when it holds
        none in clear (a parent's projected copy: hashed or dropped already)."""
        paths = self._paths.get(kind)
        if not paths or not isinstance(data, dict):
            return data
        tops = self._tops.get(kind)  # nothing in clear at the top: nothing to seal, no copy
        if tops is not None and all(_kept_as_is(data.get(name)) for name in tops):
            return data
        out = dict(data)
        taken: dict[str, Any] = {}
        for steps in paths:
            _take(out, steps, "", taken)
        if not taken:
            return data
        sealed = self.suite.seal(self.key, orjson.dumps(taken), _id_bytes(record_id))
        out[FIELD] = PREFIX + base64.urlsafe_b64encode(sealed).decode()
        return out

    def open(self, kind: str, record_id: Any, data: Any) -> Any:
        """`data` with its sealed fields put back (DecryptionFailed for a wrong key)."""
        if not isinstance(data, dict) or FIELD not in data:
            return data
        out = dict(data)
        blob = out.pop(FIELD)
        if type(blob) is not str:
            blob = str(blob)
        # base64.urlsafe_b64decode, without its two copies and checks (a third of the cost)
        sealed = _a2b_base64(blob[_PREFIX_LEN:].encode().translate(_FROM_URLSAFE))
        opened = orjson.loads(self.suite.open(self.key, sealed, _id_bytes(record_id)))
        for path, value in opened.items():
            if "." in path:
                _put(out, path.split("."), value)
            else:
                out[path] = value
        return out

    def id_hash(self, kind: str, data: dict[str, Any]) -> str | None:
        """The keyed hash of the record's ID number (`h:<32 hex>`), from clear or held hash."""
        name = ID_FIELDS.get(kind)
        value = data.get(name) if name and isinstance(data, dict) else None
        if not isinstance(value, str):
            return None
        if value.startswith(HASH_PREFIX):
            return value[: len(HASH_PREFIX) + 32]
        if value.startswith(PREFIX) or not self.hash_key:
            return None
        return id_hash(self.suite, self.hash_key, value)

    def lookup_hash(self, value: str) -> str | None:
        """The index key of an ID number given in clear or as its keyed hash."""
        return self.id_hash("person", {"id_number": value})

    def check_value(self) -> bytes:
        """A sealed known text: what the database keeps to tell a wrong key at start."""
        return self.suite.seal(self.key, b"tiersync data key", b"check")

    def opens(self, check: bytes) -> bool:
        try:
            return self.suite.open(self.key, check, b"check") == b"tiersync data key"
        except Exception:
            return False


def _id_bytes(value: Any) -> bytes:
    if type(value) is str and len(value) == 32:
        try:  # the 32 hex digits SQLite stores: as uuid.UUID reads them, ten times cheaper
            raw = bytes.fromhex(value)
        except ValueError:
            raw = b""
        if len(raw) == 16:  # (fromhex skips spaces: those go to uuid.UUID, as before)
            return raw
    if isinstance(value, uuid.UUID):
        return value.bytes
    return uuid.UUID(str(value)).bytes


def _kept_as_is(value: Any) -> bool:
    """Absent, null, or minimised already (a keyed hash): not a value to seal."""
    return value is None or (isinstance(value, str) and value.startswith(HASH_PREFIX))


def _take(data: dict[str, Any], steps: tuple[str, ...], path: str, taken: dict[str, Any]) -> None:
    """Move the values at `steps` (not yet minimised) from `data` into `taken`, by path."""
    head = steps[0]
    if head.endswith("[]"):
        name = head[:-2]
        items = data.get(name)
        if isinstance(items, list):
            copies = []
            for i, item in enumerate(items):
                if isinstance(item, dict):
                    item = dict(item)
                    _take(item, steps[1:], f"{path}{name}.{i}.", taken)
                copies.append(item)
            data[name] = copies
        return
    value = data.get(head)
    if _kept_as_is(value):
        return
    taken[path + head] = data.pop(head)


def _put(data: Any, steps: list[str], value: Any) -> None:
    for step in steps[:-1]:
        data = data[int(step)] if isinstance(data, list) else data[step]
    data[steps[-1]] = value
