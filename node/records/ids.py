"""Ids for records created without one: UUID version 7 (RFC 9562), time-ordered.

Random (v4) ids scatter every insert across the primary key and the indexes that contain the
id, so each batch dirties pages all over the table; time-ordered ids append, which keeps large
imports and replication near raw SQLite speed as tables grow.
"""

import os
import time
import uuid

_RAND_A_BITS, _RAND_B_BITS = 12, 62


def uuid7() -> uuid.UUID:
    unix_ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    rand_a = (rand >> _RAND_B_BITS) & ((1 << _RAND_A_BITS) - 1)
    rand_b = rand & ((1 << _RAND_B_BITS) - 1)
    value = (
        (unix_ms & ((1 << 48) - 1)) << 80
        | 0x7 << 76  # version
        | rand_a << 64
        | 0b10 << 62  # RFC 9562 variant
        | rand_b
    )
    return uuid.UUID(int=value)
