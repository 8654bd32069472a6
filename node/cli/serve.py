"""`tiersync serve`: run the node's HTTP API until SIGTERM or Ctrl+C."""

import signal
from types import FrameType
from typing import Annotated

import typer
import uvicorn

from node import gc_tuning
from node.app import create_app
from node.cli.common import node_context, say
from node.cli.options import NodeConfig, node_command

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
SHUTDOWN_GRACE_S = 3
"""On SIGTERM, in-flight requests get this long; children hold long polls open, so waiting on
them would only delay the stop (deploy/tiersync.service and the README quote this figure)."""


def _exit_cleanly(_signum: int, _frame: FrameType | None) -> None:
    # uvicorn shuts down gracefully on SIGTERM and then re-raises it; ending here makes a
    # graceful stop exit 0 instead of "killed by SIGTERM".
    raise SystemExit(0)


def url_of(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


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
) -> None:
    """Serve this node's API (records, views, sync) until SIGTERM or Ctrl+C."""
    if log_level not in LOG_LEVELS:
        raise typer.BadParameter(f"choose one of {', '.join(LOG_LEVELS)}", param_hint="--log-level")
    settings = config.settings()
    # Open once up front so a bad database or a foreign one fails here, in one line.
    with node_context(settings, create=True):
        pass
    say(f"{settings.name} ({settings.code}, {settings.level}) at {url_of(host, port)}")
    signal.signal(signal.SIGTERM, _exit_cleanly)
    uvicorn.run(
        create_app(settings, background=[gc_tuning.startup_hook]),
        host=host,
        port=port,
        log_level=log_level,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
    )
