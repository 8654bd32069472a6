"""Node identity by key (issue 13): the enrolment code is exchanged once for the child's key,
every request after that is signed, replays and stale requests are refused, keys rotate, a
revoked node is refused and its children are told."""

import time
from pathlib import Path

import pytest

from federation.crypto import suite
from federation.errors import PeerRejected
from federation.identity import Identity
from federation.signing import NodeKey, sign_request
from node.cli.keys import rotate_key
from node.units import repository as units_repository
from node.units.trust import revoke_child
from tests.cluster import Cluster
from tests.factories import person

COUNTY, TOWNSHIP, VILLAGE = "632322", "632322101", "632322101201"
CURSOR = "/api/v1/sync/cursor"


@pytest.fixture
async def cluster(tmp_path: Path):
    c = Cluster(tmp_path)
    yield c
    await c.close()


def key_of(cluster: Cluster, code: str) -> NodeKey:
    return Identity.of(cluster.tmp_path / code, "default").key()


def signed(
    key: NodeKey, code: str, *, path: str = CURSOR, query: str = "source=" + TOWNSHIP, **kw: object
) -> dict[str, str]:
    return sign_request(key, node=code, method="GET", path=path, query=query, body=b"", **kw)  # type: ignore[arg-type]


async def test_code_is_exchanged_once_then_requests_are_signed(cluster: Cluster) -> None:
    county = await cluster.add(COUNTY)
    township = await cluster.add(TOWNSHIP, parent=COUNTY)
    await township.write(person(unit=TOWNSHIP + "001"))
    await cluster.sync()
    assert (await county.summary(TOWNSHIP))["counts"].get("person") == 1
    with county.ctx.db.read() as conn:
        row = units_repository.get_credential(conn, TOWNSHIP)
    assert row.public_key and row.key_suite == "default"
    # The code is spent: neither a bearer request nor a second enrolment with another key.
    token = township.settings.parent_token
    spent = await county.client.get(
        CURSOR, params={"source": TOWNSHIP}, headers={"Authorization": f"Bearer {token}"}
    )
    assert spent.status_code == 401
    assert "spent" in spent.json()["error"]["message"]
    assert token not in spent.text
    other = suite("default").generate_signing_key()
    again = await county.client.post(
        "/api/v1/sync/enrol",
        json={
            "node": TOWNSHIP,
            "suite": "default",
            "public_key": __import__("base64").b64encode(other.public).decode(),
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert again.status_code == 401, again.text
    # A signed request with the registered key is the township.
    ok = await county.client.get(
        CURSOR, params={"source": TOWNSHIP}, headers=signed(key_of(cluster, TOWNSHIP), TOWNSHIP)
    )
    assert ok.status_code == 200, ok.text


async def test_replayed_stale_forged_and_tampered_requests_are_refused(cluster: Cluster) -> None:
    county = await cluster.add(COUNTY)
    await cluster.add(TOWNSHIP, parent=COUNTY)
    await cluster.sync()  # enrols
    key = key_of(cluster, TOWNSHIP)
    headers = signed(key, TOWNSHIP)
    first = await county.client.get(CURSOR, params={"source": TOWNSHIP}, headers=headers)
    assert first.status_code == 200
    replay = await county.client.get(CURSOR, params={"source": TOWNSHIP}, headers=headers)
    assert replay.status_code == 401
    assert "nonce already used" in replay.json()["error"]["message"]
    stale = signed(key, TOWNSHIP, now=time.time() - 301)
    old = await county.client.get(CURSOR, params={"source": TOWNSHIP}, headers=stale)
    assert old.status_code == 401 and "replay window" in old.json()["error"]["message"]
    impostor = NodeKey(suite("default"), *_pair())
    forged = await county.client.get(
        CURSOR, params={"source": TOWNSHIP}, headers=signed(impostor, TOWNSHIP)
    )
    assert forged.status_code == 401 and "does not verify" in forged.json()["error"]["message"]
    # Signed for one query, sent with another: the signature covers @query.
    moved = await county.client.get(
        CURSOR, params={"source": "632322102"}, headers=signed(key, TOWNSHIP)
    )
    assert moved.status_code == 401
    # A push body changed after signing: Content-Digest no longer matches.
    push = sign_request(
        key, node=TOWNSHIP, method="POST", path="/api/v1/sync/push", query="", body=b"{}"
    )
    tampered = await county.client.post("/api/v1/sync/push", content=b"{ }", headers=push)
    assert tampered.status_code == 401 and "Content-Digest" in tampered.json()["error"]["message"]
    assert len(county.ctx.nonces) >= 1


def _pair() -> tuple[bytes, bytes]:
    pair = suite("default").generate_signing_key()
    return pair.private, pair.public


async def test_key_rotation_the_old_key_endorses_the_new(cluster: Cluster) -> None:
    county = await cluster.add(COUNTY)
    township = await cluster.add(TOWNSHIP, parent=COUNTY)
    await cluster.sync()
    old = key_of(cluster, TOWNSHIP)
    report = await rotate_key(township.settings, transport=cluster.router)
    assert report["rotated"] is True
    new = key_of(cluster, TOWNSHIP)
    assert new.public != old.public
    refused = await county.client.get(
        CURSOR, params={"source": TOWNSHIP}, headers=signed(old, TOWNSHIP)
    )
    assert refused.status_code == 401
    accepted = await county.client.get(
        CURSOR, params={"source": TOWNSHIP}, headers=signed(new, TOWNSHIP)
    )
    assert accepted.status_code == 200
    # The running node's connection picks up the new key after a restart.
    township = await cluster.restart(TOWNSHIP)
    await township.write(person(unit=TOWNSHIP + "001"))
    await cluster.sync()
    assert (await county.summary(TOWNSHIP))["counts"].get("person") == 1


async def test_revocation_is_refused_and_travels_down(cluster: Cluster) -> None:
    county = await cluster.add(COUNTY)
    township = await cluster.add(TOWNSHIP, parent=COUNTY)
    village = await cluster.add(VILLAGE, parent=TOWNSHIP)
    await cluster.sync()
    assert revoke_child(county.ctx.db, TOWNSHIP)
    await township.write(person(unit=TOWNSHIP + "001"))
    with pytest.raises(PeerRejected) as refused:
        await township.replicator.run_once()
    assert "revoked" in str(refused.value)
    assert Identity.of(cluster.tmp_path / TOWNSHIP, "default").revoked() is not None
    # The township's own child is told its parent is no longer trusted.
    await village.write(person(unit=VILLAGE + "003"))
    with pytest.raises(PeerRejected) as told:
        await village.replicator.run_once()
    assert refused.value.status == 401 and told.value.status == 403
    assert f"node {TOWNSHIP} was revoked" in str(told.value)


async def test_a_child_of_another_suite_is_refused_at_enrolment(cluster: Cluster) -> None:
    await cluster.add(COUNTY)
    township = await cluster.add(TOWNSHIP, parent=COUNTY, crypto="sm")
    await township.write(person(unit=TOWNSHIP + "001"))
    with pytest.raises(PeerRejected) as refused:
        await township.replicator.run_once()
    assert refused.value.status == 409
    assert "TIERSYNC_CRYPTO=default" in str(refused.value)


async def test_the_sm_suite_signs_a_whole_prefecture(cluster: Cluster) -> None:
    county = await cluster.add(COUNTY, crypto="sm")
    township = await cluster.add(TOWNSHIP, parent=COUNTY, crypto="sm")
    await township.write(person(unit=TOWNSHIP + "001"))
    await cluster.sync()
    assert (await county.summary(TOWNSHIP))["counts"].get("person") == 1
    with county.ctx.db.read() as conn:
        assert units_repository.get_credential(conn, TOWNSHIP).key_suite == "sm"


def test_an_unknown_suite_is_refused_at_start(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from node.settings import Settings

    with pytest.raises(ValidationError, match="crypto"):
        Settings(code=COUNTY, data_dir=tmp_path, crypto="rot13")


async def test_bearer_children_are_still_served_until_they_upgrade(cluster: Cluster) -> None:
    """A child of today's release sends its code as a bearer token on every request."""
    county = await cluster.add(COUNTY)
    from node.units.service import enrol_child

    token = enrol_child(county.ctx.db, node_code=COUNTY, code=TOWNSHIP, name="").token
    bearer = {"Authorization": f"Bearer {token}"}
    for _ in range(2):
        answer = await county.client.get(CURSOR, params={"source": TOWNSHIP}, headers=bearer)
        assert answer.status_code == 200, answer.text
    strict = await cluster.add("632323", accept_child_tokens=False)
    token2 = enrol_child(strict.ctx.db, node_code="632323", code="632323101", name="").token
    refused = await strict.client.get(
        CURSOR, params={"source": "632323101"}, headers={"Authorization": f"Bearer {token2}"}
    )
    assert refused.status_code == 401 and "upgrade" in refused.json()["error"]["message"]


async def test_status_shows_each_childs_link(cluster: Cluster) -> None:
    from node.ops.status import node_status
    from node.units.service import enrol_child

    county = await cluster.add(COUNTY)
    township = await cluster.add(TOWNSHIP, parent=COUNTY)
    enrol_child(county.ctx.db, node_code=COUNTY, code="632322102", name="")  # never upgraded
    await township.write(person(unit=TOWNSHIP + "001"))
    await cluster.sync()
    links = {c.code: c.link for c in node_status(county.ctx).children}
    assert links[TOWNSHIP] == 2 and links["632322102"] == 1
    up = node_status(township.ctx).upstream
    assert up is not None and up.link == 2 and up.revoked is None


PREFECTURE, OTHER_TOWNSHIP = "6323", "632322102"


async def test_revocation_travels_down_every_level_and_up_to_the_top(cluster: Cluster) -> None:
    top = await cluster.add(PREFECTURE)
    county = await cluster.add(COUNTY, parent=PREFECTURE)
    township = await cluster.add(TOWNSHIP, parent=COUNTY)
    village = await cluster.add(VILLAGE, parent=TOWNSHIP)
    await cluster.add(OTHER_TOWNSHIP, parent=COUNTY)
    await cluster.sync()
    # Revoked at the county, a township is known revoked at the prefecture (its enrolments).
    assert revoke_child(county.ctx.db, OTHER_TOWNSHIP)
    await county.replicator.run_once()
    with top.ctx.db.read() as conn:
        held = {r.code: r.revoked for r in units_repository.held_via(conn, COUNTY)}
    assert held == {TOWNSHIP: False, OTHER_TOWNSHIP: True}
    # Revoked at the prefecture, a county's whole subtree is told, level after level.
    assert revoke_child(top.ctx.db, COUNTY)
    refused: dict[str, PeerRejected] = {}
    for node in (county, township, village):
        await node.write(person(unit=node.settings.code + "001"))
        with pytest.raises(PeerRejected) as caught:
            await node.replicator.run_once()
        refused[node.settings.code] = caught.value
    assert refused[COUNTY].status == 401
    assert refused[TOWNSHIP].status == 403, refused[TOWNSHIP]
    assert f"node {COUNTY} was revoked above it" in str(refused[TOWNSHIP])
    assert refused[VILLAGE].status == 403, refused[VILLAGE]
    assert f"node {TOWNSHIP} was revoked above it" in str(refused[VILLAGE])
    for code in (COUNTY, TOWNSHIP):
        assert Identity.of(cluster.tmp_path / code, "default").revoked() is not None
    assert Identity.of(cluster.tmp_path / VILLAGE, "default").revoked() is not None
