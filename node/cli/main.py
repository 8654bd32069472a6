"""The `tiersync` command: the Typer app and its commands (console script: node/cli/entry.py)."""

from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer

from node.cli import (  # ops
    audit,
    bundle,
    ca,
    child,
    db,
    demo,
    directive,
    export,
    importer,
    init,
    keys,
    persons,  # privacy
    quarantine,  # sync
    rebuild,
    records,
    resync,
    reveal,  # privacy
    seed,  # views
    serve,
    status,
    user,  # access
    verify,
)
from node.cli.options import NodeConfig, node_command

app = typer.Typer(
    name="tiersync",
    help="tiersync: store-and-forward sync for four-level governance centres.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals may hold credentials
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(show: bool) -> None:
    if show:
        try:
            typer.echo(f"tiersync {version('tiersync')}")
        except PackageNotFoundError:
            typer.echo("tiersync (not installed)")
        raise typer.Exit()


@app.callback()
@node_command()
def main(
    ctx: typer.Context,
    config: NodeConfig,
    show_version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """tiersync: store-and-forward sync for four-level governance centres.

    Every command reads the node's configuration from these options (before or after the
    command name), TIERSYNC_* environment variables and a TOML file, in that order.
    """
    ctx.obj = config


app.command()(serve.serve)
app.command()(init.init)
app.command("import")(importer.import_file)
app.command()(export.export)
app.add_typer(db.app, name="db")
app.add_typer(child.app, name="child")
app.add_typer(ca.app, name="ca")  # trust: TLS between tiers
app.add_typer(keys.app, name="key")  # trust: this node's signing key
app.add_typer(user.app, name="user")  # access
app.add_typer(records.app, name="records")
app.add_typer(persons.app, name="persons")  # privacy: duplicates by keyed hash
app.add_typer(reveal.app, name="reveal")  # privacy: one record in full, asked of its owner
app.add_typer(directive.app, name="directive")  # directives
app.command()(status.status)  # ops
app.command()(resync.resync)  # ops
app.command()(verify.verify)  # ops
app.command()(rebuild.rebuild)  # ops
app.add_typer(bundle.app, name="bundle")  # ops
app.add_typer(quarantine.app, name="quarantine")  # sync
app.add_typer(audit.app, name="audit")  # ops: list, verify
app.command()(seed.seed)  # views: the article's dataset
app.command()(demo.demo)
