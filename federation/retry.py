"""What the replicator (up) and the directive puller (down) share: blocking calls off the event
loop, and how long to wait after a failed exchange with the parent."""

import asyncio
import random
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class Health(Protocol):
    """Where a background loop reports each iteration (node.supervisor implements it)."""

    def ok(self) -> None: ...

    def failed(self, exc: BaseException) -> None: ...


class Unwatched:
    """A Health that records nothing (a loop run outside a supervisor, e.g. in a test)."""

    def ok(self) -> None:
        pass

    def failed(self, exc: BaseException) -> None:
        pass


async def in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.to_thread(fn, *args, **kwargs)


def backoff_delay(failures: int, *, low: float, cap: float, rejected: bool) -> float:
    """Capped exponential backoff with full jitter; a refusal waits the cap at once."""
    if rejected:
        return cap
    ceiling = min(cap, low * 2 ** min(failures - 1, 20))
    return random.uniform(ceiling / 2, ceiling)
