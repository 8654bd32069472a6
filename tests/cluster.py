"""Many nodes in one process: each a create_app() with its own database, all reached through
one httpx transport that routes by host name ("http://<code>") and can cut links or lose acks."""

import uuid
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from federation.hlc import Clock, wall_ms
from federation.replicator import Replicator
from node.app import create_app
from node.context import NodeContext
from node.settings import Settings
from node.units.service import enrol_child
from node.uplink import node_auth
from tests.access_support import bearer, grant, holds
from tests.lifespan import running


class LinkDown(httpx.ConnectError):
    pass


class Router(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.apps: dict[str, httpx.ASGITransport] = {}
        self.down: set[str] = set()
        self.lose_next_response: set[str] = set()
        self.requests: dict[str, int] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        self.requests[host] = self.requests.get(host, 0) + 1
        if host in self.down or host not in self.apps:
            raise LinkDown(f"link to {host} is down", request=request)
        response = await self.apps[host].handle_async_request(request)
        if host in self.lose_next_response:
            # The parent committed, but its answer never arrives: the child must resend.
            self.lose_next_response.discard(host)
            await response.aread()
            raise httpx.ReadError("connection lost before the ack arrived", request=request)
        return response


@dataclass
class Node:
    code: str
    app: FastAPI
    client: httpx.AsyncClient
    settings: Settings
    stack: AsyncExitStack = field(default_factory=AsyncExitStack)

    @property
    def ctx(self) -> NodeContext:
        return self.app.state.ctx  # type: ignore[no-any-return]

    @property
    def replicator(self) -> Replicator:
        assert self.ctx.replicator is not None
        return self.ctx.replicator

    def as_child(self) -> httpx.Auth:
        """This node's credential at its parent (its key once registered, else its code)."""
        return node_auth(self.settings)

    async def summary(self, unit: str | None = None) -> dict[str, Any]:
        params = {"unit": unit} if unit else {}
        response = await self.client.get("/api/v1/views/summary", params=params)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def write(self, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.client.post("/api/v1/records", json=body)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]


@dataclass
class Cluster:
    tmp_path: Path
    database_url: Callable[[str], str | None] = lambda _code: None
    router: Router = field(default_factory=Router)
    nodes: dict[str, Node] = field(default_factory=dict)
    stack: AsyncExitStack = field(default_factory=AsyncExitStack)
    live: bool = False  # run each node's replicator loop instead of driving run_once()
    tokens: dict[str, str] = field(default_factory=dict)  # each node's operator token
    clocks: dict[str, Clock] = field(default_factory=dict)  # a node's injected wall clock

    async def add(
        self, code: str, name: str = "", parent: str | None = None, **settings: Any
    ) -> Node:
        extra: dict[str, Any] = {}
        if parent is not None:
            enrolled = enrol_child(
                self.nodes[parent].ctx.db, node_code=parent, code=code, name=name
            )
            extra = {"parent_url": f"http://{parent}", "parent_token": enrolled.token}
        config = Settings(
            code=code,
            name=name or code,
            data_dir=self.tmp_path / code,
            database_url=self.database_url(code),
            allowed_hosts=[code],  # the router reaches each node by its code
            **extra,
            **settings,
        )
        return await self.start(config)

    async def start(self, config: Settings) -> Node:
        own = AsyncExitStack()  # this node's lifespan and client, so it can stop alone
        self.stack.push_async_callback(own.aclose)
        app = create_app(
            config,
            transport=self.router,
            run_replicator=self.live,
            clock=self.clocks.get(config.code, wall_ms),
        )
        manager = await own.enter_async_context(running(app))
        transport = httpx.ASGITransport(app=manager.app)
        self.router.apps[config.code] = transport
        client = await own.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url=f"http://{config.code}")
        )
        self._sign_in(client, app)
        node = Node(config.code, app, client, config, own)
        self.nodes[config.code] = node
        return node

    def _sign_in(self, client: httpx.AsyncClient, app: FastAPI) -> None:
        """Each node's client acts as an operator of that node (one user, kept over restarts)."""
        ctx: NodeContext = app.state.ctx
        code = ctx.identity.code
        token = self.tokens.get(code)
        if token is None or not holds(ctx.db, code, token):  # new, or its data was lost
            token = self.tokens[code] = grant(ctx.db, code, name=f"operator-{uuid.uuid4().hex[:8]}")
        client.headers.update(bearer(token))

    async def restart(self, code: str) -> Node:
        """Stop a node (its lifespan ends, its database closes) and start it on the same data."""
        node = self.nodes.pop(code)
        self.router.apps.pop(code, None)
        await node.stack.aclose()
        return await self.start(node.settings)

    async def sync(self, rounds: int = 1) -> None:
        """Push every node's log to its parent, deepest first, so one round reaches the top."""
        for _ in range(rounds):
            for code in sorted(self.nodes, key=len, reverse=True):
                node = self.nodes[code]
                if node.settings.parent_url and code not in self.router.down:
                    await node.replicator.run_once()

    async def close(self) -> None:
        await self.stack.aclose()
