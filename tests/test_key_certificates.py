"""Key certificates (issue 13, docs/decisions/0951's prerequisite): the prefecture's CA certifies
each node's signing key when it issues its certificate; the key registration travels up with the
pushes, so every ancestor knows every descendant's key and checks it with the CA — a township in
between cannot slip in a key of its own."""

import base64
import shutil
from pathlib import Path

import orjson
import pytest

from federation.crypto import suite
from federation.errors import PeerRejected
from federation.identity import Identity
from federation.signing import b64
from node import tls
from node.ops.status import node_status
from node.sync import routes as sync_routes
from node.units import keys as descendant_keys
from node.units.service import enrol_child
from tests.cli_support import run
from tests.cluster import Cluster
from tests.factories import person

COUNTY, TOWNSHIP, VILLAGE = "632322", "632322101", "632322101201"


@pytest.fixture
async def cluster(tmp_path: Path):
    c = Cluster(tmp_path)
    yield c
    await c.close()


def prefecture_ca(tmp_path: Path) -> Path:
    ca_dir = tmp_path / "prefecture"
    tls.init_ca(ca_dir, name="prefecture")
    return ca_dir


def provision(ca_dir: Path, data_dir: Path, code: str) -> None:
    """What an operator does with `ca issue`'s directory: the node adopts its key and key
    certificate, and holds the CA certificate to check its descendants' keys."""
    issued = tls.issue(ca_dir, code=code, hosts=["127.0.0.1"])
    Identity.of(data_dir, "default").adopt(issued.directory)
    (data_dir / "tls").mkdir(parents=True, exist_ok=True)
    shutil.copy(issued.ca, data_dir / "tls" / "ca.pem")


async def certified_tree(cluster: Cluster, ca_dir: Path) -> dict:
    for code in (COUNTY, TOWNSHIP, VILLAGE):
        provision(ca_dir, cluster.tmp_path / code, code)
    nodes = {COUNTY: await cluster.add(COUNTY)}
    nodes[TOWNSHIP] = await cluster.add(TOWNSHIP, parent=COUNTY)
    nodes[VILLAGE] = await cluster.add(VILLAGE, parent=TOWNSHIP)
    await cluster.sync(rounds=2)
    return nodes


def key_rows(node) -> dict[str, tuple[str, str, bool]]:
    with node.ctx.db.read() as conn:
        return {
            r.code: (r.via, r.public_key, r.certified) for r in descendant_keys.known_keys(conn)
        }


def public_of(cluster: Cluster, code: str) -> str:
    return b64(Identity.of(cluster.tmp_path / code, "default").key().public)


async def test_every_ancestor_knows_every_descendants_certified_key(
    cluster: Cluster, tmp_path: Path
) -> None:
    nodes = await certified_tree(cluster, prefecture_ca(tmp_path))
    assert key_rows(nodes[COUNTY]) == {
        TOWNSHIP: (TOWNSHIP, public_of(cluster, TOWNSHIP), True),
        VILLAGE: (TOWNSHIP, public_of(cluster, VILLAGE), True),  # relayed, checked with the CA
    }
    assert key_rows(nodes[TOWNSHIP]) == {VILLAGE: (VILLAGE, public_of(cluster, VILLAGE), True)}
    children = {c.code: c for c in node_status(nodes[COUNTY].ctx).children}
    assert children[TOWNSHIP].key_certified and children[TOWNSHIP].link == 2


async def test_without_a_ca_keys_still_travel_up_uncertified(cluster: Cluster) -> None:
    county = await cluster.add(COUNTY)
    await cluster.add(TOWNSHIP, parent=COUNTY)
    await cluster.add(VILLAGE, parent=TOWNSHIP)
    await cluster.sync(rounds=2)
    assert key_rows(county) == {
        TOWNSHIP: (TOWNSHIP, public_of(cluster, TOWNSHIP), False),
        VILLAGE: (TOWNSHIP, public_of(cluster, VILLAGE), False),
    }
    children = {c.code: c for c in node_status(county.ctx).children}
    assert not children[TOWNSHIP].key_certified


