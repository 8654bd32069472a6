"""One request id per request, and one access line per request.

An incoming `X-Request-ID` is kept if it is well formed (8–128 of `A-Z a-z 0-9 . _ : -`),
else a new one is made; it is bound for the request's log lines, sent back in the response,
and sent on every request this node makes to its parent meanwhile (federation/observe.py), so
one id follows a request across tiers. A child's push arrives with the id the child logged.

The access line names the route template (`/api/v1/records/{record_id}`), never the path or
the query string: nothing a caller typed, so no personal data.
"""

import logging
import time
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from federation.observe import REQUEST_ID_HEADER, current_request_id, new_request_id, well_formed

log = logging.getLogger("tiersync.http")  # rendered by node/logs.py, its extras as fields
QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})  # probes: at debug level only
_HEADER = REQUEST_ID_HEADER.lower().encode()
UNMATCHED = "unmatched"  # no route: 404s, probes of paths that do not exist


def route_of(scope: Scope) -> str:
    """The route template a request matched (bounded: never the raw path)."""
    route: Any = scope.get("route")
    return str(getattr(route, "path", UNMATCHED))


def incoming_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == _HEADER:
            given = value.decode("latin-1")
            return given if well_formed(given) else new_request_id()
    return new_request_id()


class RequestLog:
    """ASGI middleware: the request id (bound, echoed) and the access line."""

    def __init__(self, app: ASGIApp, *, node: str) -> None:
        self.app = app
        self.node = node

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = incoming_id(scope)
        token = current_request_id.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", ()), (_HEADER, request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            with structlog.contextvars.bound_contextvars(node=self.node):
                try:
                    await self.app(scope, receive, send_with_id)
                finally:
                    self._access(scope, status, started)
        finally:
            current_request_id.reset(token)

    def _access(self, scope: Scope, status: int, started: float) -> None:
        template = route_of(scope)
        level = logging.DEBUG if template in QUIET_ROUTES and status < 400 else logging.INFO
        if status >= 500:
            level = logging.ERROR
        ms = round((time.perf_counter() - started) * 1000, 1)
        fields = {"method": scope["method"], "route": template, "status": status, "ms": ms}
        log.log(level, "request", extra=fields)
