"""`tiersync status`: this node's link up and every unit below it, as a tree (reads the DB)."""

from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.markup import escape
from rich.text import Text
from rich.tree import Tree
from sqlalchemy.exc import OperationalError

from node.cli.common import EXIT_FAILED, JsonOption, console, node_context, print_json
from node.cli.options import NodeConfig, node_command
from node.ops.status import node_status, published_tasks, task_problems
from schemas.ops import ChildStatus, StatusReport, TasksStatus, TaskStatus, UpstreamStatus


def _ago(at: datetime | None) -> str:
    if at is None:
        return "never"
    seconds = (datetime.now(UTC) - at).total_seconds()
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit} ago"
    return f"{seconds:.0f} s ago"


def _upstream(up: UpstreamStatus) -> str:
    line = (
        f"[bold]↑ parent[/] {up.parent_url}: last push {_ago(up.last_push_at)}, "
        f"acked {up.acked}, pending {up.pending}"
    )
    line += ", signed with this node's key" if up.link == 2 else ", bearer token (link 1)"
    if up.bundles_awaiting_receipt:
        line += f", {up.bundles_awaiting_receipt} bundle(s) awaiting a receipt"
    if up.directive_signatures == "required":
        line += "\n  directives: only those signed by an ancestor (key certified by the CA)"
    else:
        line += "\n  directives: signatures not checked (no CA here: unsigned accepted)"
    if up.directives_refused:
        last = up.directive_refused_last
        line += f"\n  [red]{up.directives_refused} directive(s) refused, last: {last}[/]"
    if up.last_error:
        line += f"\n  [red]last error ({_ago(up.last_error_at)}): {up.last_error}[/]"
    return line


def _child(c: ChildStatus) -> str:
    lag = "caught up" if c.lag_changes == 0 else "behind" if c.last_contact else "never pushed"
    if c.log_lag_ms:
        lag += f" ({c.log_lag_ms / 1000:.1f} s of its log not held)"
    flags = []
    if c.stale:
        flags.append("[yellow]STALE[/]")
    if c.revoked:
        flags.append("[red]revoked[/]")
    if c.link == 1:
        flags.append("[yellow]link 1: today's release (bearer token), not upgraded yet[/]")
    elif c.link == 2:
        flags.append("link 2: signed" + ("，密钥经 CA 证明" if c.key_certified else ""))
    if c.clock_ahead:
        flags.append("[red]时钟超前：其版本被隔离[/]")
    flags.append(SEAL_LABELS.get(c.origin_seals, c.origin_seals))
    if c.seals_unchecked:
        flags.append(f"[yellow]{c.seals_unchecked} 条记录无来源签名，未验证（旧版本节点）[/]")
    if c.seals_refused:
        last = escape(c.seal_refused_last or "")
        flags.append(f"[red]{c.seals_refused} 条记录来源签名不符，已隔离；最近一条：{last}[/]")
    if c.digest == "mismatch":
        flags.append("[red]digest differs: verify requested[/]")
    elif c.digest == "match":
        flags.append("[green]digest match[/]")
    head = f"[bold]{c.code}[/] {c.name} ({c.level})"
    body = (
        f"last contact {_ago(c.last_contact)}, {lag}, {c.records_received} records "
        f"received, cursor {c.cursor}"
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
        f"[bold]{report.name}[/] ({report.node}, {report.level}): {report.records} "
        f"records held, {report.quarantined} quarantined, clock {report.last_hlc}"
    )
    tree.add(
        f"🗑 删除标记：保留 {report.tombstones} 条，已回收 {report.tombstones_collected} 条"
        "（各上级均已持有后回收）"
    )
    if report.upstream is not None:
        tree.add(_upstream(report.upstream))
    else:
        tree.add("↑ no parent: this node is the top")
    below = tree.add(f"↓ {len(report.children)} child node(s)")
    for child in report.children:
        below.add(_child(child))
    tasks = tree.add(_tasks(report.tasks))
    if report.tasks is not None and report.tasks.serving:
        for task in report.tasks.tasks:
            tasks.add(_task(task))
    if report.problems:
        trouble = tree.add(f"[red bold]{len(report.problems)} problem(s)[/]")
        for problem in report.problems:
            trouble.add(Text(problem, style="red"))
    else:
        tree.add("[green]healthy[/]")
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
