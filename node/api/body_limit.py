"""Bounded inputs: a request body larger than TIERSYNC_MAX_BODY_BYTES is refused with 413, one
not in within TIERSYNC_BODY_TIMEOUT_S with 408.

A declared Content-Length over the limit is refused before anything is read; a chunked body is
counted as it arrives and refused once it passes the limit (the route's read raises TooLarge,
which the one error handler answers). The body must arrive whole within the deadline, counted
from the request's start, however it trickles: past it the middleware answers 408 itself (and
closes the connection) and the app sees the client gone. Once the body is whole, the app's later
waits on `receive` (a held poll listening for the disconnect) are not bounded. The headers' own
deadline is the server's (node/api/slow_clients.py).
"""

import asyncio
from typing import Any

from node.api.error_handlers import error_response
from node.errors import TooLarge, TooSlow

Scope = dict[str, Any]


class BodyLimit:
    def __init__(self, app: Any, *, max_bytes: int, deadline_s: float | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.deadline_s = deadline_s

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
        whole = False
        answered = False  # this middleware answered 408: what the app sends is dropped
        started = False  # the app began its answer (then a late body only ends the request)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.deadline_s if self.deadline_s else None

        async def counted() -> Any:
            nonlocal received, whole, answered
            if whole or deadline is None:
                message = await receive()
            else:
                try:
                    async with asyncio.timeout_at(deadline):
                        message = await receive()
                except TimeoutError:
                    if not started:
                        await self._too_slow(scope, send, received)
                        answered = True
                    return {"type": "http.disconnect"}  # the app gives up reading
            if message.get("type") == "http.request":
                received += len(message.get("body", b""))
                whole = not message.get("more_body", False)
                if received > self.max_bytes:
                    raise self._refusal(None)
            return message

        async def sent(message: Any) -> None:
            nonlocal started
            if not answered:
                started = True
                await send(message)

        await self.app(scope, counted, sent)

    async def _too_slow(self, scope: Scope, send: Any, received: int) -> None:
        slow = TooSlow(
            f"request body not received within {self.deadline_s:g} s ({received:,} bytes came)"
        )
        response = error_response(slow.status_code, slow.code, slow.message, [])
        response.headers["connection"] = "close"

        async def nothing() -> Any:
            return {"type": "http.disconnect"}

        await response(scope, nothing, send)
