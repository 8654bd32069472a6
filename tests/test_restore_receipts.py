"""A target restored from a backup taken before a directive never undoes "done" above it."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.cluster import Cluster
from tests.directives_support import (
    DONGMEN,
    JIANZHA,
    KANGYANG,
    copies_of,
    counts,
    deliver,
    inbox,
    issue,
    migrated_sqlite,
    progress,
    report,
)
from tests.factories import person
from tests.restore_support import backed_up, restored
from tests.test_ops_support import verify

__all__ = ["migrated_sqlite"]


@pytest.fixture
async def chain(tmp_path: Path, migrated_sqlite: Path) -> AsyncIterator[Cluster]:
    """County → township → village."""
    cluster = Cluster(tmp_path, copies_of(migrated_sqlite, tmp_path))
    try:
        await cluster.add(JIANZHA, "Jianzha County")
        await cluster.add(KANGYANG, "Kangyang Town", parent=JIANZHA)
        await cluster.add(DONGMEN, "Dongmen Village", parent=KANGYANG)
        await cluster.sync()
        yield cluster
    finally:
        await cluster.close()


async def test_restored_village_re_pulling_a_directive_keeps_done_at_every_level(
    chain: Cluster, tmp_path: Path
) -> None:
    backup = tmp_path / "dongmen-before.db"
    await backed_up(chain, DONGMEN, backup)
    county = chain.nodes[JIANZHA]
    sent = await issue(county, target={"units": [DONGMEN]}, kind="task")
    await deliver(chain)
    assert (await report(chain.nodes[DONGMEN], sent["id"], "done", "all screened")).status_code
    await chain.sync()
    assert counts(await progress(county, sent["id"])) == (1, 1, 1, 1, 0)

    await restored(chain, DONGMEN, backup)
    assert await inbox(chain.nodes[DONGMEN]) == []  # the backup predates the directive
    for _ in range(2):  # it pulls the directive again and sends a fresh "delivered" up
        await deliver(chain)
    assert [i["state"] for i in await inbox(chain.nodes[DONGMEN])] == ["delivered"]
    for code in (KANGYANG, JIANZHA):
        view = await progress(chain.nodes[code], sent["id"])
        assert counts(view) == (1, 1, 1, 1, 0), code
    # The village gets its own "done" back from the township: the two copies agree again.
    repaired = await verify(chain, chain.nodes[DONGMEN], repair=True)
    assert repaired.ok, repaired
    assert [i["state"] for i in await inbox(chain.nodes[DONGMEN])] == ["done"]
    assert counts(await progress(chain.nodes[JIANZHA], sent["id"])) == (1, 1, 1, 1, 0)


async def test_a_refused_request_stays_refused(chain: Cluster) -> None:
    village = chain.nodes[DONGMEN]
    resident = await village.write(person())
    await chain.sync()
    sent = await issue(
        chain.nodes[JIANZHA],
        target={"units": [DONGMEN]},
        kind="correction",
        record_id=resident["id"],
    )
    await deliver(chain)
    assert (await report(village, sent["id"], "reject", "figures are right")).status_code == 200
    answer = await report(village, sent["id"], "done", "done after all")
    assert answer.status_code == 409, answer.text
    assert (await report(village, sent["id"], "ack")).status_code == 200  # a late ack: no-op
    await chain.sync()
    assert (await progress(chain.nodes[JIANZHA], sent["id"]))["rejected"] == 1
