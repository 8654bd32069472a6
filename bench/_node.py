"""Entry point of one benchmark node process: `python -m bench._node '<settings json>' PORT`.

Runs uvicorn on `create_app(Settings(...))` at 127.0.0.1:PORT. Settings keys starting with "_" are
options of this launcher, not of the node:

- `_manual_push`: build the replicator but do not run its loop; `POST /bench/push` then drains
  the log once (`Replicator.run_once()`) and answers with the time it took and the wire stats.
  This measures a push from its first request to the last ack, without process start-up.

- `_privacy_off`: no sealing at rest and no projection for the parent (the node's sealer and
  its replicator's projection removed at start): bench.replication --privacy-off, to measure
  what issue 14's personal-data work costs a hop. Never a node setting.

- `_sqlite_normal`: SQLite with `synchronous=NORMAL` (no fsync at commit, as before issue 10):
  bench.replication --sqlite-normal, to measure what an acknowledged write's durability costs
  a hop (docs/decisions/0602). Never a node setting.

With `tls_cert` and `tls_key` in the settings it serves HTTPS (bench.replication --tls).

`GET /bench/wire` answers with the replicator's `HttpPeer.stats` in either mode.
"""

import json
import sys
import time
from dataclasses import asdict
from typing import Any

import uvicorn
from fastapi import FastAPI, Request

from node import gc_tuning
from node.app import create_app
from node.settings import Settings


def _replicator(request: Request) -> Any:
    return request.app.state.ctx.replicator


def privacy_off(ctx: Any) -> None:
    """Nothing sealed at rest, nothing projected for the parent (see `_privacy_off`)."""
    ctx.db.sealer = None
    if ctx.replicator is not None:
        ctx.replicator.store.projection = None


def build(config: dict[str, Any]) -> FastAPI:
    manual = bool(config.pop("_manual_push", False))
    hooks: list[Any] = [gc_tuning.startup_hook]
    if config.pop("_privacy_off", False):
        hooks.insert(0, privacy_off)
    if config.pop("_sqlite_normal", False):
        from node.db import Database

        assert Database.__init__.__kwdefaults__ is not None
        Database.__init__.__kwdefaults__["synchronous"] = "NORMAL"  # this process only
    app = create_app(Settings(**config), run_replicator=not manual, background=hooks)

    @app.post("/bench/push", include_in_schema=False)
    async def push(request: Request) -> dict[str, Any]:
        replicator = _replicator(request)
        started = time.perf_counter()
        pushed = await replicator.run_once()
        return {
            "pushed": pushed,
            "seconds": time.perf_counter() - started,
            "wire": asdict(replicator.peer.stats),
        }

    @app.get("/bench/wire", include_in_schema=False)
    async def wire(request: Request) -> dict[str, Any]:
        return asdict(_replicator(request).peer.stats)

    return app


def main() -> None:
    config = json.loads(sys.argv[1])
    port = int(sys.argv[2])
    tls = {"ssl_certfile": config.get("tls_cert"), "ssl_keyfile": config.get("tls_key")}
    uvicorn.run(
        build(config),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        **(tls if tls["ssl_certfile"] else {}),
    )


if __name__ == "__main__":
    main()
