"""What the parent connection reports about each request, and the request id it carries.

`Exchange` is one request to the parent as an observer sees it (the node's metrics,
node/metrics): which operation, how long, how many bytes each way, and how it failed, as one
of a few kinds. `request_id` is the id every request to the parent carries in `X-Request-ID`:
the one of the request being served, if any (the node binds it), else a new one, so the
parent's log lines and the child's share one id.
"""

import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

import httpx

REQUEST_ID_HEADER = "X-Request-ID"
_WELL_FORMED = re.compile(r"[A-Za-z0-9._:-]{8,128}")
current_request_id: ContextVar[str | None] = ContextVar("tiersync_request_id", default=None)

ERROR_KINDS = (
    "timeout",  # no answer within the timeout
    "connect",  # could not connect
    "network",  # another transport failure
    "server",  # 5xx, 408, 429: the parent is there but failing
    "cursor_mismatch",  # 409 with the parent's cursor: rewound, not a failure of the link
    "protocol_mismatch",
    "unauthorized",  # 401: the credential is wrong or revoked
    "forbidden",  # 403
    "too_large",  # 413: a batch over the parent's body limit
    "rejected",  # any other 4xx
)


@dataclass(frozen=True)
class Exchange:
    operation: str  # push, cursor, pull, exchange
    seconds: float
    sent: int  # request body bytes, as on the wire
    received: int  # response body bytes, as on the wire
    error: str | None = None  # one of ERROR_KINDS, None when it succeeded


Observer = Callable[[Exchange], None]


def well_formed(value: str | None) -> bool:
    """An id from outside is taken only if it is short and plain (it goes into every log)."""
    return value is not None and _WELL_FORMED.fullmatch(value) is not None


def new_request_id() -> str:
    return uuid.uuid4().hex


def request_id() -> str:
    """The id of the request being served, else a new one."""
    return current_request_id.get() or new_request_id()


def error_kind(
    *, exc: BaseException | None = None, status: int | None = None, code: str = ""
) -> str:
    """The kind of a failed request: a transport error (`exc`) or an error status."""
    if exc is not None:
        if isinstance(exc, httpx.TimeoutException):
            return "timeout"
        if isinstance(exc, httpx.ConnectError):
            return "connect"
        return "network"
    status = status or 0
    if status >= 500 or status in (408, 429):
        return "server"
    if code == "protocol_mismatch":
        return "protocol_mismatch"
    return {409: "cursor_mismatch", 401: "unauthorized", 403: "forbidden", 413: "too_large"}.get(
        status, "rejected"
    )
