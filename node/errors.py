"""The node's one error hierarchy; a single handler turns any of them into the JSON error body.

TiersyncError(message, details=())    500
├── BadRequest                        400
├── Unauthorized                      401  unknown or wrong credential
├── Forbidden                         403  outside this node's jurisdiction
├── NotFound                          404
├── Conflict                          409  id reused with another kind, record owned elsewhere…
├── TooSlow                           408  request body not in within TIERSYNC_BODY_TIMEOUT_S
├── TooLarge                          413  request body over TIERSYNC_MAX_BODY_BYTES
├── Invalid                           422  field-level validation; carries details
└── Unavailable                       503  database unreachable, migrations not at head
    └── NoNode                               the configuration points at no node
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldError:
    field: str | None
    reason: str


class TiersyncError(Exception):
    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, details: Iterable[FieldError] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.details = list(details)
        self.extra: dict[str, Any] = {}  # more members of the error object, e.g. a cursor


class BadRequest(TiersyncError):
    status_code = 400
    code = "bad_request"


class Unauthorized(TiersyncError):
    status_code = 401
    code = "unauthorized"


class Forbidden(TiersyncError):
    status_code = 403
    code = "forbidden"


class NotFound(TiersyncError):
    status_code = 404
    code = "not_found"


class Conflict(TiersyncError):
    status_code = 409
    code = "conflict"


class TooSlow(TiersyncError):
    status_code = 408
    code = "too_slow"


class TooLarge(TiersyncError):
    status_code = 413
    code = "too_large"


class Invalid(TiersyncError):
    status_code = 422
    code = "invalid"


class Unavailable(TiersyncError):
    status_code = 503
    code = "unavailable"


class NoNode(Unavailable):
    """The configured data directory or database holds no tiersync node (yet)."""
