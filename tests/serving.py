"""Nodes served by uvicorn in a thread of the test process, on free loopback ports: real HTTP
(streaming responses included, which ASGITransport buffers) without starting processes."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI

from node.context import NodeContext
from tests.access_support import bearer, grant


class Served:
    def __init__(self, app: FastAPI) -> None:
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            log_level="warning",
            timeout_graceful_shutdown=2,  # open event streams must not hold up the teardown
        )
        self.app = app
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = ""
        self.token = ""

    @property
    def ctx(self) -> NodeContext:
        return self.app.state.ctx  # type: ignore[no-any-return]

    def start(self, timeout: float = 30) -> "Served":
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "server did not start"
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.token = grant(self.ctx.db, self.ctx.identity.code, name=f"served-{port}")
        return self

    @property
    def auth(self) -> dict[str, str]:
        """An operator's Authorization header at this node."""
        return bearer(self.token)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        assert not self.thread.is_alive(), "server did not stop"


@contextmanager
def served(*apps: FastAPI) -> Iterator[list[Served]]:
    """Start the apps in order (a parent before its children); stop them, last first."""
    started: list[Served] = []
    try:
        for app in apps:
            started.append(Served(app).start())
        yield started
    finally:
        for one in reversed(started):
            one.stop()


def read_events(lines: Iterator[str], want: int, *, comments: bool = False) -> list[Any]:
    """The next `want` server-sent events of a stream as (event, id, data) — or, with
    `comments`, the comment lines too as ("comment", None, text)."""
    out: list[Any] = []
    event, event_id, data = "message", None, ""
    for line in lines:
        if line.startswith(":"):
            if comments:
                out.append(("comment", None, line[1:].strip()))
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("id:"):
            event_id = line[3:].strip()
        elif line.startswith("data:"):
            data += line[5:].strip()
        elif line == "" and data:
            out.append((event, event_id, data))
            event, event_id, data = "message", None, ""
        if len(out) >= want:
            return out
    return out
