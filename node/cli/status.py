"""`tiersync status`: this node's link up and every unit below it, as a tree (reads the DB)."""

from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.markup import escape
from rich.text import Text
from rich.tree import Tree
from sqlalchemy.exc import OperationalError

from node.cli.common import (
    EXIT_FAILED,
    LEVEL_LABELS,
    JsonOption,
    console,
    node_context,
    print_json,
)
from node.cli.options import NodeConfig, node_command
from node.ops.status import node_status, published_tasks, task_problems
from schemas.ops import ChildStatus, StatusReport, TasksStatus, TaskStatus, UpstreamStatus


def _ago(at: datetime | None) -> str:
    if at is None:
        return "从未"
    return _duration((datetime.now(UTC) - at).total_seconds()) + "前"


def _upstream(up: UpstreamStatus) -> str:
    line = (
        f"[bold]↑ 上级[/] {up.parent_url}：最近上报 {_ago(up.last_push_at)}，"
        f"已确认至 {up.acked}，待上报 {up.pending} 条"
    )
    line += "，以本节点密钥签名" if up.link == 2 else "，令牌认证（第 1 版链路）"
    if up.bundles_awaiting_receipt:
        line += f"，{up.bundles_awaiting_receipt} 个离线包待回执"
    if up.directive_signatures == "required":
        line += "\n  指令：只接受上级签名的指令（密钥经 CA 证明）"
    else:
        line += "\n  指令：未校验签名（本节点无 CA，未签名的也接受）"
    if up.directives_refused:
        last = up.directive_refused_last
        line += f"\n  [red]已拒收 {up.directives_refused} 条指令，最近：{last}[/]"
    if up.last_error:
        line += f"\n  [red]最近错误（{_ago(up.last_error_at)}）：{up.last_error}[/]"
    return line


def _child(c: ChildStatus) -> str:
    lag = "已同步" if c.lag_changes == 0 else "落后" if c.last_contact else "从未上报"
    if c.log_lag_ms:
        lag += f"（其日志有 {c.log_lag_ms / 1000:.1f} 秒未到达本节点）"
    flags = []
    if c.stale:
        flags.append("[yellow]数据过期[/]")
    if c.revoked:
        flags.append("[red]已吊销[/]")
    if c.link == 1:
        flags.append("[yellow]第 1 版链路：旧版本（令牌认证），尚未升级[/]")
    elif c.link == 2:
        flags.append("第 2 版链路：已签名" + ("，密钥经 CA 证明" if c.key_certified else ""))
    if c.clock_ahead:
        flags.append("[red]时钟超前：其版本被隔离[/]")
    if c.enrolled or c.origin_seals != "unknown":  # a unit without a node pushes nothing
        flags.append(SEAL_LABELS.get(c.origin_seals, c.origin_seals))
    if c.seals_unchecked:
        flags.append(f"[yellow]{c.seals_unchecked} 条记录无来源签名，未验证（旧版本节点）[/]")
    if c.seals_refused:
        last = escape(c.seal_refused_last or "")
        flags.append(f"[red]{c.seals_refused} 条记录来源签名不符，已隔离；最近一条：{last}[/]")
    if c.digest == "mismatch":
        flags.append("[red]摘要不一致：已请求核对[/]")
    elif c.digest == "match":
        flags.append("[green]摘要一致[/]")
    head = f"[bold]{c.code}[/] {c.name}（{LEVEL_LABELS.get(c.level, c.level)}）"
    body = (
        f"最近联系 {_ago(c.last_contact)}，{lag}，已收到 {c.records_received} 条记录，"
        f"游标 {c.cursor}"
    )
    return f"{head}: {body}" + (" " + " ".join(flags) if flags else "")


SEAL_LABELS = {
    "checked": "来源签名：已验证（CA 证明的密钥）",
    "not checked": "来源签名：未检查（本节点没有 CA）",
    "not sent": "[yellow]来源签名：未发送（旧版本，未验证）[/]",
    "unknown": "来源签名：尚无推送",
}

