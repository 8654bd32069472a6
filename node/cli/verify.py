"""`tiersync verify [--repair]`: compare this node's data with its parent's and its children's
reports by digests; exit 0 when all matches, 1 when differences remain."""

import asyncio
from typing import Annotated

import typer
from rich.tree import Tree

from node.cli.audit import ActorOption, actor_of, ops_errors
from node.cli.common import EXIT_FAILED, JsonOption, console, node_context, print_json
from node.cli.options import NodeConfig, node_command
from node.ops.actions import run_verify
from schemas.ops import VerifyReport

SHOWN = 20


ACTIONS = {"send": "上报", "fetch": "取回", "conflict": "编号冲突", "collected": "已被删除回收"}
CHILD_STATES = {
    "match": "[green]与其摘要报告一致[/]",
    "mismatch": "[red]与其摘要报告不一致：已要求其运行 tiersync verify --repair"
    "（随下次上报的确认下发）[/]",
    "unknown": "暂无法比对：尚无其最新的摘要报告（随其下次上报送来）",
}


def render(report: VerifyReport) -> Tree:
    verdict = "[green]全部一致[/]" if report.ok else "[red]发现不一致[/]"
    tree = Tree(f"核对 {report.node}：{verdict}（用时 {report.seconds:.2f} 秒）")
    link = report.parent
    if link is not None:
        up = tree.add(
            f"↑ 上级 {link.peer}：核对 {link.checked_kinds} 类记录，"
            f"{len(link.differences)} 处不一致；请求 {link.requests} 次，{link.bytes} 字节"
        )
        if link.scrubbed_rows:
            up.add(
                f"[yellow]{link.scrubbed_rows} 行摘要与本节点的记录不符（在 tiersync 之外被改动）："
                "已重新计算[/]"
            )
        for d in link.differences[:SHOWN]:
            action = ACTIONS.get(d.action, d.action)
            up.add(f"{d.kind} {d.id}：本节点 {d.here or '-'}，上级 {d.there or '-'} → {action}")
        if len(link.differences) > SHOWN:
            up.add(f"… 另有 {len(link.differences) - SHOWN} 处（--json 列出全部）")
        if link.sent or link.fetched:
            up.add(f"已修复：上报 {link.sent} 条，取回 {link.fetched} 条；仍有 {link.remaining} 处")
        if link.conflicts:
            up.add(
                f"{link.conflicts} 处编号冲突归属另一单位（见上级的 /api/v1/sync/conflicts）："
                "未移动；本节点的副本仍有效时，请删除或移动它（tiersync records move）"
            )
    for child in report.children:
        tree.add(f"↓ {child.code}：{CHILD_STATES.get(child.state, child.detail)}")
    for c in report.conflicts[:SHOWN]:
        tree.add(
            f"[red]{c.kind} {c.id}：在 {'、'.join(c.units)} 同时有效（写入节点 "
            f"{'、'.join(c.origins)}）— 删除或移动应去掉的那份，再重新写入另一份[/]"
        )
    figures = report.figures
    if figures is not None and (figures.cells or figures.grids or figures.visits):
        fixed = figures.repaired
        colour, what = ("green", "已重写") if fixed else ("red", "请运行 verify --repair")
        here = tree.add(
            f"[{colour}]统计数字与按记录重新计数的结果不符：{figures.cells} 个汇总格、"
            f"{figures.grids} 个网格的巡查统计、{figures.visits} 条巡查记录索引 — {what}[/]"
        )
        for cell in figures.examples[:SHOWN]:
            here.add(f"{cell.unit} {cell.kind}：显示 {cell.kept}，实数 {cell.counted}")
    return tree


@node_command()
def verify(
    config: NodeConfig,
    repair: Annotated[bool, typer.Option("--repair", help="Move what differs, both ways.")] = False,
    deep: Annotated[
        bool,
        typer.Option(
            "--deep",
            help="First re-derive the digests from the records (finds edits "
            "made behind tiersync's back; reads every record here).",
        ),
    ] = False,
    actor: ActorOption = None,
    json: JsonOption = False,
) -> None:
    """Compare this node's data with its parent's and its children's, by digests.

    Up: this node's subtree against the parent's copy of it (the parent is asked). Down: each
    child's subtree against that child's last digest report (sent with its pushes); a child
    that differs is asked, in its next push ack, to run verify itself. Here: the figures every
    view shows (the roll-ups) against a recount of the records (reads every record).

    Exit 0 when all matches (with --repair: once every difference is repaired), 1 when
    differences remain.
    """
    with node_context(config.settings()) as ctx, ops_errors():
        report = asyncio.run(run_verify(ctx, repair=repair, actor=actor_of(actor), deep=deep))
    if json:
        print_json(report)
    else:
        console.print(render(report))
    if not report.ok:
        raise typer.Exit(EXIT_FAILED)
