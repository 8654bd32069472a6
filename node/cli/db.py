"""`tiersync db ...`: the node's database schema."""

import typer

from node import migrate
from node.cli.common import JsonOption, node_context, redact_url, report
from node.cli.options import NodeConfig, node_command

app = typer.Typer(help="Manage the node's database.", no_args_is_help=True)


@app.command()
@node_command()
def upgrade(config: NodeConfig, json: JsonOption = False) -> None:
    """Apply pending migrations (serve does this too) and print the revision."""
    settings = config.settings()
    with node_context(settings) as ctx:  # migrates
        current, head = migrate.current_revision(ctx.db.engine), migrate.head_revision(None)
    database = redact_url(settings.resolved_database_url)
    latest = "（最新）" if current == head else f"（最新为 {head}）"
    report(
        json,
        {"database": database, "revision": current, "head": head},
        f"数据库 {database} 的结构版本为 {current}{latest}",
    )
