"""`tiersync db ...`: the node's database schema."""

import typer

from node import migrate
from node.cli.common import JsonOption, print_json, redact_url, say
from node.cli.options import NodeConfig, node_command
from node.db import make_engine

app = typer.Typer(help="Manage the node's database.", no_args_is_help=True)


@app.command()
@node_command()
def upgrade(config: NodeConfig, json: JsonOption = False) -> None:
    """Apply pending migrations (serve does this too) and print the revision."""
    settings = config.settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    try:
        migrate.upgrade(engine)
        current, head = migrate.current_revision(engine), migrate.head_revision(engine)
    finally:
        engine.dispose()
    database = redact_url(settings.resolved_database_url)
    if json:
        print_json({"database": database, "revision": current, "head": head})
    else:
        say(f"database {database} at revision {current}" + (" (head)" if current == head else ""))
