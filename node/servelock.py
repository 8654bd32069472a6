"""One process at a time owns a node's sync state: `serve`, or an operator command that moves
its cursors (`rebuild`, `resync`, `bundle ack`).

A running node keeps its acked cursor and log position in step with pushes in flight; a second
process saving them under it (a rewind by `resync`, a rebuild's settled cursor, a receipt taken
by `bundle ack`) would be overwritten by the next ack, or would declare unsent changes
delivered. So `serve` holds an exclusive OS lock (flock) on `<data dir>/serve.lock` for its
lifetime, and those commands take the same lock for theirs: whichever comes second is refused,
naming the holder. The kernel drops the lock when its process ends, kill -9 included, so a
crash leaves nothing to clean up.
"""

import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from node.errors import Conflict

LOCK_NAME = "serve.lock"


class NodeBusy(Conflict):
    """Another process owns this node's sync state."""

    def __init__(self, message: str, holder: dict[str, Any]) -> None:
        super().__init__(message)
        self.code = "node_busy"
        self.holder = holder


def _holder(handle: IO[str]) -> dict[str, Any]:
    handle.seek(0)
    try:
        found = json.loads(handle.read() or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _describe(holder: dict[str, Any]) -> str:
    what = holder.get("what") or "tiersync"
    pid = holder.get("pid", "?")
    where = f"，地址 {holder['url']}" if holder.get("url") else ""
    since = f"，始于 {holder['since']}" if holder.get("since") else ""
    return f"{what}（进程 {pid}，主机 {holder.get('host', '?')}{where}{since}）"


@contextmanager
def owning(data_dir: Path, *, what: str, node: str, url: str | None = None) -> Iterator[None]:
    """Hold the node's lock while the block runs; NodeBusy if another process holds it.

    `what` names this holder for whoever is refused ("tiersync serve", "tiersync rebuild").
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOCK_NAME
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(handle)
            serving = str(holder.get("what", "")).endswith("serve")
            advice = (
                "请先停止该节点（systemctl stop tiersync）再运行此命令"
                if serving
                else "请等它结束后再试"
            )
            raise NodeBusy(
                f"节点 {node} 的数据正由 {_describe(holder)} 使用：{advice}"
                f"（{what} 不能与之同时修改同步游标）",
                holder,
            ) from None
        try:
            record = {
                "what": what,
                "node": node,
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "url": url,
                "since": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps(record, ensure_ascii=False))
            handle.flush()
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
