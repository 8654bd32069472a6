"""`tiersync serve`: run the node's HTTP API until SIGTERM or Ctrl+C."""

import ipaddress
import signal
from types import FrameType
from typing import Annotated

import typer
import uvicorn

from node import gc_tuning, logs
from node.api.slow_clients import with_header_deadline
from node.app import create_app
from node.cli.common import LEVEL_LABELS, UsageError, node_context, say, warn
from node.cli.options import NodeConfig, node_command
from node.servelock import owning
from node.settings import LOOPBACK_NAMES, Settings

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
SHUTDOWN_GRACE_S = 3
"""On SIGTERM, in-flight requests get this long; children hold long polls open, so waiting on
them would only delay the stop (deploy/tiersync.service and the README quote this figure)."""


def _exit_cleanly(_signum: int, _frame: FrameType | None) -> None:
    # uvicorn shuts down gracefully on SIGTERM and then re-raises it; ending here makes a
    # graceful stop exit 0 instead of "killed by SIGTERM".
    raise SystemExit(0)


def url_of(host: str, port: int, tls: bool = False) -> str:
    scheme = "https" if tls else "http"
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(settings: Settings, host: str, insecure_http: bool) -> Settings:
    """Safe defaults: plain HTTP only on loopback unless --insecure-http; the bound name is
    one this node answers to. Returns the settings the app is built with."""
    if not is_loopback(host) and not settings.tls_enabled:
        if not insecure_http:
            raise UsageError(
                f"拒绝在 {host} 上以明文 HTTP 提供服务：令牌和个人信息将以明文经过网络；"
                "请设置 TIERSYNC_TLS_CERT 和 TIERSYNC_TLS_KEY，或加 --insecure-http"
                "（例如位于终结 TLS 的反向代理之后）"
            )
        warn(f"警告：正在 {host} 上以明文 HTTP 提供服务（--insecure-http）")
    if host in ("0.0.0.0", "::") and not settings.allowed_hosts:
        warn(
            "警告：未设置 TIERSYNC_ALLOWED_HOSTS：只应答发往 localhost 和 127.0.0.1 的请求；"
            "请列出下级和操作员访问本节点所用的名称"
        )
    if host in ("0.0.0.0", "::") or host.lower() in settings.host_names:
        return settings
    return settings.model_copy(update={"allowed_hosts": [*settings.allowed_hosts, host]})


@node_command()
def serve(
    config: NodeConfig,
    host: Annotated[
        str, typer.Option(envvar="TIERSYNC_HOST", help="Address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(envvar="TIERSYNC_PORT", min=0, max=65535, help="Port to listen on.")
    ] = 8000,
    log_level: Annotated[
        str, typer.Option(help=f"Server log level: {', '.join(LOG_LEVELS)}.")
    ] = "info",
    insecure_http: Annotated[
        bool,
        typer.Option(
            "--insecure-http", help="Allow plain HTTP on a non-loopback address (no TLS set)."
        ),
    ] = False,
) -> None:
    """Serve this node's API (records, views, sync) until SIGTERM or Ctrl+C."""
    if log_level not in LOG_LEVELS:
        raise typer.BadParameter(f"可选 {'、'.join(LOG_LEVELS)}", param_hint="--log-level")
    settings = check_exposure(config.settings(), host, insecure_http)
    # Open once up front so a bad database or a foreign one fails here, in one line.
    with node_context(settings, create=True):
        pass
    tls = settings.tls_enabled
    level = LEVEL_LABELS.get(str(settings.level), str(settings.level))
    say(f"{settings.name}（{level}，{settings.code}）服务地址 {url_of(host, port, tls)}")
    signal.signal(signal.SIGTERM, _exit_cleanly)
    url = url_of(host, port, tls)
    logs.configure(settings.log_format, log_level)
    # Held until the process ends: rebuild, resync and bundle ack refuse meanwhile.
    with owning(settings.data_dir, what="tiersync serve", node=settings.code, url=url):
        uvicorn.run(
            create_app(settings, background=[gc_tuning.startup_hook]),
            host=host,
            port=port,
            log_level=log_level,
            log_config=None,  # node/logs.py's handler renders uvicorn's records too
            access_log=False,  # node/api/requests.py logs each request, with its request id
            timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
            http=with_header_deadline(settings.header_timeout_s),  # slow clients: node/api
            limit_concurrency=settings.max_connections,
            ssl_certfile=str(settings.tls_cert) if tls else None,
            ssl_keyfile=str(settings.tls_key) if tls else None,
        )
