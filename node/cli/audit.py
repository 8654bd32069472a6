"""`tiersync audit`: who did what to this node, when, with what outcome; and the helpers the
operator commands share (the --actor option, their errors)."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.table import Table

from federation.errors import FederationError
from node.audit import service as audit_service
from node.bundles.file import BundleRefused
from node.cli.common import CliError, JsonOption, console, node_context, print_json
from node.cli.options import NodeConfig, node_command
from node.principal import os_actor

ActorOption = Annotated[
    str | None,
    typer.Option("--actor", help="Who runs this, for the audit log (default: the OS user)."),
]


def actor_of(given: str | None) -> str:
    return given or os_actor()


@contextmanager
def ops_errors() -> Iterator[None]:
    """A parent that cannot be reached or refuses, or a refused bundle: one line, exit 1."""
    try:
        yield
    except BundleRefused as exc:
        raise CliError(f"bundle refused: {exc}") from None
    except FederationError as exc:
        raise CliError(f"parent: {exc}") from None


@node_command()
def audit(
    config: NodeConfig,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="Newest entries to show.")] = 50,
    json: JsonOption = False,
) -> None:
    """List the audit log: operator actions and refused peers, newest first."""
    with node_context(config.settings(), writable=False) as ctx:
        entries = audit_service.entries(ctx.db, limit=limit)
    if json:
        print_json(entries)
        return
    table = Table(box=None, pad_edge=False)
    for column in ("at", "actor", "action", "outcome", "detail"):
        table.add_column(column, overflow="fold")
    for e in entries:
        at = e.at.strftime("%Y-%m-%d %H:%M:%S")
        style = "red" if e.outcome in {"failed", "refused"} else None
        table.add_row(at, e.actor, e.action, e.outcome, e.detail, style=style)
    console.print(table if entries else "audit log is empty")
