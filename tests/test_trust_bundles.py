"""Offline bundles signed with the node's private key (issue 13): what the parent stores of a
child (its code's hash, its public key) no longer suffices to forge a bundle, and the signature
is checked before anything is decompressed."""

from pathlib import Path

import pytest
import zstandard

from federation.crypto import suite
from federation.signing import NodeKey
from node.bundles import file as bundle_file
from node.bundles import service as bundles
from node.bundles.file import BundleRefused
from node.units import repository as units_repository
from tests.cluster import Cluster
from tests.conftest import TOWNSHIP, VILLAGE
from tests.factories import person
from tests.test_ops_support import live_ids


@pytest.fixture
async def cluster(tmp_path: Path):
    c = Cluster(tmp_path)
    yield c
    await c.close()


async def test_a_leaked_parent_database_does_not_forge_a_bundle(
    cluster: Cluster, tmp_path: Path
) -> None:
    township = await cluster.add(TOWNSHIP, "Kangyang Town")
    village = await cluster.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
    await village.write(person())
    await cluster.sync()  # the village registered its key
    await village.write(person())  # to carry offline
    with township.ctx.db.read() as conn:
        leaked = units_repository.get_credential(conn, VILLAGE)  # what a database dump holds
    good = tmp_path / "good.tsb"
    bundles.export_up(village.ctx, out=good)
    header, _ = bundle_file.read_header(good)
    forged = tmp_path / "forged.tsb"
    attacker = NodeKey(suite("default"), *_pair())
    content = {"batches": []}
    bundle_file.write(
        forged,
        {
            k: header[k]
            for k in (
                "direction",
                "source",
                "target",
                "since",
                "until",
                "records",
                "units",
                "created_at",
            )
        },
        content,
        key=attacker,
        code_hash=leaked.token_hash,
    )
    with pytest.raises(BundleRefused, match="not signed with the key registered"):
        bundles.import_up(township.ctx, path=forged, receipt=None)
    # Claiming the registered key without its private half fails the signature.
    header_forged, packed = bundle_file.read_header(forged)
    header_forged["key"] = leaked.public_key
    claimed = tmp_path / "claimed.tsb"
    import orjson

    claimed.write_bytes(bundle_file.MAGIC + orjson.dumps(header_forged) + b"\n" + packed)
    with pytest.raises(BundleRefused, match="not signed by 632322101201"):
        bundles.import_up(township.ctx, path=claimed, receipt=None)
    # The genuine bundle is taken.
    report = bundles.import_up(township.ctx, path=good, receipt=None)
    assert report.records == 1 and len(live_ids(township)) == 2


def _pair() -> tuple[bytes, bytes]:
    pair = suite("default").generate_signing_key()
    return pair.private, pair.public


async def test_the_signature_is_checked_before_decompressing(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    township = await cluster.add(TOWNSHIP, "Kangyang Town")
    village = await cluster.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
    await village.write(person())
    await cluster.sync()
    await village.write(person())
    path = tmp_path / "up.tsb"
    bundles.export_up(village.ctx, out=path)
    header, packed = bundle_file.read_header(path)
    bomb = zstandard.ZstdCompressor().compress(b"\0" * 10_000_000)  # swapped-in content
    import orjson

    swapped = tmp_path / "swapped.tsb"
    swapped.write_bytes(bundle_file.MAGIC + orjson.dumps(header) + b"\n" + bomb)
    header["records"] = 10**9
    edited = tmp_path / "edited.tsb"
    edited.write_bytes(bundle_file.MAGIC + orjson.dumps(header) + b"\n" + packed)

    def no_inflating(*_a: object, **_k: object) -> None:
        raise AssertionError("decompressed before the signature was checked")

    monkeypatch.setattr(bundle_file, "decompress_bounded", no_inflating)
    with pytest.raises(BundleRefused, match="content hash mismatch"):
        bundles.import_up(township.ctx, path=swapped, receipt=None)
    with pytest.raises(BundleRefused, match="not signed by"):
        bundles.import_up(township.ctx, path=edited, receipt=None)
    assert len(live_ids(township)) == 1  # only what came online; nothing of the bundles


async def test_a_village_never_online_enrols_by_its_first_bundle(
    cluster: Cluster, tmp_path: Path
) -> None:
    township = await cluster.add(TOWNSHIP, "Kangyang Town")
    village = await cluster.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
    cluster.router.down.add(TOWNSHIP)  # no link, ever
    await village.write(person())
    up, receipt = tmp_path / "up.tsb", tmp_path / "receipt.tsb"
    bundles.export_up(village.ctx, out=up)
    bundles.import_up(township.ctx, path=up, receipt=receipt)
    with township.ctx.db.read() as conn:
        assert units_repository.get_credential(conn, VILLAGE).public_key
    assert len(live_ids(township)) == 1
    bundles.import_down(village.ctx, path=receipt)
    from federation.identity import Identity

    registration = Identity.of(village.settings.data_dir, "default").registration()
    assert registration is not None and registration["parent"] == TOWNSHIP
    # From now on the link is keyed: the village signs its requests when the link comes up.
    cluster.router.down.discard(TOWNSHIP)
    await village.write(person())
    assert await village.replicator.run_once() >= 1
    assert len(live_ids(township)) == 2
