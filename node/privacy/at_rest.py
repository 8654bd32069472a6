"""Sensitive fields encrypted at rest (federation/privacy/sealing.py) with the node's data key,
kept outside the database: TIERSYNC_DATA_KEY (hex), else the file data_dir/data.key (0600),
made when the node is created or first opened for writing.

At open: a database that holds a check sealed with another key, or one that holds sealed data
while no key is found, refuses to start (never writes clear text beside sealed, never leaves
records no one can open).
"""

import secrets

from sqlalchemy import select

from federation.crypto import suite
from federation.privacy.sealing import Sealer
from node.db import Database
from node.errors import Unavailable
from node.models import table
from node.privacy import backfill, keys
from node.privacy.models import PrivacyState
from node.settings import Settings

DATA_KEY_FILE = "data.key"
_state = table(PrivacyState)


class DataKeyRefused(Unavailable):
    code = "data_key_refused"


def data_key(settings: Settings) -> bytes | None:
    if settings.data_key is not None:
        return _parse(settings.data_key.get_secret_value(), "TIERSYNC_DATA_KEY", settings)
    path = settings.data_dir / DATA_KEY_FILE
    if not path.is_file():
        return None
    return _parse(path.read_text(encoding="ascii"), str(path), settings)


def _parse(text: str, where: str, settings: Settings) -> bytes:
    size = suite(settings.crypto).aead_key_bytes
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise DataKeyRefused(f"data key in {where} is not hexadecimal") from None
    if len(key) != size:
        raise DataKeyRefused(
            f"data key in {where} is {len(key)} bytes; the {settings.crypto} suite needs {size}"
        )
    return key


def install(db: Database, settings: Settings, *, writable: bool, hash_key: bytes | None) -> None:
    """Give `db` its sealer, after checking the key against the database's check value."""
    key = data_key(settings)
    with db.engine.connect() as conn:
        check = conn.execute(select(_state.c.data_key_check).where(_state.c.id == 1)).scalar()
    if key is None:
        if check is not None:
            raise DataKeyRefused(
                "this node's records are encrypted and no data key was found: set "
                f"TIERSYNC_DATA_KEY or restore {settings.data_dir / DATA_KEY_FILE}"
            )
        if not writable:
            return  # nothing sealed to open, and nothing will be written
        key = secrets.token_bytes(suite(settings.crypto).aead_key_bytes)
        keys.write_key_file(settings.data_dir / DATA_KEY_FILE, key.hex())
    sealer = Sealer(suite(settings.crypto), key, hash_key)
    if check is None:
        if writable:
            with db.engine.begin() as conn:
                conn.execute(_state.insert().values(id=1, data_key_check=sealer.check_value()))
    elif not sealer.opens(check):
        raise DataKeyRefused(
            "the data key does not open this node's records (another node's key, or a "
            "different TIERSYNC_DATA_KEY): nothing was written"
        )
    db.sealer = sealer
    if writable:
        backfill.seal_old_rows(db, sealer)
