"""GET /metrics after a real push between two in-process nodes: names, labels and values."""

import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.access_support import bearer, grant
from tests.cluster import Cluster, LinkDown
from tests.conftest import TOWNSHIP, VILLAGE
from tests.factories import household, person
from tests.metrics_support import scrape, value


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[Cluster]:
    cluster = Cluster(tmp_path)
    await cluster.add(TOWNSHIP, "Kangyang Town")
    await cluster.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
    yield cluster
    await cluster.close()


async def test_a_push_shows_at_both_ends(pair: Cluster) -> None:
    village, township = pair.nodes[VILLAGE], pair.nodes[TOWNSHIP]
    for body in (person(), person(), household()):
        await village.write(body)
    before, _ = await scrape(village.client)
    assert value(before, "tiersync_uplink_pending_changes") == 3 + 1  # 3 records, its own unit

    pushed = await village.replicator.run_once()
    assert pushed == 3
    await township.summary()  # one view served: its latency is measured

    ours, _ = await scrape(village.client)
    assert value(ours, "tiersync_uplink_pending_changes") == 0
    assert value(ours, "tiersync_uplink_requests_total", operation="push") == 1
    assert value(ours, "tiersync_uplink_request_duration_seconds_count", operation="push") == 1
    sent = value(ours, "tiersync_uplink_bytes_total", operation="push", direction="sent")
    assert sent is not None and sent > 100
    assert value(ours, "tiersync_uplink_failing") == 0
    last_push = value(ours, "tiersync_uplink_last_push_timestamp_seconds")
    assert last_push is not None and abs(last_push - time.time()) < 60
    acked = value(ours, "tiersync_uplink_acked_cursor")
    assert acked is not None and acked > 0
    assert value(ours, "tiersync_node_info", code=VILLAGE, name="Dongmen Village", level="village")

    theirs, _ = await scrape(township.client)
    assert value(theirs, "tiersync_child_records_received_total", child=VILLAGE) == 3
    assert value(theirs, "tiersync_child_cursor", child=VILLAGE) == acked
    assert value(theirs, "tiersync_child_stale", child=VILLAGE) == 0
    assert value(theirs, "tiersync_child_lag_records", child=VILLAGE) == 0
    contact = value(theirs, "tiersync_child_last_contact_timestamp_seconds", child=VILLAGE)
    assert contact is not None and abs(contact - time.time()) < 60
    push = {"route": "/api/v1/sync/push"}
    assert value(theirs, "tiersync_http_requests_total", method="POST", status=200, **push) == 1
    received = value(theirs, "tiersync_http_request_bytes_total", **push)
    assert received == sent  # the same bytes, seen from both ends
    views = value(
        theirs, "tiersync_http_request_duration_seconds_count", route="/api/v1/views/summary"
    )
    assert views == 1
    assert value(theirs, "tiersync_records") == 3
    size = value(theirs, "tiersync_database_size_bytes")
    assert size is not None and size > 10_000
    assert value(theirs, "tiersync_quarantined_records") == 0
    assert value(theirs, "tiersync_conflicts") == 0
    # Each app has its own registry: the township has no link up, the village no children.
    assert value(theirs, "tiersync_uplink_requests_total", operation="push") is None
    assert not any(name.startswith("tiersync_child_") for name, _ in ours)


async def test_link_errors_are_counted_by_kind(pair: Cluster) -> None:
    village = pair.nodes[VILLAGE]
    await village.write(person())
    pair.router.down.add(TOWNSHIP)
    with pytest.raises(Exception) as failed:
        await village.replicator.run_once()
    assert isinstance(failed.value.__cause__, LinkDown)
    samples, _ = await scrape(village.client)
    assert value(samples, "tiersync_uplink_errors_total", operation="push", kind="connect") == 1
    assert value(samples, "tiersync_uplink_requests_total", operation="push") == 1
    assert value(samples, "tiersync_uplink_pending_changes") == 2


async def test_metrics_need_their_right_and_the_metrics_role_has_only_that(pair: Cluster) -> None:
    township = pair.nodes[TOWNSHIP]
    db = township.ctx.db
    anonymous = await township.client.get("/metrics", headers={"Authorization": ""})
    assert anonymous.status_code == 401
    viewer = bearer(grant(db, TOWNSHIP, "viewer", name="a-viewer"))
    assert (await township.client.get("/metrics", headers=viewer)).status_code == 403
    prometheus = bearer(grant(db, TOWNSHIP, "metrics", name="prometheus"))
    samples, _ = await scrape(township.client, **prometheus)
    assert value(samples, "tiersync_child_stale", child=VILLAGE) == 1  # never pushed
    records = await township.client.get("/api/v1/records", headers=prometheus)
    assert records.status_code == 403


ROOT = Path(__file__).resolve().parent.parent
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
OPERATIONS = ROOT / "docs" / "operations.md"
PROMQL_WORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "sum", "min", "max", "avg", "count", "rate", "irate", "increase", "delta", "deriv",
    "time", "histogram_quantile", "min_over_time", "max_over_time", "absent", "e", "inf",
}  # fmt: skip
PROMETHEUS_OWN = {"up"}  # series Prometheus itself records for every scrape


def names_in(expr: str) -> set[str]:
    """The metric names an expression reads: label matchers, groupings, ranges and strings
    taken out, then every identifier that is not PromQL's own."""
    expr = re.sub(r'"[^"]*"', "", expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    return {w for w in re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", expr)} - PROMQL_WORDS


def exported(families: dict[str, str]) -> set[str]:
    """Series names a scrape can hold, from each family's name and type."""
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum")}
    return {n + s for n, kind in families.items() for s in suffixes.get(kind, ("",))}


async def families_of(pair: Cluster) -> dict[str, str]:
    """Every metric family a child and its parent export after a push, with its type."""
    village, township = pair.nodes[VILLAGE], pair.nodes[TOWNSHIP]
    await village.write(person())
    await village.replicator.run_once()
    families: dict[str, str] = {}
    for node in (village, township):
        response = await node.client.get("/metrics")
        families |= {f.name: f.type for f in text_string_to_metric_families(response.text)}
    return families


async def test_the_operations_table_lists_every_metric(pair: Cluster) -> None:
    families = await families_of(pair)
    text = OPERATIONS.read_text()
    table = set(re.findall(r"^\| `(tiersync_[a-z_]+)` \|", text, re.M))
    named = {  # as the table names them: a counter with _total, a histogram by its own name
        name + ("_total" if kind == "counter" else "")
        for name, kind in families.items()
        if not name.endswith("_created")  # the client's own start-time series
    }
    assert table == named


async def test_alert_rules_parse_and_read_only_exported_metrics(pair: Cluster) -> None:
    known = exported(await families_of(pair))
    rules = yaml.safe_load(ALERTS.read_text())["groups"][0]["rules"]
    alerts = {rule["alert"] for rule in rules}
    assert {
        "TiersyncVillageSilent", "TiersyncReplicatorDead", "TiersyncQuarantineGrowing",
        "TiersyncClockSkew", "TiersyncLinkErrors",
    } <= alerts  # fmt: skip
    unknown = {}
    for rule in rules:
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        read = names_in(rule["expr"])
        assert read, rule["alert"]
        if read - known - PROMETHEUS_OWN:
            unknown[rule["alert"]] = sorted(read - known - PROMETHEUS_OWN)
    assert unknown == {}
    assert names_in('rate(tiersync_nope_total{kind!="x"}[5m]) > 0') == {"tiersync_nope_total"}
