"""The prefecture's hash key at this node: from TIERSYNC_HASH_KEY, else the file
data_dir/hash.key (0600). The top node makes it at `init`; `tiersync child add` prints it for the
child; a child whose key differs is refused at its first push (node/privacy/section.py)."""

import os
import secrets
from pathlib import Path

from node.errors import Unavailable
from node.settings import Settings

KEY_FILE = "hash.key"
KEY_BYTES = 32


class BadKey(Unavailable):
    code = "bad_key"


def key_path(settings: Settings) -> Path:
    return settings.data_dir / KEY_FILE


def parse_key(text: str, where: str) -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise BadKey(f"hash key in {where} is not hexadecimal") from None
    if len(key) < 16:
        raise BadKey(f"hash key in {where} is {len(key)} bytes; at least 16 expected")
    return key


def hash_key(settings: Settings) -> bytes | None:
    """This node's hash key, or None when it has none."""
    given = settings.hash_key.get_secret_value().strip() if settings.hash_key else ""
    if given:  # an empty variable (a compose file before enrolment) is no key
        return parse_key(given, "TIERSYNC_HASH_KEY")
    path = key_path(settings)
    if not path.is_file():
        return None
    return parse_key(path.read_text(encoding="ascii"), str(path))


def ensure_hash_key(settings: Settings) -> bytes:
    """The key, made (and written 0600) if the node has none: at `init` of the top node."""
    key = hash_key(settings)
    if key is not None:
        return key
    key = secrets.token_bytes(KEY_BYTES)
    write_key_file(key_path(settings), key.hex())
    return key


def write_key_file(path: Path, text: str) -> None:
    """A secret file, readable by its owner only from the moment it exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(text + "\n")
