"""`tiersync seed`: write the article's dataset for this node's subtree (node/seed)."""

import urllib.error
from typing import Annotated

import typer

from node.cli.common import CliError, JsonOption, node_context, print_json, say, warn
from node.cli.options import NodeConfig, node_command
from node.seed import PROFILES
from node.seed.load import seed_local, seed_remote


def _profile(value: str) -> str:
    if value not in PROFILES:
        raise typer.BadParameter(f"未知的数据集 {value!r}：可选 {'、'.join(PROFILES)}")
    return value


@node_command()
def seed(
    config: NodeConfig,
    profile: Annotated[
        str,
        typer.Option(
            help="demo (small, the article's units) or huangnan (the whole prefecture).",
            callback=_profile,
        ),
    ] = "demo",
    seed_number: Annotated[int, typer.Option("--seed", help="Seed of the generated data.")] = 1,
    url: Annotated[
        str | None,
        typer.Option(help="A running node's base URL; default: this node's own database."),
    ] = None,
    json: JsonOption = False,
) -> None:
    """Generate the profile's records of this node's subtree and store them through bulk writes.

    Deterministic: the same profile and seed give the same records (ids included) on the same
    day, so running it again replaces rather than duplicates. Exit code 1 if any was rejected.
    """
    if url:
        target = url
        try:
            accepted, rejected = seed_remote(url, profile, seed_number)
        except (urllib.error.URLError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc) or exc.__class__.__name__
            raise CliError(
                f"{url} 的节点没有应答（{reason}）：请检查该节点是否在运行、地址是否正确"
            ) from None
    else:
        settings = config.settings()
        target = f"节点 {settings.code}"
        with node_context(settings) as ctx:
            accepted, rejected = seed_local(ctx, profile, seed_number)
    if json:
        print_json(
            {
                "target": target,
                "profile": profile,
                "seed": seed_number,
                "accepted": accepted,
                "rejected": rejected,
            }
        )
    else:
        for line in rejected[:20]:
            warn(f"拒收：{line}")
        say(f"{target}：已存入数据集 {profile} 的 {accepted:,} 条记录（种子 {seed_number}）")
    if rejected:
        raise typer.Exit(1)
