"""`tiersync quarantine list|retry|release`: records a parent set aside, and what to do next."""

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from node.cli.audit import ActorOption, actor_of
from node.cli.common import JsonOption, console, node_context, print_json, report, say
from node.cli.options import NodeConfig, node_command
from node.sync import quarantine
from node.sync.receive import receiver

app = typer.Typer(help="Records set aside by this node, with their reason.", no_args_is_help=True)


@app.command("list")
@node_command()
def list_(
    config: NodeConfig,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 100,
    offset: Annotated[int, typer.Option(min=0, help="Skip the newest this many.")] = 0,
    json: JsonOption = False,
) -> None:
    """List quarantined records, newest first (their data is not shown)."""
    with node_context(config.settings(), writable=False) as ctx:
        items = quarantine.list_entries(ctx.db, offset=offset, limit=limit)
        total = quarantine.count(ctx.db)
    if json:
        print_json({"total": total, "items": items})
        return
    if not items:
        say("隔离区为空：没有被搁置的记录")
        return
    table = Table("编号", "来自", "记录", "类型", "版本", "原因", "时间")
    for i in items:
        table.add_row(
            str(i["id"]),
            i["child"],
            i["record_id"],
            escape(i["kind"]),
            escape(i["version"]),
            escape(i["reason"]),
            i["at"].strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)
    say(f"共 {total} 条被隔离的记录（显示 {len(items)} 条）")


@app.command("retry")
@node_command()
def retry(
    config: NodeConfig,
    ids: Annotated[
        list[int] | None, typer.Argument(help="Entries to retry (default: all).")
    ] = None,
    json: JsonOption = False,
) -> None:
    """Apply quarantined records again (after an upgrade, or once their cause is fixed).

    Exit 0 when the quarantine is empty afterwards, 1 while entries remain."""
    with node_context(config.settings()) as ctx:
        result = receiver(ctx).retry_quarantined(ids or None)
    if json:
        print_json(
            {
                "tried": result.tried,
                "applied": result.applied,
                "stale": result.stale,
                "left": result.left,
            }
        )
    else:
        say(
            f"重新处理 {result.tried} 条：写入 {result.applied} 条，已有更新版本 "
            f"{result.stale} 条，仍在隔离区 {result.left} 条"
        )
    if result.left:
        raise typer.Exit(1)


@app.command("release")
@node_command()
def release(
    config: NodeConfig,
    ids: Annotated[list[int], typer.Argument(help="Entries to drop for good.")],
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Drop deletions held as `clock ahead` too (the record then stays alive above).",
        ),
    ] = False,
    actor: ActorOption = None,
    json: JsonOption = False,
) -> None:
    """Drop quarantined entries that will never apply (recorded in the audit log).

    A deletion held as `clock ahead` is kept (it applies once this node's clock reaches it)
    unless --force: exit 1 when any entry was kept."""
    with node_context(config.settings()) as ctx:
        result = quarantine.release(ctx.db, ids=ids, actor=actor_of(actor), force=force)
    kept = ", ".join(map(str, result.kept[:20]))
    report(
        json,
        {"released": result.dropped, "kept": result.kept},
        f"已从隔离区移除 {result.dropped} 条记录（已记入审计日志）",
        f"保留 {len(result.kept)} 条因时钟超前而隔离的删除（编号 {kept}）：本节点时钟到达其版本时"
        "会自动应用；移除会使该记录在本级及上级永远保持存在。确需移除请加 --force"
        if result.kept
        else None,
    )
    if result.kept:
        raise typer.Exit(1)
