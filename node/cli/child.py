"""`tiersync child ...`: enrol the units below this node that run nodes of their own."""

from typing import Annotated

import typer

from node.cli.ca import HostOption, issue_and_report
from node.cli.common import LEVEL_LABELS, JsonOption, UsageError, node_context, print_json, say
from node.cli.options import NodeConfig, node_command
from node.context import NodeContext
from node.privacy import keys
from node.units import repository as units_repository
from node.units.service import enrol_child
from node.units.trust import revoke_child
from schemas.codes import check_code

app = typer.Typer(help="Enrol child nodes.", no_args_is_help=True)


def _code(value: str) -> str:
    try:
        return check_code(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _current_name(ctx: NodeContext, code: str) -> str:
    """A re-enrolled child keeps its name unless --name gives a new one."""
    with ctx.db.read() as conn:
        unit = units_repository.get_unit(conn, code)
    return str(unit.name) if unit is not None else ""


@app.command()
@node_command(exclude={"name"})  # --name names the child here; the node's own comes from config
def add(
    config: NodeConfig,
    code: Annotated[
        str, typer.Argument(metavar="CODE", help="The child unit's code.", callback=_code)
    ],
    name: Annotated[
        str, typer.Option(help="The child's display name (default: as before, else the code).")
    ] = "",
    host: HostOption = None,
    json: JsonOption = False,
) -> None:
    """Enrol a direct child unit and print its enrolment code (the last line of output).

    Run with the parent's configuration, whether or not the parent is serving.

    Enrolling a child again issues a new code and revokes the old one (and its key). The child
    exchanges the code once for the registration of its key; with --host, this node's CA
    (`tiersync ca init`) also issues the child its TLS certificate. The prefecture's hash
    key is printed too: the child needs it (TIERSYNC_HASH_KEY) to project its records.
    """
    settings = config.settings()
    with node_context(settings) as ctx:
        enrolled = enrol_child(
            ctx.db, node_code=settings.code, code=code, name=name or _current_name(ctx, code)
        )
    key = keys.hash_key(settings)
    issued = (
        issue_and_report(settings.data_dir, code, host, json, settings.crypto) if host else None
    )
    if json:
        tls_dir = {"tls_dir": str(issued.directory)} if issued else {}
        hash_key = {"hash_key": key.hex() if key else None}
        print_json({**enrolled.model_dump(mode="json"), **hash_key, **tls_dir})
        return
    unit = enrolled.unit
    level = LEVEL_LABELS.get(unit.level, unit.level)
    say(f"已登记下级{level} {unit.code}（{unit.name}），上级为 {settings.code}")
    if key is not None:  # the prefecture's, for the child's projections (node/privacy)
        say(f"州级哈希密钥（设为其 TIERSYNC_HASH_KEY）：{key.hex()}")
    say("其 TIERSYNC_PARENT_TOKEN（一次性注册码，仅此一次显示）：")
    say(enrolled.token)


@app.command()
@node_command()
def revoke(
    config: NodeConfig,
    code: Annotated[
        str, typer.Argument(metavar="CODE", help="The child unit's code.", callback=_code)
    ],
    json: JsonOption = False,
) -> None:
    """Revoke a child node: its key and code are refused from now on, and its own children
    are told it is no longer trusted. `child add` enrols it again."""
    settings = config.settings()
    with node_context(settings) as ctx:
        done = revoke_child(ctx.db, code)
    if not done:
        raise UsageError(f"{settings.code} 没有已登记的下级 {code}")
    if json:
        print_json({"child": code, "revoked": True})
        return
    say(f"已吊销下级节点 {code}：其密钥与注册码即刻失效，其下级将被告知。")
