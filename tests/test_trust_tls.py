"""TLS on every link, as real processes on loopback with the project's own CA (issue 13):
`tiersync ca init` at the top, `child add --host` issues the child its certificate, the child
verifies its parent against TIERSYNC_PARENT_CA and refuses a parent its CA did not sign."""

import os
import subprocess
from pathlib import Path

import httpx
import pytest

from node import tls
from node.launcher import run_cli, tiersync_command
from tests.factories import person
from tests.processes import Topology, wait_for

pytestmark = pytest.mark.slow
COUNTY, TOWNSHIP = "632322", "632322101"


def count(topo: Topology, code: str) -> int:
    with topo.client(code) as client:
        return int(client.get("/api/v1/views/summary").json()["counts"].get("person", 0))


def test_a_link_over_tls_with_the_prefectures_ca(topology, tmp_path: Path) -> None:
    topo: Topology = topology()
    county = topo.add(COUNTY, "Jianzha")
    township = topo.add(TOWNSHIP, "Kangyang", parent=COUNTY)
    # The operator's commands: a CA at the top, a certificate for it and one per child.
    run_cli(county, "ca", "init")
    assert (county.data_dir / "tls" / "ca.key").stat().st_mode & 0o777 == 0o600
    out = run_cli(county, "ca", "issue", COUNTY, "--host", "127.0.0.1")
    assert "TIERSYNC_TLS_CERT=" in out
    enrolled = run_cli(county, "child", "add", TOWNSHIP, "--host", "127.0.0.1")
    township.token = enrolled.strip().splitlines()[-1]  # still the enrolment code, last line
    issued = county.data_dir / "tls" / "issued"
    county.tls = tls.Issued(
        issued / COUNTY,
        issued / COUNTY / "node.pem",
        issued / COUNTY / "node.key",
        issued / COUNTY / "ca.pem",
        (),
    )
    township.tls = tls.Issued(
        issued / TOWNSHIP,
        issued / TOWNSHIP / "node.pem",
        issued / TOWNSHIP / "node.key",
        issued / TOWNSHIP / "ca.pem",
        (),
    )
    topo.start(COUNTY)
    topo.start(TOWNSHIP)
    assert county.url.startswith("https://") and township.url.startswith("https://")
    with pytest.raises(httpx.HTTPError):  # plain HTTP to a TLS node gets no answer
        httpx.get(f"http://127.0.0.1:{county.port}/healthz", timeout=3)
    with topo.client(TOWNSHIP) as client:
        assert client.post("/api/v1/records", json=person(unit=TOWNSHIP + "001")).status_code == 201
    wait_for(lambda: count(topo, COUNTY) == 1, 30, "the record at the county over TLS")

    # A child that pins another CA refuses to talk to this parent.
    foreign = tmp_path / "foreign"
    tls.init_ca(foreign, name="elsewhere")
    env = township.env() | {"TIERSYNC_PARENT_CA": str(foreign / "tls" / "ca.pem")}
    done = subprocess.run(
        [*tiersync_command(), "verify"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "CERTIFICATE_VERIFY_FAILED" in done.stdout + done.stderr
    # With the right CA the same command reaches the parent (signed, over TLS).
    ok = subprocess.run(
        [*tiersync_command(), "verify"],
        env=township.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert os.environ.get("TIERSYNC_PARENT_CA") is None


def test_certificates_are_issued_only_where_the_ca_is(tmp_path: Path) -> None:
    with pytest.raises(tls.CaError, match="ca init"):
        tls.issue(tmp_path, code=TOWNSHIP, hosts=["127.0.0.1"])
    tls.init_ca(tmp_path, name="top")
    with pytest.raises(tls.CaError, match="已有 CA"):
        tls.init_ca(tmp_path, name="top")
    with pytest.raises(tls.CaError, match="既不是主机名"):
        tls.issue(tmp_path, code=TOWNSHIP, hosts=["bad host/"])
    issued = tls.issue(tmp_path, code=TOWNSHIP, hosts=["127.0.0.2", "township.example"])
    assert issued.key.stat().st_mode & 0o777 == 0o600
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(issued.cert.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(n.value) for n in names} == {"127.0.0.2", "township.example"}
