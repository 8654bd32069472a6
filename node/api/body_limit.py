"""Bounded inputs: a request body larger than TIERSYNC_MAX_BODY_BYTES is refused with 413.

A declared Content-Length over the limit is refused before anything is read; a chunked body is
counted as it arrives and refused once it passes the limit (the route's read raises TooLarge,
which the one error handler answers).
"""

from typing import Any

from node.api.error_handlers import error_response
from node.errors import TooLarge

Scope = dict[str, Any]


class BodyLimit:
    def __init__(self, app: Any, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _refusal(self, size: int | None) -> TooLarge:
        said = f" ({size:,} bytes)" if size is not None else ""
        return TooLarge(f"request body too large{said}: this node accepts {self.max_bytes:,} bytes")

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            refused = self._refusal(int(declared))
            response = error_response(refused.status_code, refused.code, refused.message, [])
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Any:
            nonlocal received
            message = await receive()
            if message.get("type") == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise self._refusal(None)
            return message

        await self.app(scope, counted, send)
