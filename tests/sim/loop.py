"""A virtual-time asyncio loop: when nothing is ready to run, time jumps to the next timer.

Everything the nodes do runs on this one thread: `run_in_executor` (asyncio.to_thread, the
replicator's and puller's blocking calls) and anyio's worker threads (FastAPI's sync routes)
run inline, so a step of the loop is a pure function of the state before it. `loop.time()` is
the simulated clock every timer reads (asyncio.sleep, wait_for, the long poll's deadline).
"""

import asyncio
import contextlib
import selectors
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any

import anyio.to_thread


class Deadlock(RuntimeError):
    """Nothing ready, no timer pending, yet the simulation waits: it can never finish."""


class _Selector(selectors.DefaultSelector):
    """Real selection with no wait (the loop's own self-pipe); a wait advances virtual time."""

    def __init__(self, loop: "VirtualLoop") -> None:
        super().__init__()
        self._vloop = loop

    def select(self, timeout: float | None = None) -> list[Any]:
        ready = super().select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:
            raise Deadlock("the simulation waits on nothing (no timer, nothing ready)")
        self._vloop.advance(timeout)
        return []


class VirtualLoop(asyncio.SelectorEventLoop):
    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        super().__init__(selector=_Selector(self))

    def time(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds > 0:
            self._now += seconds

    def run_in_executor(self, executor: Any, func: Callable[..., Any], *args: Any) -> Any:
        future: Future[Any] = Future()
        try:
            future.set_result(func(*args))
        except BaseException as exc:
            future.set_exception(exc)
        return asyncio.wrap_future(future, loop=self)


async def _inline(func: Callable[..., Any], *args: Any, **_: Any) -> Any:
    return func(*args)


@contextlib.contextmanager
def inline_threads() -> Iterator[None]:
    """anyio's worker threads (Starlette's run_in_threadpool) run inline while inside."""
    saved = anyio.to_thread.run_sync
    anyio.to_thread.run_sync = _inline  # type: ignore[assignment]
    try:
        yield
    finally:
        anyio.to_thread.run_sync = saved
