"""Reveal on request across three levels (issue 14): the county asks Dongmen village, through
Kangyang township, for one resident in full; an operator at the village approves or refuses;
the answer reaches the county only (the township holds ciphertext), is kept for a limited
time, and both sides audit it."""

import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from federation.errors import PeerUnavailable
from node.audit.service import entries
from node.db import as_utc
from node.reveals import repository, service
from node.reveals.runner import Purger
from node.wake import wake_local
from tests.access_support import bearer, grant
from tests.cluster import Cluster, Node
from tests.conftest import COUNTY, PREFECTURE, TOWNSHIP, VILLAGE
from tests.directives_support import pull_all
from tests.factories import person
from tests.statements import statements_run
from tests.test_privacy_leaks import stored_text


async def _resident(chain: Cluster) -> dict[str, Any]:
    village = chain.nodes[VILLAGE]
    body = person(VILLAGE, phone="13912345678")
    written = await village.write(body)  # the answer shows it masked: keep the clear data
    await chain.sync()
    return {**written, "data": body["data"]}


async def _ask(county: Node, record_id: str, expect: int = 201) -> dict[str, Any]:
    response = await county.client.post(
        f"/api/v1/records/{record_id}/reveal-request", json={"reason": "核查流动人口重复登记"}
    )
    assert response.status_code == expect, response.text
    return response.json()  # type: ignore[no-any-return]


async def _reach_owner(chain: Cluster, request_id: str) -> None:
    """The request down to the village (through the township), its delivery receipt up."""
    await pull_all(chain)
    await pull_all(chain)
    await chain.sync()
    items = (await chain.nodes[VILLAGE].client.get("/api/v1/reveals/inbox")).json()["items"]
    assert [(i["id"], i["kind"]) for i in items] == [(request_id, "reveal")]
    assert items[0]["body"] == "核查流动人口重复登记"


async def _approved(chain: Cluster) -> tuple[Node, dict[str, Any]]:
    """The county asked to see a resident, the village approved, the answer is at the county."""
    resident = await _resident(chain)
    county = chain.nodes[COUNTY]
    asked = await _ask(county, resident["id"])
    await _reach_owner(chain, asked["id"])
    await chain.nodes[VILLAGE].client.post(f"/api/v1/reveals/{asked['id']}/approve")
    await chain.sync()
    return county, asked


def _actions(node: Node) -> list[str]:
    return [e.action for e in entries(node.ctx.db, limit=1000)]


async def _chain_on(tmp_path: Path, url: Callable[[str], str]) -> Cluster:
    cluster = Cluster(tmp_path, database_url=url)
    await cluster.add(PREFECTURE, "Huangnan Prefecture")
    await cluster.add(COUNTY, "Jianzha County", parent=PREFECTURE)
    await cluster.add(TOWNSHIP, "Kangyang Town", parent=COUNTY)
    await cluster.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
    return cluster


async def test_the_county_gets_the_record_in_full_and_only_the_county(
    tmp_path: Path, database_url_factory: Callable[[str], str], engine_name: str
) -> None:
    chain = await _chain_on(tmp_path, database_url_factory)
    try:
        await _the_county_gets_the_record(chain)
    finally:
        await chain.close()


