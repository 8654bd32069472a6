"""A hash key that differs between nodes of one prefecture is detected at enrolment (issue 14):
the child is refused before its key is registered, so once given the right key it enrols with
the same code."""

import os
from pathlib import Path

import pytest
from pydantic import SecretStr

from federation.errors import PeerRejected
from node.units import repository as units_repo
from tests.cluster import Cluster
from tests.conftest import TOWNSHIP, VILLAGE
from tests.factories import person_data


async def test_a_child_with_another_hash_key_is_refused_at_enrolment(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path)
    try:
        township = await cluster.add(TOWNSHIP, "Kangyang Town")
        village = await cluster.add(VILLAGE, "Dongmen", parent=TOWNSHIP, hash_key="77" * 32)
        await village.write({"kind": "person", "unit": VILLAGE, "data": person_data()})
        with pytest.raises(PeerRejected) as refused:
            await village.replicator.run_once()
        assert refused.value.status == 409
        assert "another hash key" in refused.value.message
        with township.ctx.db.read() as conn:
            credential = units_repo.get_credential(conn, VILLAGE)
        assert credential is not None and not credential.public_key  # nothing registered
        assert (await township.client.get("/api/v1/records")).json()["items"] == []

        village.settings = village.settings.model_copy(
            update={"hash_key": SecretStr(os.environ["TIERSYNC_HASH_KEY"])}
        )
        village = await cluster.restart(VILLAGE)
        await village.replicator.run_once()  # the same enrolment code is still good
        held = (await township.client.get("/api/v1/records", params={"kind": "person"})).json()
        assert len(held["items"]) == 1
    finally:
        await cluster.close()
