"""The CLI's side of `/api/v1/node/...`: hand a cursor-moving command to the serving node.

`tiersync serve` writes its address into the lock it holds (node/servelock.py); a command
refused by that lock (`NodeBusy`) can reach the node there with an operator's API token (the
operator-access design: `tiersync user add`, right `ops.run`). Without a token, or when the
node does not answer, the command refuses: it never writes the cursors behind the node's back.
"""

import shutil
import ssl
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import orjson

from node.errors import TiersyncError, Unavailable
from node.ops.served import incoming_dir
from node.servelock import NodeBusy
from node.settings import Settings

TOKEN_ENV = "TIERSYNC_OPERATOR_TOKEN"
TIMEOUT_S = 3600.0  # a resync of a long log is one request


class ServedRefused(TiersyncError):
    """The serving node answered the command with an error."""

    status_code = 409
    code = "refused_by_serving_node"


def serving_url(busy: NodeBusy) -> str | None:
    """The serving node's address, when `tiersync serve` (not another command) holds the lock."""
    holder = busy.holder
    if not str(holder.get("what", "")).endswith("serve"):
        return None
    url = holder.get("url")
    return str(url) if url else None


def need_token(busy: NodeBusy, *, command: str, node: str) -> NodeBusy:
    """The refusal when the node serves and no token was given."""
    url = serving_url(busy) or "?"
    return NodeBusy(
        f"节点 {node} 正在运行（tiersync serve，进程 {busy.holder.get('pid', '?')}，地址 {url}）："
        f"{command} 会移动同步游标，只能由运行中的节点执行。请用 --token（或环境变量 "
        f"{TOKEN_ENV}）提供一个具有 ops.run 权限的用户令牌（tiersync user add 名字 --role "
        "operator 的最后一行），命令将交给该节点执行；或先停止节点再运行",
        busy.holder,
    )


def _context(settings: Settings, url: str) -> ssl.SSLContext | None:
    if not url.startswith("https://"):
        return None
    # The node's own certificate (with its chain, if the file holds one) is the trust anchor.
    context = ssl.create_default_context(cafile=str(settings.tls_cert))
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    return context


def post(settings: Settings, busy: NodeBusy, *, path: str, body: dict[str, Any], token: str) -> Any:
    """POST `body` to the serving node; its JSON answer, or an error naming what went wrong."""
    url = serving_url(busy)
    assert url is not None
    request = urllib.request.Request(
        url + path,
        data=orjson.dumps(body),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(
            request, timeout=TIMEOUT_S, context=_context(settings, url)
        ) as response:
            return orjson.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            error = orjson.loads(exc.read()).get("error", {})
            message = error.get("message") or exc.reason
            details = "; ".join(
                f"{d.get('field')}: {d.get('reason')}" if d.get("field") else str(d.get("reason"))
                for d in error.get("details", [])
            )
        except (ValueError, AttributeError):
            message, details = exc.reason, ""
        raise ServedRefused(
            f"运行中的节点（{url}）拒绝执行（HTTP {exc.code}）：{message}"
            + (f"（{details}）" if details else "")
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise Unavailable(
            f"节点 {settings.code} 正由 tiersync serve 持有，但其地址 {url} 无法连接（{reason}）："
            "未做任何修改；请确认节点在运行，或先停止它再运行此命令"
        ) from None


def hand_over(settings: Settings, path: Path) -> str:
    """Copy a bundle into the node's `incoming/` directory; the name to send (the serving
    node removes the copy once it has taken it)."""
    folder = incoming_dir(settings.data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{uuid.uuid4().hex}.tsb"
    shutil.copyfile(path, folder / name)
    return name
