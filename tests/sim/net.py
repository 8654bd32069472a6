"""The links between tiers: each child reaches its parent through its own `Link`, an httpx
transport over the parent's ASGI app that can drop, delay, duplicate (replay later) and cut
requests and answers, be partitioned for a while, and lose an answer after the parent
committed. Every decision is drawn from the world's seeded random source."""

import asyncio
import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from tests.sim.world import World


class SimCrash(BaseException):
    """A node was killed at a crash point (a BaseException: no handler of the node catches it)."""


@dataclass
class LinkFaults:
    """Probabilities per request on one link (0: never)."""

    drop: float = 0.0  # the request never reaches the parent
    lose_answer: float = 0.0  # the parent applied it; the answer never arrives
    duplicate: float = 0.0  # the request arrives again later (a replay)
    delay: float = 0.0  # the request and its answer take up to `max_delay_s` each
    max_delay_s: float = 3.0


class Link(httpx.AsyncBaseTransport):
    def __init__(self, world: "World", child: str, parent: str) -> None:
        self.world = world
        self.child = child
        self.parent = parent
        self.faults = LinkFaults()
        self.down_until = 0.0
        self.requests = 0

    def partition(self, seconds: float) -> None:
        self.down_until = max(self.down_until, self.world.now + seconds)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        world, rng, faults = self.world, self.world.rng, self.faults
        self.requests += 1
        await request.aread()
        if world.now < self.down_until or world.healing_cut(self):
            raise httpx.ConnectError(
                f"link {self.child}→{self.parent} partitioned", request=request
            )
        if rng.random() < faults.delay:
            await asyncio.sleep(rng.uniform(0, faults.max_delay_s))
        if rng.random() < faults.drop:
            world.count("net.drop")
            raise httpx.ConnectError("request dropped", request=request)
        if rng.random() < faults.duplicate:
            world.count("net.duplicate")
            later = rng.uniform(0, faults.max_delay_s * 3)
            world.spawn(self._replay(request, later), f"replay {self.child}→{self.parent}")
        response = await self._deliver(request)
        world.trace.append(
            f"{world.now:.3f} {self.child}>{self.parent} {request.method} {request.url.path} "
            f"{response.status_code}"
        )
        if rng.random() < faults.lose_answer:
            world.count("net.lose_answer")
            raise httpx.ReadError("answer lost after the parent committed", request=request)
        if rng.random() < faults.delay:
            await asyncio.sleep(rng.uniform(0, faults.max_delay_s))
        return response

    async def _deliver(self, request: httpx.Request) -> httpx.Response:
        node = self.world.nodes.get(self.parent)
        if node is None or not node.alive:
            raise httpx.ConnectError(f"{self.parent} is down", request=request)
        try:
            response = await node.transport.handle_async_request(request)
            # The bytes as sent (a zstd body stays compressed: the client decodes it once).
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
        except SimCrash:
            raise httpx.ReadError(f"{self.parent} died mid-request", request=request) from None
        if not node.alive:  # killed while answering: the answer dies with it
            raise httpx.ReadError(f"{self.parent} died mid-request", request=request)
        return httpx.Response(response.status_code, headers=response.headers, content=raw)

    async def _replay(self, request: httpx.Request, after: float) -> None:
        await asyncio.sleep(after)
        copy = httpx.Request(
            request.method, request.url, headers=request.headers, content=request.content
        )
        with contextlib.suppress(httpx.HTTPError):
            await self._deliver(copy)
