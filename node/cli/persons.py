"""`tiersync persons ...`: questions about residents answered by keyed hashes (node/privacy)."""

from typing import Annotated

import typer

from node.cli.common import JsonOption, node_context, print_json, say
from node.cli.options import NodeConfig, node_command
from node.privacy import duplicates as finder
from schemas.codes import check_code, is_within

app = typer.Typer(help="Residents: duplicate registrations across villages.", no_args_is_help=True)


def _code(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return check_code(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@app.command()
@node_command()
def duplicates(
    config: NodeConfig,
    unit: Annotated[
        str | None,
        typer.Option(help="Look in this unit's subtree (default: the node's own).", callback=_code),
    ] = None,
    json: JsonOption = False,
) -> None:
    """List people registered in two or more villages (same ID number, found by its keyed
    hash: the number itself is never shown)."""
    settings = config.settings()
    root = unit or settings.code
    if not is_within(root, settings.code):
        raise typer.BadParameter(f"{root} 不在本节点（{settings.code}）辖区内")
    with node_context(settings, writable=False) as ctx:
        found = finder.find(ctx.db, root=root)
    if json:
        print_json(found)
        return
    if not found:
        say(f"{root} 辖区内未发现在两个及以上村重复登记的人员。")
        return
    say(f"{root} 辖区内有 {len(found)} 人在两个及以上村登记（按身份证号的密钥哈希比对）：")
    for number, dup in enumerate(found, 1):
        places = "、".join(
            f"{r.name or r.village}（{r.unit}，记录 {r.record_id}）" for r in dup.registrations
        )
        say(f"{number}. 身份证号哈希 {dup.id_hash[2:14]}…：{places}")