async def _the_county_gets_the_record(chain: Cluster) -> None:
    resident = await _resident(chain)
    clear_id = resident["data"]["id_number"]
    county, township, village = (chain.nodes[c] for c in (COUNTY, TOWNSHIP, VILLAGE))
    held = (await county.client.get(f"/api/v1/records/{resident['id']}")).json()
    assert clear_id not in str(held)  # what the county holds is minimised

    asked = await _ask(county, resident["id"])
    assert (asked["status"], asked["owner"], asked["record"]) == ("pending", VILLAGE, None)
    await _reach_owner(chain, asked["id"])
    approved = await village.client.post(
        f"/api/v1/reveals/{asked['id']}/approve", json={"note": "仅限本次核查使用"}
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "done"
    again = await village.client.post(f"/api/v1/reveals/{asked['id']}/approve")
    assert again.status_code == 409, again.text
    await chain.sync()

    shown = (await county.client.get(f"/api/v1/reveals/{asked['id']}")).json()
    assert shown["status"] == "approved"
    assert shown["record"]["data"]["id_number"] == clear_id
    assert shown["record"]["data"]["phone"] == "13912345678"
    assert shown["note"] == "已批准：仅限本次核查使用"
    assert shown["expires_at"] is not None
    colleague = bearer(grant(county.ctx.db, COUNTY, "operator"))
    other = await county.client.get(f"/api/v1/reveals/{asked['id']}", headers=colleague)
    assert other.status_code == 403, other.text  # the answer is for the one who asked

    # The township passed the answer on and holds only ciphertext; nor does the county's
    # database hold the clear number (the answer is opened on read, the key sealed at rest).
    for node in (township, county, chain.nodes[PREFECTURE]):
        text = stored_text(node)
        assert clear_id not in text and "13912345678" not in text, node.code
    receipts = await township.client.get("/api/v1/records", params={"kind": "receipt"})
    assert any("x25519:" in str(r["data"].get("sealed")) for r in receipts.json()["items"])

    assert {"reveal.request", "reveal.answer", "personal.reveal"} <= set(_actions(county))
    assert "reveal.approve" in _actions(village)
    assert not {"reveal.request", "personal.reveal"} & set(_actions(township))


async def test_a_refusal_reaches_the_county_with_its_reason(chain: Cluster) -> None:
    resident = await _resident(chain)
    county, village = chain.nodes[COUNTY], chain.nodes[VILLAGE]
    asked = await _ask(county, resident["id"])
    await _reach_owner(chain, asked["id"])
    refused = await village.client.post(
        f"/api/v1/reveals/{asked['id']}/refuse", json={"reason": "理由不充分，请说明案件编号"}
    )
    assert refused.status_code == 200, refused.text
    await chain.sync()
    shown = (await county.client.get(f"/api/v1/reveals/{asked['id']}")).json()
    assert (shown["status"], shown["note"], shown["record"]) == (
        "refused",
        "理由不充分，请说明案件编号",
        None,
    )
    assert "directive.reject" in _actions(village)
    listed = (await county.client.get("/api/v1/reveals")).json()["items"]
    assert [(i["id"], i["status"]) for i in listed] == [(asked["id"], "refused")]


async def test_the_answer_is_purged_when_the_hold_ends(chain: Cluster) -> None:
    county, asked = await _approved(chain)
    request_id = uuid.UUID(asked["id"])
    assert service.purge_due(county.ctx)[0] == 0  # settles the arrived answer, purges nothing
    shown = service.show(county.ctx, request_id=request_id, read=False)
    assert shown.status == "approved" and shown.expires_at is not None
    later = shown.expires_at + timedelta(seconds=1)
    assert service.purge_due(county.ctx, now=later)[0] == 1
    after = (await county.client.get(f"/api/v1/reveals/{asked['id']}")).json()
    assert (after["status"], after["record"]) == ("expired", None)
    assert "reveal.purge" in _actions(county)
    with county.ctx.db.read() as conn:
        row = repository.get(conn, request_id)
    assert row is not None and row.private_key is None  # every copy of the answer is dead


async def test_roles_and_unknown_records(chain: Cluster) -> None:
    resident = await _resident(chain)
    county, village = chain.nodes[COUNTY], chain.nodes[VILLAGE]
    assert (await _ask(county, str(uuid.uuid4()), 404))["error"]
    for role in ("admin", "viewer", "auditor"):
        token = grant(county.ctx.db, COUNTY, role)
        response = await county.client.post(
            f"/api/v1/records/{resident['id']}/reveal-request",
            json={"reason": "核查流动人口重复登记"},
            headers=bearer(token),
        )
        assert response.status_code == 403, (role, response.text)
    asked = await _ask(county, resident["id"])
    await _reach_owner(chain, asked["id"])
    admin = bearer(grant(village.ctx.db, VILLAGE, "admin"))
    response = await village.client.post(f"/api/v1/reveals/{asked['id']}/approve", headers=admin)
    assert response.status_code == 403, response.text
    unknown = await village.client.post(f"/api/v1/reveals/{uuid.uuid4()}/approve")
    assert unknown.status_code == 404, unknown.text
    # The owner reads its own record directly; asking itself is refused.
    own = await village.client.post(
        f"/api/v1/records/{resident['id']}/reveal-request", json={"reason": "核查本村记录"}
    )
    assert own.status_code == 409, own.text
    # A reveal is not issued through the generic directives endpoint (it has no key there).
    generic = await county.client.post(
        "/api/v1/directives",
        json={"title": "x", "kind": "reveal", "record_id": resident["id"]},
    )
    assert generic.status_code == 422, generic.text


def _cli(node: Node, *args: str) -> str:
    from tests.cli_support import run

    result = run(*args, "--code", node.code, "--data-dir", str(node.settings.data_dir))
    assert result.exit_code == 0, result.output
    return result.output


async def test_the_whole_exchange_from_the_command_line(chain: Cluster) -> None:
    resident = await _resident(chain)
    county, village = chain.nodes[COUNTY], chain.nodes[VILLAGE]
    out = _cli(county, "reveal", "request", resident["id"], "--reason", "核查流动人口重复登记")
    assert f"已向 {VILLAGE} 发出查阅请求" in out
    request_id = out.split("查阅请求 ")[1].split("，")[0]
    await _reach_owner(chain, request_id)
    assert "待审批" in _cli(village, "reveal", "list", "--inbox")
    assert "已批准查阅请求" in _cli(village, "reveal", "approve", request_id)
    await chain.sync()
    shown = _cli(county, "reveal", "show", request_id)
    assert "已批准" in shown and resident["data"]["id_number"] in shown
    assert "已批准" in _cli(county, "reveal", "list")


async def test_the_request_and_its_answer_wait_out_cut_links(chain: Cluster) -> None:
    resident = await _resident(chain)
    county, village = chain.nodes[COUNTY], chain.nodes[VILLAGE]
    assert "reveal-purge" in {s.name for s in county.ctx.supervisor.states()}
    asked = await _ask(county, resident["id"])
    chain.router.down.add(TOWNSHIP)  # the village cannot reach its township
    await pull_all(chain)
    await pull_all(chain)
    assert (await village.client.get("/api/v1/reveals/inbox")).json()["items"] == []
    chain.router.down.discard(TOWNSHIP)
    await _reach_owner(chain, asked["id"])
    await village.client.post(f"/api/v1/reveals/{asked['id']}/approve")
    chain.router.down.add(COUNTY)  # the answer stops at the township
    await chain.nodes[VILLAGE].replicator.run_once()
    with pytest.raises(PeerUnavailable):
        await chain.nodes[TOWNSHIP].replicator.run_once()
    shown = (await county.client.get(f"/api/v1/reveals/{asked['id']}")).json()
    assert shown["status"] == "pending"
    chain.router.down.discard(COUNTY)
    await chain.sync()
    shown = (await county.client.get(f"/api/v1/reveals/{asked['id']}")).json()
    assert shown["status"] == "approved"
    assert shown["record"]["data"]["id_number"] == resident["data"]["id_number"]


# --- the requester's periodic purge, idle (issue 16's fourth round) -------------------------


def _reveal_reads(node: Node) -> AbstractContextManager[list[str]]:
    """The statements run on the node's reveal requests by this thread while the block runs
    (not by the node's own purge task, which runs in a worker thread)."""
    return statements_run(node.ctx.db.engine, mentioning="reveal_requests", this_thread=True)


async def test_an_idle_purge_is_one_statement(chain: Cluster) -> None:
    county = chain.nodes[COUNTY]
    with _reveal_reads(county) as reads:
        assert service.purge_due(county.ctx)[0] == 0
    assert len(reads) == 1


async def test_an_idle_requester_reads_nothing_until_something_commits(chain: Cluster) -> None:
    resident = await _resident(chain)
    county = chain.nodes[COUNTY]
    purger = Purger(county.ctx)
    with _reveal_reads(county) as reads:
        purger.tick()
        assert len(reads) == 1
        for _ in range(5):  # nothing asked, nothing held, nothing committed: no read at all
            purger.tick()
        assert len(reads) == 1
        wake_local(county.ctx)  # another process's commit, announced (node/wake.py)
        purger.tick()
        assert len(reads) == 2
    asked = await _ask(county, resident["id"])  # a commit of this process
    with _reveal_reads(county) as reads:
        purger.tick()  # the request is seen at the next tick (and waits for its answer)
        assert reads
    with _reveal_reads(county) as reads:
        purger.tick()  # a request that waits for its answer is looked at on every tick
        assert reads
    await _reach_owner(chain, asked["id"])
    await chain.nodes[VILLAGE].client.post(f"/api/v1/reveals/{asked['id']}/approve")
    await chain.sync()
    purger.tick()  # the answer arrived: settled at the next tick
    shown = service.show(county.ctx, request_id=uuid.UUID(asked["id"]), read=False)
    assert shown.status == "approved"


async def test_a_quiet_requester_still_purges_when_the_hold_ends(
    chain: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    county, asked = await _approved(chain)
    purger = Purger(county.ctx, recheck_s=10 * 86_400)  # no safety-net look in this test
    request_id = uuid.UUID(asked["id"])
    purger.tick()  # settles the answer: approved, held until expires_at
    ends = as_utc(service.show(county.ctx, request_id=request_id, read=False).expires_at)
    assert ends is not None
    purger.tick()  # (the settling and show committed: one more look)
    with _reveal_reads(county) as reads:
        for before in (3600, 60, 1):
            monkeypatch.setattr(
                service, "now_of", lambda _db, s=before: ends - timedelta(seconds=s)
            )
            assert purger.tick() == 0
        assert reads == []  # the hold runs, nothing committed: no read before it ends
        monkeypatch.setattr(service, "now_of", lambda _db: ends)
        assert purger.tick() == 1  # purged on time
    assert service.show(county.ctx, request_id=request_id, read=False).status == "expired"


async def test_a_quiet_requester_looks_again_after_the_recheck(
    chain: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    county = chain.nodes[COUNTY]
    purger = Purger(county.ctx, recheck_s=300)
    start = service.now_of(county.ctx.db)
    with _reveal_reads(county) as reads:
        purger.tick()
        monkeypatch.setattr(service, "now_of", lambda _db: start + timedelta(seconds=299))
        purger.tick()
        assert len(reads) == 1
        # A commit nobody announced (another host's, on PostgreSQL) is seen within recheck_s.
        monkeypatch.setattr(service, "now_of", lambda _db: start + timedelta(seconds=301))
        purger.tick()
        assert len(reads) == 2
