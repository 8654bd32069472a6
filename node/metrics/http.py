"""Counts every HTTP request by its route template (bounded labels: never the raw path)."""

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from node.api.requests import route_of
from node.metrics.registry import NodeMetrics


class RequestMetrics:
    """ASGI middleware: requests, durations and bytes of one app, into its own registry."""

    def __init__(self, app: ASGIApp, *, metrics: NodeMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        received = sent = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            return message

        async def counting_send(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, counting_receive, counting_send)
        finally:
            route = route_of(scope)
            m = self.metrics
            m.http_requests.labels(scope["method"], route, str(status)).inc()
            m.http_seconds.labels(route).observe(time.perf_counter() - started)
            m.http_received.labels(route).inc(received)
            m.http_sent.labels(route).inc(sent)
