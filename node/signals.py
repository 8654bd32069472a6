"""A wake-up for waiters held on the event loop, set from any thread after a commit.

The directives' long polls wait on one (NodeContext.directive_signal): only commits that store
a directive version notify it, so a pushed batch or a receipt does not re-run every held poll.
"""

import asyncio
import contextlib


class CommitSignal:
    """Wakes held long polls after a commit; safe to notify from any thread.

    Each commit swaps in a fresh Event and sets the old one, so a waiter that took the event
    before reading the database cannot miss a commit made after that read.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._event = asyncio.Event()
        self.closed = False

    def notify(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop already closed: nobody is waiting
            self._loop.call_soon_threadsafe(self._fire)

    def current(self) -> asyncio.Event:
        return self._event

    def close(self) -> None:
        """The node is stopping: release every held request now."""
        self.closed = True
        self._fire()

    def _fire(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()
