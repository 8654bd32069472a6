"""`tiersync init`: write a node's TOML configuration file."""

from datetime import timedelta
from typing import Annotated

import typer
from pydantic import ValidationError

from node.access import users
from node.cli.common import LEVEL_LABELS, UsageError, node_context, say
from node.cli.options import NodeConfig, check_database_url, describe_settings_error, node_command
from node.cli.user import show_added
from node.config_file import write_config
from node.principal import os_actor
from node.settings import Settings


@node_command()
def init(
    config: NodeConfig,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    admin: Annotated[
        str | None,
        typer.Option(
            "--admin",
            metavar="NAME",
            help="Also create the first admin; its token is printed last.",
        ),
    ] = None,
) -> None:
    """Create the node (its database) and write its configuration (from the options and
    TIERSYNC_* variables) to --config."""
    path = config.path
    if path.exists() and not force:
        raise UsageError(f"{path} 已存在：如需覆盖，请加 --force")
    try:
        settings = Settings(**config.overrides)
    except ValidationError as exc:
        raise UsageError(describe_settings_error(exc, path)) from None
    # Relative paths would depend on the directory the node is later started from.
    settings.data_dir = settings.data_dir.resolve()
    check_database_url(settings.resolved_database_url)
    # The node itself (database, identity, own unit), so every other command finds it.
    with node_context(settings, create=True):
        pass
    write_config(path, settings)
    written = NodeConfig(config_file=path).settings()
    level = LEVEL_LABELS.get(str(written.node_level), str(written.node_level))
    say(f"已写出 {path}：{written.name}（{level}，{written.code}），数据目录 {written.data_dir}")
    if admin is not None:
        with node_context(written) as ctx:
            added = users.add_user(
                ctx.db,
                node=written.code,
                name=admin,
                role="admin",
                units=[],
                actor=os_actor(),
                token_ttl=timedelta(days=written.token_ttl_days),
            )
        say(f"管理员登录须设密码和动态口令（TOTP）：tiersync user passwd {admin}；"
            f"tiersync user totp {admin}")  # fmt: skip
        show_added(added, json=False)
