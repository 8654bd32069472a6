"""Waiting with a time limit that never swallows a cancellation.

Python 3.11's `asyncio.wait_for` returns the result when what it awaits completes in the same
loop iteration as the caller is cancelled, and the CancelledError is lost (fixed in 3.12, which
builds wait_for on `asyncio.timeout`). A background loop that waits on an event which commits
keep setting then swallows the cancellation its stop sends, runs on, and the node's shutdown
waits for it for ever. `asyncio.timeout` keeps the cancellation: every bounded wait of the
project goes through it (ruff bans `asyncio.wait_for`, pyproject.toml).
"""

import asyncio
from collections.abc import Awaitable


async def within(seconds: float | None, awaitable: Awaitable[object]) -> bool:
    """Await `awaitable` for at most `seconds` (None: without a limit): True if it completed,
    False if the time ran out first (it is then cancelled)."""
    try:
        async with asyncio.timeout(seconds):
            await awaitable
    except TimeoutError:
        return False
    return True