async def test_a_township_cannot_pass_off_its_own_key_as_a_villages(
    cluster: Cluster, tmp_path: Path
) -> None:
    nodes = await certified_tree(cluster, prefecture_ca(tmp_path))
    township, county = nodes[TOWNSHIP], nodes[COUNTY]
    real = public_of(cluster, VILLAGE)
    forged_key = b64(suite("default").generate_signing_key().public)
    with township.ctx.db.read() as conn:
        cert = orjson.loads(descendant_keys.get_key(conn, VILLAGE).certificate)
    # The compromised township swaps the key inside the village's certificate.
    with township.ctx.db.write() as txn:
        forged = orjson.dumps({**cert, "public_key": forged_key}).decode()
        descendant_keys.remember(
            txn,
            code=VILLAGE,
            via=VILLAGE,
            public_key=forged_key,
            suite="default",
            certificate=forged,
            certified=True,
        )
    with pytest.raises(PeerRejected) as refused:
        await township.replicator.run_once()
    assert refused.value.status == 403
    assert f"node {VILLAGE}: the key certificate of {VILLAGE} is not signed by the CA" in str(
        refused.value
    )
    assert key_rows(county)[VILLAGE] == (TOWNSHIP, real, True)
    # Without a certificate (or with one from a CA of its own) the key is not taken on the
    # township's word: the county keeps it as uncertified.
    own_ca = tmp_path / "township-ca"
    tls.init_ca(own_ca, name="rogue")
    rogue = tls.issue(own_ca, code=VILLAGE, hosts=["127.0.0.1"])
    rogue_cert = orjson.loads((rogue.directory / tls.KEY_CERT).read_bytes())
    with township.ctx.db.write() as txn:
        descendant_keys.remember(
            txn,
            code=VILLAGE,
            via=VILLAGE,
            public_key=rogue_cert["public_key"],
            suite="default",
            certificate=orjson.dumps(rogue_cert).decode(),
            certified=True,
        )
    await township.replicator.run_once()
    assert key_rows(county)[VILLAGE] == (TOWNSHIP, rogue_cert["public_key"], False)


async def test_enrolment_with_a_certificate_of_another_key_is_refused(
    cluster: Cluster, tmp_path: Path
) -> None:
    ca_dir = prefecture_ca(tmp_path)
    provision(ca_dir, cluster.tmp_path / COUNTY, COUNTY)
    county = await cluster.add(COUNTY)
    other = tls.issue(ca_dir, code=TOWNSHIP, hosts=["127.0.0.1"], out=tmp_path / "other")
    cert = orjson.loads((other.directory / tls.KEY_CERT).read_bytes())
    token = enrol_child(county.ctx.db, node_code=COUNTY, code=TOWNSHIP, name="").token
    mine = base64.b64encode(suite("default").generate_signing_key().public).decode()
    answer = await county.client.post(
        "/api/v1/sync/enrol",
        json={"node": TOWNSHIP, "suite": "default", "public_key": mine, "certificate": cert},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 403, answer.text
    assert "certifies another key" in answer.json()["error"]["message"]
    with county.ctx.db.read() as conn:
        assert descendant_keys.get_key(conn, TOWNSHIP) is None


def test_ca_issue_certifies_the_nodes_signing_key_and_ca_certify_a_key_made_elsewhere(
    tmp_path: Path,
) -> None:
    top = tmp_path / "top"
    assert run("ca", "init", "--code", "6323", "--data-dir", top).exit_code == 0
    result = run(
        "ca", "issue", TOWNSHIP, "--host", "127.0.0.1", "--code", "6323", "--data-dir", top
    )
    assert result.exit_code == 0, result.output
    assert "key-cert.json" in result.output
    issued = top / "tls" / "issued" / TOWNSHIP
    cert = orjson.loads((issued / tls.KEY_CERT).read_bytes())
    key = orjson.loads((issued / tls.SIGNING_KEY).read_bytes())
    assert cert["node"] == TOWNSHIP and cert["public_key"] == key["public"]
    ca_pem = (top / "tls" / "ca.pem").read_bytes()
    assert descendant_keys.check_key(
        ca_pem, code=TOWNSHIP, suite="default", public_key=key["public"], certificate=cert
    )[1]
    made_elsewhere = b64(suite("default").generate_signing_key().public)
    result = run(
        "ca", "certify", VILLAGE, "--public-key", made_elsewhere, "--code", "6323",
        "--data-dir", top,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    village_cert = orjson.loads((top / "tls" / "issued" / VILLAGE / tls.KEY_CERT).read_bytes())
    assert village_cert["public_key"] == made_elsewhere


async def test_a_signed_request_reads_no_ca_file(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The CA is read (and parsed) only where a key certificate is checked: enrolment and
    # rotation (the certified keys above), not for each of a child's requests.
    nodes = await certified_tree(cluster, prefecture_ca(tmp_path))
    reads: list[Path] = []
    read = sync_routes.trusted_ca

    def counted(data_dir: Path, parent_ca: Path | None) -> bytes | None:
        reads.append(data_dir)
        return read(data_dir, parent_ca)

    monkeypatch.setattr(sync_routes, "trusted_ca", counted)
    await nodes[VILLAGE].write(person(VILLAGE))
    before = cluster.router.requests.get(TOWNSHIP, 0)
    await cluster.sync()
    assert cluster.router.requests.get(TOWNSHIP, 0) > before  # signed requests were answered
    assert reads == []
