"""What a node sends its parent: the policy for the parent's level applied to every record
(push, bundle, repair), and the fingerprint of its hash key on every batch.

`load(settings)` reads and validates the policy and the key before the node opens (a bad
policy or a missing key refuses to start, naming the reason); `HashKeySection` is the push
section that lets a parent refuse a child holding another prefecture's key.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from federation.crypto import constant_time_equal, suite
from federation.privacy import Policy, PolicyError, Projector, key_id, load_policy
from node.db import WriteTxn
from node.errors import Conflict, FieldError, Unavailable
from node.privacy import keys
from node.seams import OutgoingInfo
from node.settings import Settings
from schemas.codes import level_of, parent_of
from schemas.sync import PushBatch


class PolicyRefused(Unavailable):
    code = "privacy_policy_refused"


@dataclass(frozen=True)
class Privacy:
    """The node's privacy set-up: its policy, hash key, and projection for its parent."""

    policy: Policy
    key: bytes | None
    projection: Projector | None  # None at the top, or a top without its key yet (read-only)
    key_id: str | None


def load_checked_policy(settings: Settings) -> Policy:
    try:
        return load_policy(settings.privacy_policy)
    except PolicyError as exc:
        details = [FieldError(*_split(p)) for p in exc.problems]
        raise PolicyRefused(f"privacy policy {exc.source} refused", details) from None


def _split(problem: str) -> tuple[str, str]:
    where, _, why = problem.partition(": ")
    return (where, why) if why else ("", problem)


def load(settings: Settings, *, create: bool = False) -> Privacy:
    """The policy (validated), the hash key (made at the top by `create`), the projection."""
    policy = load_checked_policy(settings)
    parent = parent_of(settings.code)
    top = (
        not settings.parent_url and not settings.parent_token
    )  # the top of its network: it holds (or makes) the key;
    # a child without one starts, and sends nothing its policy would hash (MissingHashKey).
    key = keys.ensure_hash_key(settings) if create and top else keys.hash_key(settings)
    crypto = suite(settings.crypto)
    projection = None if parent is None else Projector(policy, level_of(parent).value, crypto, key)
    return Privacy(policy, key, projection, key_id(crypto, key) if key else None)


class HashKeySection:
    """Push section `hash_key_id`: the child's key fingerprint; the parent compares."""

    name = "hash_key_id"

    def __init__(self, key_id: str | None) -> None:
        self.key_id = key_id

    def outgoing(self, conn: Connection, info: OutgoingInfo) -> Any | None:
        return self.key_id

    def incoming(
        self, txn: WriteTxn, *, child: str, batch: PushBatch, stored: int
    ) -> dict[str, Any]:
        theirs = batch.hash_key_id
        if theirs is None or self.key_id is None:  # a repair, or a parent without a key
            return {}
        if not constant_time_equal(theirs.encode(), self.key_id.encode()):
            raise HashKeyMismatch(child)
        return {}


class HashKeyMismatch(Conflict):
    code = "hash_key_mismatch"

    def __init__(self, child: str) -> None:
        super().__init__(
            f"{child} holds another hash key than this node: its keyed hashes would not match "
            "the prefecture's; give it the key `tiersync child add` printed and push again",
            [FieldError("hash_key_id", "differs from this node's")],
        )
