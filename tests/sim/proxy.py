"""A fault proxy between real tiers: a small asyncio TCP proxy on loopback that a child dials
instead of its parent (TIERSYNC_PARENT_URL), and that loses answers after the parent got the
request (a lost ack), cuts connections mid-request, replays a connection's requests later and
delays bytes, each with a seeded probability per connection.

It works below HTTP: a connection's bytes from the child are forwarded as they come; a replay
sends the same bytes again on a new connection to the parent (its answers discarded), as a
network that duplicates a TCP stream's requests would. Runs on its own thread and loop, so a
synchronous test can start, retune and stop it (docs/reliability.md, "The fault proxy").
"""

import asyncio
import contextlib
import threading
from collections import Counter
from dataclasses import dataclass
from random import Random


@dataclass
class ProxyFaults:
    """Probabilities per chunk of bytes read (an answer, a request or part of a large one), and
    per connection for a replay (0: never)."""

    lose_answer: float = 0.0  # the parent answers; the child never gets it (connection cut)
    cut: float = 0.0  # the connection is cut after part of the child's bytes reached the parent
    replay: float = 0.0  # the connection's bytes reach the parent again, later
    delay: float = 0.0  # a chunk waits up to max_delay_s
    max_delay_s: float = 0.3


class FaultProxy:
    def __init__(self, upstream_port: int, *, seed: int, host: str = "127.0.0.1") -> None:
        self.host, self.upstream_port = host, upstream_port
        self.faults = ProxyFaults()
        self.rng = Random(seed)
        self.counts: Counter[str] = Counter()
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "FaultProxy":
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def set(self, faults: ProxyFaults) -> None:
        self._loop.call_soon_threadsafe(setattr, self, "faults", faults)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task

    def _spawn(self, coro: "asyncio.Future[None] | asyncio.Task[None] | object") -> None:
        task = self._loop.create_task(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self._tasks.add(asyncio.current_task())  # type: ignore[arg-type]
        faults, rng = self.faults, self.rng
        self.counts["connections"] += 1
        replay = rng.random() < faults.replay
        sent = bytearray()
        try:
            up_r, up_w = await asyncio.open_connection(self.host, self.upstream_port)
        except OSError:
            client_w.close()
            return

        async def upward() -> None:
            while chunk := await client_r.read(65536):
                faults = self.faults
                if rng.random() < faults.delay:
                    await asyncio.sleep(rng.uniform(0, faults.max_delay_s))
                if rng.random() < faults.cut:  # part of it reaches the parent, then the cut
                    up_w.write(chunk[: rng.randrange(len(chunk))])
                    self.counts["cut"] += 1
                    raise ConnectionResetError("cut by the fault proxy")
                sent.extend(chunk)
                up_w.write(chunk)
                await up_w.drain()

        async def downward() -> None:
            while chunk := await up_r.read(65536):
                faults = self.faults
                if rng.random() < faults.lose_answer:  # the parent answered: it dies here
                    self.counts["lost answer"] += 1
                    raise ConnectionResetError("answer lost by the fault proxy")
                if rng.random() < faults.delay:
                    await asyncio.sleep(rng.uniform(0, faults.max_delay_s))
                client_w.write(chunk)
                await client_w.drain()

        try:
            done, pending = await asyncio.wait(
                [asyncio.ensure_future(upward()), asyncio.ensure_future(downward())],
                return_when=asyncio.FIRST_COMPLETED,
            )
            for task in pending:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
            for task in done:
                task.exception()  # seen: a reset is the fault itself
        finally:
            for writer in (client_w, up_w):
                with contextlib.suppress(Exception):
                    writer.transport.abort()
        if replay and sent:
            self.counts["replay"] += 1
            self._spawn(self._replay(bytes(sent), rng.uniform(0.1, 2.0)))

    async def _replay(self, data: bytes, after: float) -> None:
        await asyncio.sleep(after)
        with contextlib.suppress(OSError):
            reader, writer = await asyncio.open_connection(self.host, self.upstream_port)
            writer.write(data)
            await writer.drain()
            with contextlib.suppress(TimeoutError, OSError):
                async with asyncio.timeout(5):  # the answer to the replay is read and dropped
                    while await reader.read(65536):
                        pass
            writer.transport.abort()
