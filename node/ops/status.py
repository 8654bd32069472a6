"""`tiersync status`: this node's link up and every unit below it, read from its database."""

from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from federation.hlc import issue_ahead_ms, physical_ms
from federation.identity import Identity
from federation.signing import LINK_SIGNED, LINK_TOKEN
from node.bundles import repository as bundles_repo
from node.context import NodeContext
from node.db import as_utc
from node.digests import repository as digests_repo
from node.directives import repository as directives_repo
from node.directives.seals import trusted_ca_of
from node.errors import ClockBehind
from node.models import NodeState, table
from node.origins import repository as origins_repo
from node.records import horizons
from node.records import repository as records_repo
from node.supervisor import TASKS_FILE, TaskState, problems, read_published
from node.sync import repository as sync_repo
from node.sync.outbox import pending
from node.sync.receive import CLOCK_AHEAD
from node.units import keys as descendant_keys
from node.units import repository as units_repo
from node.units.trust import link_of
from schemas.codes import NODE_LEVELS, level_of
from schemas.ops import ChildStatus, StatusReport, TasksStatus, TaskStatus, UpstreamStatus


def node_status(ctx: NodeContext, *, now: datetime | None = None) -> StatusReport:
    now = now or datetime.now(UTC)
    settings = ctx.settings
    with ctx.db.read() as conn:
        last_hlc = int(conn.execute(select(table(NodeState).c.last_hlc)).scalar() or 0)
        count = records_repo.count(conn)
        upstream = _upstream(ctx, conn) if settings.parent_url else None
        children = _children(ctx, conn, now)
        quarantined = sync_repo.quarantined_count(conn)
        tombstones = horizons.tombstones_held(conn), horizons.collected_total(conn)
        own = units_repo.get_unit(conn, settings.code)
    tasks = _tasks(ctx, now)
    ahead_ms = issue_ahead_ms(last_hlc, ctx.db.clock(), ctx.db.max_skew_ms)
    problems = [
        *_clock_problems(ahead_ms, ctx.db.max_skew_ms),
        *_link_problems(upstream),
        *_child_problems(children),
        *_quarantine_problems(quarantined),
        *task_problems(tasks, now),
    ]
    return StatusReport(
        node=settings.code,
        name=own.name if own is not None else settings.name,  # as registered, not as configured
        level=str(settings.node_level),
        last_hlc=last_hlc,
        records=count,
        quarantined=quarantined,
        tombstones=tombstones[0],
        tombstones_collected=tombstones[1],
        writes_refused_s=-(-ahead_ms // 1000),
        upstream=upstream,
        children=children,
        tasks=tasks,
        ok=not problems,
        problems=problems,
    )


# What counts as trouble: each kind in one place, so cron and monitoring get one exit code.


def _clock_problems(ahead_ms: int, max_skew_ms: int) -> list[str]:
    if not ahead_ms:
        return []
    return [ClockBehind(ahead_ms=ahead_ms, max_skew_ms=max_skew_ms).message]


def _link_problems(up: UpstreamStatus | None) -> list[str]:
    # The replicator clears last_error on the next successful push.
    if up is None:
        return []
    out = [f"本节点已被上级吊销：{up.revoked}"] if up.revoked else []
    if up.last_error:
        out.append(f"与上级 {up.parent_url} 的连接出错：{up.last_error}")
    return out


def _seal_state(row: Any, ca_here: bool) -> str:
    if row is None:
        return "unknown"
    if not row.sends:
        return "not sent"
    return "checked" if ca_here else "not checked"


def _child_problems(children: list[ChildStatus]) -> list[str]:
    out = []
    for child in children:
        if child.seals_refused:
            out.append(
                f"下级 {child.code}（{child.name}）：{child.seals_refused} 条记录来源签名不符，"
                f"已隔离；最近一条：{child.seal_refused_last}"
            )
        if child.clock_ahead:
            out.append(
                f"下级 {child.code}（{child.name}）发来的版本超前于本节点时钟（已隔离）：其时钟有误"
            )
        # A unit without a node (a village its township keeps) never pushes: not a problem.
        if not child.enrolled or child.revoked or not child.stale:
            continue
        if child.last_contact is None:
            out.append(f"下级 {child.code}（{child.name}）从未上报")
        else:
            silent = f"{(child.lag_seconds or 0) / 3600:.1f} 小时"
            out.append(f"下级 {child.code}（{child.name}）数据过期：已 {silent} 未上报")
    return out


def _quarantine_problems(quarantined: int) -> list[str]:
    if not quarantined:
        return []
    return [
        f"{quarantined} 条记录被隔离（`tiersync quarantine list` 列出，"
        "`tiersync quarantine retry` 重新应用）"
    ]


def task_problems(tasks: TasksStatus | None, now: datetime) -> list[str]:
    """Background tasks of the serving node that are dead or failing (what /readyz refuses
    for); a node that is not serving has no task to worry about."""
    if tasks is None or not tasks.serving:
        return []
    states = [TaskState(**t.model_dump(exclude={"failing_s"})) for t in tasks.tasks]
    return [*problems(states, now=now, unready_after_s=tasks.unready_after_s), *tasks.notes]


def _tasks(ctx: NodeContext, now: datetime) -> TasksStatus | None:
    return published_tasks(ctx.settings.data_dir, now)


def published_tasks(data_dir: Path, now: datetime) -> TasksStatus | None:
    """What the serving node's supervisor last published (node/supervisor.py): also readable
    when its database is not."""
    published = read_published(data_dir / TASKS_FILE)
    if published is None:
        return None
    return TasksStatus(
        serving=published.fresh(now) and any(t.state != "stopped" for t in published.tasks),
        published_at=published.written_at,
        unready_after_s=published.unready_after_s,
        notes=list(published.notes),
        tasks=[
            TaskStatus(
                **asdict(t),
                failing_s=(now - t.failing_since).total_seconds() if t.failing_since else None,
            )
            for t in published.tasks
        ],
    )


def _upstream(ctx: NodeContext, conn: Connection) -> UpstreamStatus:
    row = sync_repo.get_upstream(conn)
    acked = int(row.acked_seq) if row else 0
    identity = Identity.of(ctx.settings.data_dir, ctx.settings.crypto)
    revoked = identity.revoked()
    pull = directives_repo.get_pull(conn)
    return UpstreamStatus(
        parent_url=ctx.settings.parent_url,
        acked=acked,
        durable=int(row.durable_seq) if row else 0,
        last_push_at=as_utc(row.last_push_at) if row else None,
        pending=pending(conn, root=ctx.settings.code, after=acked),
        last_error=row.last_error if row else None,
        last_error_at=as_utc(row.last_error_at) if row else None,
        bundles_awaiting_receipt=len(bundles_repo.pending_exports(conn)),
        link=LINK_SIGNED if identity.registered_with(ctx.settings.parent_token) else LINK_TOKEN,
        revoked=(revoked or {}).get("reason"),
        directive_signatures="required" if trusted_ca_of(ctx) is not None else "not checked",
        directives_refused=int(pull.refused) if pull is not None else 0,
        directive_refused_last=pull.last_refused if pull is not None else None,
    )


def _children(ctx: NodeContext, conn: Connection, now: datetime) -> list[ChildStatus]:
    code = ctx.settings.code
    names = {
        c: n for c, n in units_repo.child_names(conn, code).items() if level_of(c) in NODE_LEVELS
    }
    syncs = {r.code: r for r in sync_repo.children_sync(conn)}
    reports = digests_repo.all_reports(conn)
    ahead = sync_repo.children_quarantined_for(conn, CLOCK_AHEAD)
    certified = {r.code for r in descendant_keys.known_keys(conn) if r.certified}
    seals = origins_repo.all_child_states(conn)
    ca_here = trusted_ca_of(ctx) is not None
    out: list[ChildStatus] = []
    for child in sorted(set(names) | set(syncs)):
        cred = units_repo.get_credential(conn, child)
        sync, report = syncs.get(child), reports.get(child)
        sealed = seals.get(child)
        last = as_utc(sync.last_push_at) if sync else None
        lag_s = (now - last).total_seconds() if last else None
        cursor = int(sync.cursor) if sync else 0
        lag_changes, log_lag = None, None
        if report is not None and report.head:
            lag_changes = 0 if report.until >= report.head and cursor >= report.head else None
            log_lag = max(0, physical_ms(int(report.head)) - physical_ms(cursor))
        digest = "unknown"
        if report is not None and report.matches is not None:
            digest = "match" if report.matches else "mismatch"
        out.append(
            ChildStatus(
                code=child,
                name=names.get(child, child),
                level=str(level_of(child)),
                enrolled=cred is not None,
                revoked=bool(cred and cred.revoked),
                last_contact=last,
                cursor=cursor,
                records_received=int(sync.records_received) if sync else 0,
                lag_changes=lag_changes,
                lag_seconds=lag_s,
                log_lag_ms=log_lag,
                stale=lag_s is None or lag_s > ctx.settings.stale_after_s,
                digest=digest,
                verify_requested=bool(report and report.verify_requested),
                link=link_of(cred) if cred is not None else None,
                clock_ahead=child in ahead,
                key_certified=child in certified,
                origin_seals=_seal_state(sealed, ca_here),
                seals_refused=int(sealed.refused) if sealed else 0,
                seal_refused_last=sealed.last_refused if sealed else None,
                seals_unchecked=int(sealed.unchecked) if sealed else 0,
            )
        )
    return out