STATE_LABELS = {
    "running": "运行中",
    "failing": "出错重试中",
    "dead": "已停止工作",
    "stopped": "已停止",
}


def _duration(seconds: float) -> str:
    for size, unit in ((86400, "天"), (3600, "小时"), (60, "分钟")):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} 秒"


def _task(t: TaskStatus) -> str:
    label = STATE_LABELS[t.state]
    style = {"running": "green", "failing": "yellow", "dead": "red"}.get(t.state, "dim")
    line = f"{t.name}：[{style}]{label}[/]"
    if t.failing_s is not None:
        line += f"，已持续 {_duration(t.failing_s)}"
    if t.restarts:
        line += f"，重启 {t.restarts} 次"
    if t.last_error and t.state != "running":
        line += f"\n  最近错误：{escape(t.last_error)}"
    return line


def _tasks(tasks: TasksStatus | None) -> str:
    if tasks is None:
        return "⚙ 后台任务：本节点尚未运行过"
    if not tasks.serving:
        return "⚙ 后台任务：节点未在运行"
    return f"⚙ 后台任务（{len(tasks.tasks)} 个）"


def render(report: StatusReport) -> Tree:
    tree = Tree(
        f"[bold]{report.name}[/]（{report.node}，{LEVEL_LABELS.get(report.level, report.level)}）："
        f"持有 {report.records} 条记录，隔离 {report.quarantined} 条，时钟 {report.last_hlc}"
    )
    tree.add(
        f"🗑 删除标记：保留 {report.tombstones} 条，已回收 {report.tombstones_collected} 条"
        "（各上级均已持有后回收）"
    )
    if report.upstream is not None:
        tree.add(_upstream(report.upstream))
    else:
        tree.add("↑ 无上级：本节点为最高级")
    below = tree.add(f"↓ 下级节点 {len(report.children)} 个")
    for child in report.children:
        below.add(_child(child))
    tasks = tree.add(_tasks(report.tasks))
    if report.tasks is not None and report.tasks.serving:
        for task in report.tasks.tasks:
            tasks.add(_task(task))
    if report.problems:
        trouble = tree.add(f"[red bold]{len(report.problems)} 个问题[/]")
        for problem in report.problems:
            trouble.add(Text(problem, style="red"))
    else:
        tree.add("[green]运行正常[/]")
    return tree


def _published_only(data_dir: Path, json: bool) -> None:
    """The serving node's task states when its database cannot be read (it is locked, gone,
    refusing connections): they say which task fails and for how long."""
    now = datetime.now(UTC)
    tasks = published_tasks(data_dir, now)
    if tasks is None or not tasks.serving:
        return
    problems = task_problems(tasks, now)
    if json:
        print_json({"ok": False, "problems": problems, "tasks": tasks.model_dump(mode="json")})
        return
    tree = Tree(f"⚙ 数据库无法读取；运行中节点发布的后台任务（{len(tasks.tasks)} 个）")
    for task in tasks.tasks:
        tree.add(_task(task))
    for problem in problems:
        tree.add(Text(problem, style="red"))
    console.print(tree)


@node_command()
def status(config: NodeConfig, json: JsonOption = False) -> None:
    """Show this node's link up and every unit below it.

    Up: last push, acked cursor, pending changes, last error, bundles awaiting a receipt.
    Below: last contact, lag, stale flag and digest check of each child node. Reads the
    database (and changes nothing), so it works whether or not the node is running.

    Exit 0 when healthy, 1 on trouble (a stale child, a failing link to the parent,
    quarantined records, a background task of the serving node dead or failing): fit for
    cron and monitoring. `--json` lists them under `problems`.
    """
    settings = config.settings()
    try:
        with node_context(settings, writable=False) as ctx:
            report = node_status(ctx)
    except OperationalError:  # the database cannot be read: what the node published can
        _published_only(settings.data_dir, json)
        raise
    if json:
        print_json(report)
    else:
        console.print(render(report))
    if not report.ok:
        raise typer.Exit(EXIT_FAILED)
