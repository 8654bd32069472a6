"""What the node's database and tasks say, read at each scrape (no counter kept in memory).

Everything `tiersync status` reports (node/ops/status.py) is read the same way here, so the
metrics and the exit code of `status` cannot disagree about a stale child or a failing link.
"""

import time
from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from federation.hlc import physical_ms
from node.context import NodeContext
from node.metrics.repository import database_bytes
from node.ops.status import node_status
from node.records import repository as records_repo
from schemas.ops import ChildStatus, StatusReport

CHILD = ["child"]


def _ts(at: datetime | None) -> float | None:
    return at.timestamp() if at is not None else None


class NodeCollector(Collector):
    def __init__(self, context: Callable[[], NodeContext | None]) -> None:
        self.context = context

    def describe(self) -> list[Metric]:
        return []  # read at scrape time: nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        ctx = self.context()
        if ctx is None:
            return
        now = time.time()
        report = node_status(ctx)
        with ctx.db.read() as conn:
            conflicts = records_repo.conflicts_count(conn)
            size = database_bytes(conn)
        yield from _node(report, conflicts=conflicts, size=size, now=now)
        if report.upstream is not None:
            yield from _upstream(report)
        yield from _children(report.children)


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def _node(report: StatusReport, *, conflicts: int, size: int, now: float) -> Iterator[Metric]:
    info = GaugeMetricFamily(
        "tiersync_node_info", "This node: code, name, level", labels=["code", "name", "level"]
    )
    info.add_metric([report.node, report.name, report.level], 1)
    yield info
    yield _gauge("tiersync_records", "Records held, tombstones included", report.records)
    yield _gauge(
        "tiersync_quarantined_records",
        "Records set aside with a reason (GET /api/v1/sync/quarantine)",
        report.quarantined,
    )
    yield _gauge(
        "tiersync_conflicts",
        "Versions that lost to a concurrent version of the same id (GET /api/v1/sync/conflicts)",
        conflicts,
    )
    yield _gauge("tiersync_database_size_bytes", "Size of the node's database", size)
    ahead = physical_ms(report.last_hlc) / 1000 - now if report.last_hlc else 0.0
    yield _gauge(
        "tiersync_clock_ahead_seconds",
        "How far this node's hybrid clock runs ahead of its wall clock (0 when not): a version "
        "stamped in the future, by this node or one below, drags it",
        max(0.0, ahead),
    )
    yield _gauge("tiersync_problems", "Problems `tiersync status` reports", len(report.problems))


def _upstream(report: StatusReport) -> Iterator[Metric]:
    up = report.upstream
    assert up is not None
    yield _gauge(
        "tiersync_uplink_pending_changes",
        "Changes made in this subtree that the parent has not acknowledged",
        up.pending,
    )
    yield _gauge("tiersync_uplink_acked_cursor", "Log position the parent acknowledged", up.acked)
    last = _ts(up.last_push_at)
    if last is not None:
        yield _gauge(
            "tiersync_uplink_last_push_timestamp_seconds",
            "When the parent last acknowledged a push (heartbeats included)",
            last,
        )
    yield _gauge(
        "tiersync_uplink_failing",
        "1 while the link to the parent is failing (its last push ended in an error)",
        1 if up.last_error else 0,
    )
    yield _gauge(
        "tiersync_bundles_awaiting_receipt",
        "Offline bundles exported and not yet acknowledged by a receipt",
        up.bundles_awaiting_receipt,
    )


def _children(children: list[ChildStatus]) -> Iterator[Metric]:
    watched = [c for c in children if c.enrolled and not c.revoked]  # units with a node
    info = GaugeMetricFamily(
        "tiersync_child_info", "A child node: code, name, level", labels=[*CHILD, "name", "level"]
    )
    contact = GaugeMetricFamily(
        "tiersync_child_last_contact_timestamp_seconds",
        "When the child last pushed (heartbeats included)",
        labels=CHILD,
    )
    silent = GaugeMetricFamily(
        "tiersync_child_silent_seconds",
        "Seconds since the child last pushed (absent if it never has)",
        labels=CHILD,
    )
    lag_s = GaugeMetricFamily(
        "tiersync_child_lag_seconds",
        "How much of the child's log (in its clock's seconds) this node does not hold yet",
        labels=CHILD,
    )
    lag_n = GaugeMetricFamily(
        "tiersync_child_lag_records",
        "Changes of the child not held here: 0 when caught up (absent when unknown)",
        labels=CHILD,
    )
    cursor = GaugeMetricFamily(
        "tiersync_child_cursor", "Child log position this node has applied up to", labels=CHILD
    )
    stale = GaugeMetricFamily(
        "tiersync_child_stale",
        "1 when the child has been silent longer than TIERSYNC_STALE_AFTER_S (or never pushed)",
        labels=CHILD,
    )
    mismatch = GaugeMetricFamily(
        "tiersync_child_digest_mismatch",
        "1 when the child's digest report differs from this node's copy",
        labels=CHILD,
    )
    received = CounterMetricFamily(
        "tiersync_child_records_received",
        "Record versions received from the child",
        labels=CHILD,
    )
    for c in watched:
        key = [c.code]
        info.add_metric([c.code, c.name, c.level], 1)
        cursor.add_metric(key, c.cursor)
        stale.add_metric(key, 1 if c.stale else 0)
        mismatch.add_metric(key, 1 if c.digest == "mismatch" else 0)
        received.add_metric(key, c.records_received)
        if c.last_contact is not None:
            contact.add_metric(key, c.last_contact.timestamp())
        if c.lag_seconds is not None:
            silent.add_metric(key, c.lag_seconds)
        if c.log_lag_ms is not None:
            lag_s.add_metric(key, c.log_lag_ms / 1000)
        if c.lag_changes is not None:
            lag_n.add_metric(key, c.lag_changes)
    yield from (info, contact, silent, lag_s, lag_n, cursor, stale, mismatch, received)
