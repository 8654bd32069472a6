"""The figures every view shows equal a recount of the records, after any repair (issue 10,
defect 12); `verify` recounts, reports drift (exit 1 while it stands) and `--repair` fixes it."""

import shutil
import uuid
from pathlib import Path

import orjson
from sqlalchemy import text

from node.app import open_node
from node.ops import actions
from node.settings import load_settings
from node.sync.runner import build_replicator
from node.units.service import enrol_child
from node.uplink import connect_parent
from node.views import service as views
from tests.cli_support import run
from tests.cluster import Cluster, Node
from tests.conftest import COUNTY, PREFECTURE, TOWNSHIP, VILLAGE
from tests.factories import household, person
from tests.test_ops_support import ACTOR, live_ids, release_files, sql, verify

HELD_VILLAGE = "632322101202"  # a village of Kangyang that runs no node: the township holds it


async def persons(node: Node, unit: str | None = None) -> int:
    return int((await node.summary(unit))["counts"].get("person", 0))


def drift_total(node: Node) -> int:
    from node.views import recount

    with node.ctx.db.read() as conn:
        return recount.drift(conn, len(node.code)).total


def delete_by_hand(node: Node, ids: list[str]) -> None:
    for rid in ids:
        sql(node, "DELETE FROM records WHERE id = :id", id=uuid.UUID(rid).hex)


async def test_rows_deleted_by_hand_then_repaired_leave_the_view_equal_to_the_data(
    cluster: Cluster,
) -> None:
    county = await cluster.add(COUNTY, "Jianzha County")
    township = await cluster.add(TOWNSHIP, "Kangyang Town", parent=COUNTY)
    written = [await township.write(person(HELD_VILLAGE)) for _ in range(10)]
    await township.write(household(HELD_VILLAGE))
    await cluster.sync()
    delete_by_hand(township, [r["id"] for r in written[:3]])
    assert len(live_ids(township)) == 7 and await persons(township) == 10  # the view drifted

    repaired = await verify(cluster, township, repair=True, deep=True)
    assert repaired.ok, repaired
    assert len(live_ids(township)) == 10  # fetched back from the county
    assert await persons(township) == 10 == await persons(county, TOWNSHIP)
    assert await persons(township, HELD_VILLAGE) == 10
    assert drift_total(township) == 0 and drift_total(county) == 0
    assert (await verify(cluster, township)).ok


def top_persons(config: Path, unit: str | None = None) -> int:
    ctx = open_node(load_settings(config))
    try:
        return int(views.summary(ctx, unit=unit).counts.get("person", 0))
    finally:
        ctx.db.dispose()


def test_verify_reports_drift_with_exit_1_until_repair(tmp_path: Path) -> None:
    config = tmp_path / "tiersync.toml"
    made = run("init", "--config", config, "--code", PREFECTURE, "--data-dir", tmp_path / "d")
    assert made.exit_code == 0, made.output
    rows = tmp_path / "rows.ndjson"
    rows.write_text("".join(orjson.dumps(person(VILLAGE)).decode() + "\n" for _ in range(5)))
    assert run("--config", config, "import", rows).exit_code == 0
    ctx = open_node(load_settings(config))
    with ctx.db.engine.begin() as conn:  # two rows deleted by hand
        conn.execute(text("DELETE FROM records WHERE id IN (SELECT id FROM records LIMIT 2)"))
    ctx.db.dispose()

    found = run("--config", config, "verify")
    assert found.exit_code == 1, found.output
    assert "统计数字与按记录重新计数的结果不符" in found.output
    assert f"{PREFECTURE} person：显示 5，实数 3" in found.output
    assert top_persons(config) == 5  # verify alone changes nothing

    fixed = run("--config", config, "verify", "--repair")
    assert fixed.exit_code == 0, fixed.output
    assert top_persons(config) == 3 == top_persons(config, VILLAGE)
    assert run("--config", config, "verify").exit_code == 0


async def test_bundle_import_and_rebuild_keep_the_figures_equal_to_a_recount(
    cluster: Cluster, tmp_path: Path
) -> None:
    township = await cluster.add(TOWNSHIP, "Kangyang Town")
    village = await cluster.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
    written = [await village.write(person(VILLAGE + "003")) for _ in range(8)]
    await village.client.delete(f"/api/v1/records/{written[0]['id']}")
    edited = written[1] | {"unit": VILLAGE}
    put = await village.client.put(
        f"/api/v1/records/{edited['id']}",
        json={k: edited[k] for k in ("kind", "unit", "data")},
    )
    assert put.status_code == 200, put.text
    path = tmp_path / "up.tsb"
    actions.run_bundle_export(village.ctx, out=path, actor=ACTOR)
    actions.run_bundle_import(township.ctx, path=path, receipt=None, actor=ACTOR)
    assert await persons(township) == 7 and drift_total(township) == 0

    # The village's disk dies, its key with it: enrolled again (`tiersync child add`), then
    # rebuilt from the township.
    release_files(village)
    shutil.rmtree(village.settings.data_dir)
    code = enrol_child(township.ctx.db, node_code=TOWNSHIP, code=VILLAGE, name="").token
    village.settings = village.settings.model_copy(update={"parent_token": code})
    village.app.state.ctx = open_node(village.settings)
    village.ctx.replicator = build_replicator(
        village.ctx, connect_parent(village.settings, transport=cluster.router)
    )
    await actions.run_rebuild(village.ctx, actor=ACTOR, transport=cluster.router)
    assert await persons(village) == 7 and await persons(village, VILLAGE + "003") == 6
    assert drift_total(village) == 0
