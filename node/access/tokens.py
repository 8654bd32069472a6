"""User tokens: `tsu_<node code>_<token id>_<secret>`. The secret is 256 random bits, so a
SHA-256 of the whole token is enough to store (no slow hash needed); the id finds the row and
the hashes are compared in constant time. The node code makes another node's token a clean
401 without a lookup."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass

PREFIX = "tsu"
ID_BYTES = 9  # 12 URL-safe characters: unique enough to be a primary key
SECRET_BYTES = 32


@dataclass(frozen=True)
class Parsed:
    node: str
    token_id: str


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def new_id() -> str:
    # No "_" in an id: it separates the token's parts.
    return secrets.token_urlsafe(ID_BYTES).replace("_", "x")


def make(node: str, token_id: str) -> str:
    return f"{PREFIX}_{node}_{token_id}_{secrets.token_urlsafe(SECRET_BYTES)}"


def parse(token: str) -> Parsed | None:
    """The token's node and id, or None when it is not shaped like one of ours."""
    parts = token.split("_", 3)
    if len(parts) != 4 or parts[0] != PREFIX or not parts[1].isdigit() or len(token) > 200:
        return None
    if not parts[2] or len(parts[3]) < 32:
        return None
    return Parsed(node=parts[1], token_id=parts[2])
