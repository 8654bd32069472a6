"""Personal data minimised per tier (issue 14, docs/decisions/1001-personal-data-policy.md).

A node applies the policy for its parent's level to every record before it leaves (push,
bundle, repair), so the parent never receives what it may not hold. Pure: no web framework,
no SQL. `policy` holds the model, the default table, loading and validation; `projection` the
compiled per-(level, kind) transforms and the keyed hashes.
"""

from federation.privacy.policy import (
    DEFAULT_POLICY,
    LEVELS,
    Policy,
    PolicyError,
    Treatment,
    load_policy,
)
from federation.privacy.projection import (
    HASH_PREFIX,
    MissingHashKey,
    Projector,
    id_hash,
    key_id,
)

__all__ = [
    "DEFAULT_POLICY",
    "HASH_PREFIX",
    "LEVELS",
    "MissingHashKey",
    "Policy",
    "PolicyError",
    "Projector",
    "Treatment",
    "id_hash",
    "key_id",
    "load_policy",
]
