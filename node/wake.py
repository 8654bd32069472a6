"""Another process's commits wake the serving node at once, without it polling for them.

A serving node's idle loops sleep until a commit of its own process wakes them (the
replicator's `notify`, the children's held directive polls' signal): nothing re-reads the
database on a timer. A command run by another process on the same database (the CLI:
`directive send`, `import`, `verify --repair`, …) pokes the serving node after it commits: one
datagram on the Unix socket `<data dir>/wake.sock` that the serving node listens on, which
then wakes what a local commit would. Nobody listening (the node is not serving, or serves
from another host with PostgreSQL) is not an error: the next heartbeat and the next poll's
read see those writes.
"""

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from node.context import NodeContext

SOCKET_NAME = "wake.sock"
POKE_EVERY_S = 0.05  # a burst of commits (an import) sends one datagram per this, and a last one
_MAX_PATH = 100  # sun_path holds 108 bytes
Stop = Callable[[], Awaitable[None]]
log = logging.getLogger("tiersync.wake")


def socket_path(data_dir: Path) -> Path:
    return data_dir / SOCKET_NAME


def poke(data_dir: Path) -> bool:
    """Tell the node serving from `data_dir` that this process committed; False if none
    listens."""
    path = socket_path(data_dir)
    if len(os.fsencode(path)) > _MAX_PATH:
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.setblocking(False)
            sock.sendto(b"w", os.fsencode(path))
        except OSError:  # no socket, nobody bound to it, or its buffer full (a poke is pending)
            return False
    return True


class Poker:
    """A command's commit listener: pokes the serving node at most every POKE_EVERY_S, and
    once more at `flush` (the command's end) if a commit went unannounced."""

    def __init__(self, data_dir: Path, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.data_dir = data_dir
        self.clock = clock
        self._last = float("-inf")
        self._owed = False

    def __call__(self) -> None:
        now = self.clock()
        if now - self._last < POKE_EVERY_S:
            self._owed = True
            return
        self._last, self._owed = now, False
        poke(self.data_dir)

    def flush(self) -> None:
        if self._owed:
            self._owed = False
            poke(self.data_dir)


def wake_local(ctx: NodeContext) -> None:
    """What a commit of this process wakes: the replicator, the children's held polls, and
    the readers that skip while nothing committed (Database.generation)."""
    ctx.db.note_commit()
    if ctx.replicator is not None:
        ctx.replicator.notify()
    if ctx.directive_signal is not None:
        ctx.directive_signal.notify()


def listen_hook(ctx: NodeContext) -> Stop | None:
    """A startup hook for create_app: listen on `<data dir>/wake.sock` while serving."""
    path = socket_path(ctx.settings.data_dir)
    if len(os.fsencode(path)) > _MAX_PATH:
        log.warning(
            "data directory path too long for %s: another process's commits are seen at the "
            "next heartbeat",
            SOCKET_NAME,
        )
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        path.unlink(missing_ok=True)  # left by a process that died (serve.lock: none serves)
        sock.bind(os.fsencode(path))
        os.chmod(path, 0o600)  # only this node's user may poke it
        sock.setblocking(False)
    except OSError:
        sock.close()
        log.warning("could not listen on %s", path, exc_info=True)
        return None
    loop = asyncio.get_running_loop()

    def readable() -> None:
        with contextlib.suppress(BlockingIOError, InterruptedError):
            while sock.recv(16):  # every poke waiting: one wake-up for all of them
                pass
        wake_local(ctx)

    loop.add_reader(sock.fileno(), readable)

    async def stop() -> None:
        loop.remove_reader(sock.fileno())
        sock.close()
        path.unlink(missing_ok=True)

    return stop
