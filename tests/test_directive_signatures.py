"""Directive signatures (issue 13, docs/decisions/0951): the issuer signs each directive version
it serves down, the signature and the issuer's key certificate travel in the directive feed, and
every level below that holds the prefecture's CA stores only what a strict ancestor signed — a
township can neither alter the county's directive in transit nor issue one "from the county"."""

import uuid
from pathlib import Path

import pytest
from sqlalchemy import update

from federation.hlc import wall_ms
from node.directives.feed import read_feed
from node.directives.runner import inbox
from node.directives.seals import DirectiveSigner
from node.directives.versions import index_directive
from node.models import Record, table
from node.ops.status import node_status
from node.records import repository as records_repo
from node.records.store import Version, store_versions
from node.records.wire import record_to_wire
from schemas.kinds import SCHEMA_VERSION, Kind
from schemas.sync import ChangeRecord
from tests.cluster import Cluster, Node
from tests.directives_support import issue, pull_all
from tests.test_key_certificates import COUNTY, TOWNSHIP, VILLAGE, certified_tree, prefecture_ca


@pytest.fixture
async def cluster(tmp_path: Path):
    c = Cluster(tmp_path)
    yield c
    await c.close()


def held(node: Node, directive_id: str) -> dict | None:
    with node.ctx.db.read() as conn:
        row = records_repo.get_row(conn, uuid.UUID(directive_id))
    return dict(row.data) if row is not None else None


def upstream(node: Node):
    up = node_status(node.ctx).upstream
    assert up is not None
    return up


async def test_a_county_directive_is_verified_at_township_and_village(
    cluster: Cluster, tmp_path: Path
) -> None:
    nodes = await certified_tree(cluster, prefecture_ca(tmp_path))
    sent = await issue(nodes[COUNTY], target={"units": [VILLAGE]}, kind="task")
    assert await pull_all(cluster) == 2
    assert held(nodes[VILLAGE], sent["id"])["title"] == "Screening"
    for code in (TOWNSHIP, VILLAGE):
        up = upstream(nodes[code])
        assert (up.directive_signatures, up.directives_refused) == ("required", 0)
    # The township serves the county's seal on unchanged: the village checked the county's key.
    feed = read_feed(nodes[TOWNSHIP].ctx.db, child=VILLAGE, since=0)
    seal = feed.seals[sent["id"]]
    assert seal.certificate is not None and seal.certificate["node"] == COUNTY


async def test_a_directive_altered_by_the_township_is_refused_at_the_village(
    cluster: Cluster, tmp_path: Path
) -> None:
    nodes = await certified_tree(cluster, prefecture_ca(tmp_path))
    township, village = nodes[TOWNSHIP], nodes[VILLAGE]
    sent = await issue(nodes[COUNTY], target={"units": [VILLAGE]}, kind="task")
    assert inbox(township.ctx).apply_feed(
        read_feed(nodes[COUNTY].ctx.db, child=TOWNSHIP, since=0, signer=signer(nodes[COUNTY])),
        since=0,
    )
    # The compromised township rewrites the directive it relays, keeping the county's seal.
    forged = {**held(township, sent["id"]), "title": "Delete every record"}
    with township.ctx.db.write() as txn:
        records = table(Record)
        txn.conn.execute(
            update(records).where(records.c.id == uuid.UUID(sent["id"])).values(data=forged)
        )
    assert await pull_all(cluster) == 0
    assert held(village, sent["id"]) is None
    up = upstream(village)
    assert up.directives_refused == 1
    assert up.directive_refused_last == (
        f"directive {sent['id']}: not signed by its issuer {COUNTY}"
    )


async def test_a_township_cannot_issue_from_the_county(cluster: Cluster, tmp_path: Path) -> None:
    nodes = await certified_tree(cluster, prefecture_ca(tmp_path))
    township, village = nodes[TOWNSHIP], nodes[VILLAGE]
    directive_id = uuid.uuid4()
    data = {
        "title": "From the county (really)",
        "directive_kind": "notice",
        "issuer": COUNTY,
        "target": {"units": [VILLAGE]},
    }
    with township.ctx.db.write() as txn:
        version = Version(
            directive_id, Kind.directive, COUNTY, data, wall_ms(), COUNTY, False, SCHEMA_VERSION
        )
        store_versions(txn, [version])
        row = records_repo.get_row(txn.conn, directive_id)
    # Signed with the township's own key and its own (genuine) key certificate.
    seal = signer(township).seal(ChangeRecord.model_validate(record_to_wire(row)))
    with township.ctx.db.write() as txn:
        index_directive(txn, directive_id=directive_id, node_code=TOWNSHIP, seal=seal)
    assert await pull_all(cluster) == 0
    assert held(village, str(directive_id)) is None
    assert upstream(village).directive_refused_last == (
        f"directive {directive_id}: the key certificate is for node {TOWNSHIP}, not {COUNTY}"
    )


async def test_unsigned_directives_are_accepted_only_without_a_ca(
    cluster: Cluster, tmp_path: Path
) -> None:
    nodes = await certified_tree(cluster, prefecture_ca(tmp_path))
    sent = await issue(nodes[COUNTY], target={"units": [VILLAGE]}, kind="task")
    # A parent of an earlier release sends no seals: a node with a CA does not store them.
    unsigned = read_feed(nodes[COUNTY].ctx.db, child=TOWNSHIP, since=0)
    assert unsigned.records and not unsigned.seals
    assert inbox(nodes[TOWNSHIP].ctx).apply_feed(unsigned, since=0) == 0
    assert held(nodes[TOWNSHIP], sent["id"]) is None
    assert upstream(nodes[TOWNSHIP]).directive_refused_last == (
        f"directive {sent['id']}: not signed by its issuer (this node holds the prefecture's CA)"
    )


async def test_without_a_ca_unsigned_directives_are_taken_and_status_says_so(
    tmp_path: Path,
) -> None:
    cluster = Cluster(tmp_path)
    try:
        county = await cluster.add(COUNTY)
        township = await cluster.add(TOWNSHIP, parent=COUNTY)
        await cluster.sync()
        sent = await issue(county, target={"units": [TOWNSHIP]}, kind="task")
        unsigned = read_feed(county.ctx.db, child=TOWNSHIP, since=0)
        assert inbox(township.ctx).apply_feed(unsigned, since=0) == 1
        assert held(township, sent["id"]) is not None
        up = upstream(township)
        assert (up.directive_signatures, up.directives_refused) == ("not checked", 0)
    finally:
        await cluster.close()


def signer(node: Node) -> DirectiveSigner:
    settings = node.ctx.settings
    return DirectiveSigner.of(settings.code, settings.data_dir, settings.crypto)
