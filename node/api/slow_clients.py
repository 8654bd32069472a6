"""The server's side of slow clients: a connection must send a request's headers in time.

uvicorn bounds an idle keep-alive connection (timeout_keep_alive) and the size of the headers,
but not the time they take: a client trickling a header byte every few seconds holds its
connection, and a file descriptor, for ever. `with_header_deadline` returns uvicorn's HTTP
protocol with a deadline: a connection that has not completed a request's headers within
`seconds` of opening (or of its previous response) is closed. The body's deadline is the app's
(node/api/body_limit.py); the number of connections is uvicorn's `limit_concurrency`.
"""

import asyncio
from typing import Any

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _Base
except ImportError:  # pragma: no cover - without httptools, h11
    from uvicorn.protocols.http.h11_impl import H11Protocol as _Base  # type: ignore[assignment]


class _HeaderDeadline(_Base):
    header_timeout_s: float = 10.0
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()  # the next request's headers get the same time

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._too_slow)

    def _too_slow(self) -> None:
        self._header_timer = None
        cycle = getattr(self, "cycle", None)
        if cycle is not None and not cycle.response_complete:
            return  # the headers came: the request is being answered
        if not self.transport.is_closing():
            self.transport.close()


def with_header_deadline(seconds: float) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol class, closing connections slower than `seconds` to send headers."""
    return type("HeaderDeadlineProtocol", (_HeaderDeadline,), {"header_timeout_s": seconds})
