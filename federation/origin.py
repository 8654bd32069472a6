"""Origin seals: a node's signature over the records it originates, verifiable through relays
(docs/decisions/0951-origin-seals-per-level.md; directive signatures travel in the directive
feed, node/directives/seals.py; batch seals are not yet carried on the wire, see there).

A relay re-projects personal data for its own parent (federation/privacy), so a signature over
the record as first sent would not verify two levels up. Projections are deterministic and
monotone (projecting for the township, then for the county, equals projecting for the county),
so the origin computes, for each ancestor level, the record as that level will hold it. A seal
holds one Merkle root per level over the hashes of the batch's records as projected for that
level, and one signature over all the roots: one signature per batch, not per record. An
ancestor at level L hashes the records it received, adds the leaf hashes of the batch's other
records (which a relay forwards when its own batch does not carry them all) and checks the root
for L and the signature, with the origin's registered public key. A relay that changes a record
changes its leaf: the root no longer matches, and the record whose leaf the seal does not hold
is named.

Directive seals are the same signature over one directive version: the issuer signs, every
level below verifies before storing, and a target accepts only what an ancestor signed.
"""

import base64
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from federation.crypto import Suite

SEAL_CONTEXT = b"tiersync origin seal/1\n"
DIRECTIVE_CONTEXT = b"tiersync directive seal/1\n"
_WIRE_FIELDS = ("id", "kind", "unit", "data", "version", "deleted", "schema_version")

Signer = Callable[[bytes], bytes]
"""The origin's private key at work (federation.signing.NodeKey.sign in trust13a's shape)."""


def leaf(suite: Suite, record: Mapping[str, Any]) -> bytes:
    """The hash of one record as a level holds it (its wire fields, canonical JSON)."""
    fields = [str(record[k]) if k == "id" else record.get(k) for k in _WIRE_FIELDS]
    return suite.hash(orjson.dumps(fields, option=orjson.OPT_SORT_KEYS))


def merkle_root(suite: Suite, leaves: Iterable[bytes]) -> bytes:
    """The root over the leaves in sorted order (so a relay may send them in any order)."""
    level = sorted(set(leaves))
    if not level:
        return suite.hash(b"")
    digest = suite.hash
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [digest(b"\x01" + a + b) for a, b in zip(level[::2], level[1::2], strict=True)]
    return digest(b"\x00" + level[0])


@dataclass(frozen=True)
class Seal:
    """What the origin signs for one batch: per ancestor level, the root of its records."""

    origin: str
    since: int
    until: int
    roots: dict[str, str]  # level → hex root
    signature: str = ""  # base64
    leaves: dict[str, list[str]] = field(default_factory=dict)  # level → hex, forwarded only

    def message(self) -> bytes:
        body = {"origin": self.origin, "since": self.since, "until": self.until}
        body["roots"] = dict(sorted(self.roots.items()))
        return SEAL_CONTEXT + orjson.dumps(body, option=orjson.OPT_SORT_KEYS)

    def wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"origin": self.origin, "since": self.since, "until": self.until}
        out |= {"roots": self.roots, "signature": self.signature}
        if self.leaves:
            out["leaves"] = self.leaves
        return out


def seal_batch(
    suite: Suite,
    sign: Signer,
    *,
    origin: str,
    since: int,
    until: int,
    per_level: Mapping[str, list[Mapping[str, Any]]],
) -> Seal:
    """Seal the records this node originates, given them as each ancestor level will hold them."""
    roots = {
        lvl: merkle_root(suite, (leaf(suite, r) for r in recs)).hex()
        for lvl, recs in per_level.items()
    }
    unsigned = Seal(origin, since, until, roots)
    signature = base64.b64encode(sign(unsigned.message())).decode()
    return Seal(origin, since, until, roots, signature)


class SealBroken(Exception):
    """The records do not match what their origin signed; `ids` names those that differ."""

    def __init__(self, reason: str, ids: list[str]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.ids = ids


def check_seal(
    suite: Suite,
    public: bytes,
    seal: Seal,
    *,
    level: str,
    records: Sequence[Mapping[str, Any]],
    other_leaves: Iterable[bytes] = (),
) -> None:
    """Raise SealBroken unless `records` (as held at `level`) are what the origin signed."""
    try:
        signature = base64.b64decode(seal.signature, validate=True)
    except ValueError:
        raise SealBroken(f"seal of {seal.origin}: signature is not base64", []) from None
    if not suite.verify(public, seal.message(), signature):
        raise SealBroken(f"seal of {seal.origin}: signature does not verify", [])
    want = seal.roots.get(level)
    if want is None:
        raise SealBroken(f"seal of {seal.origin} has no root for level {level}", [])
    mine = {str(r["id"]): leaf(suite, r) for r in records}
    extra = set(other_leaves)
    if merkle_root(suite, [*mine.values(), *extra]).hex() == want:
        return
    signed = {bytes.fromhex(h) for h in seal.leaves.get(level, [])}
    ids = [rid for rid, h in mine.items() if signed and h not in signed]
    raise SealBroken(
        f"records of {seal.origin} (batch {seal.since}..{seal.until}) were altered after their "
        f"origin signed them",
        ids or sorted(mine),
    )


def directive_message(record: Mapping[str, Any]) -> bytes:
    return DIRECTIVE_CONTEXT + orjson.dumps(
        [str(record["id"]), record["version"], record.get("deleted", False), record.get("data")],
        option=orjson.OPT_SORT_KEYS,
    )


def sign_directive(sign: Signer, record: Mapping[str, Any]) -> str:
    """The issuer's signature over one directive version (base64)."""
    return base64.b64encode(sign(directive_message(record))).decode()


def check_directive(
    suite: Suite,
    keys: Mapping[str, bytes],
    *,
    target: str,
    record: Mapping[str, Any],
    signature: str,
) -> str | None:
    """Why `target` must refuse this directive version, or None: only a strict ancestor's
    signature, verified with that ancestor's key (`keys`: code → public key), is accepted."""
    issuer = str(record["version"]).partition(".")[2]
    if issuer == target or not target.startswith(issuer):
        return f"directive {record['id']}: {issuer} is not an ancestor of {target}"
    public = keys.get(issuer)
    if public is None:
        return f"directive {record['id']}: no key of {issuer} known here"
    try:
        raw = base64.b64decode(signature, validate=True)
    except ValueError:
        return f"directive {record['id']}: signature is not base64"
    if not suite.verify(public, directive_message(record), raw):
        return f"directive {record['id']}: not signed by its issuer {issuer}"
    return None
