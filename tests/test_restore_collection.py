"""What the log keeps about pushes is collected once every ancestor holds them (the durable
mark); the durable mark itself still tells the child how far up its changes are held."""

from sqlalchemy import text

from tests.cluster import Cluster, Node
from tests.conftest import COUNTY, TOWNSHIP, VILLAGE
from tests.factories import person


def marks(node: Node, child: str) -> int:
    with node.ctx.db.read() as conn:
        found = conn.execute(text("SELECT count(*) FROM batch_marks WHERE code = :c"), {"c": child})
        return int(found.scalar_one())


def upstream(node: Node) -> tuple[int, int]:
    with node.ctx.db.read() as conn:
        row = conn.execute(text("SELECT acked_seq, durable_seq FROM upstream")).one()
    return int(row.acked_seq), int(row.durable_seq)


async def test_batch_marks_are_collected_below_the_durable_mark(cluster: Cluster) -> None:
    await cluster.add(COUNTY, "Jianzha County")
    await cluster.add(TOWNSHIP, "Kangyang Town", parent=COUNTY)
    village = await cluster.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
    await cluster.sync()
    acked_before = 0
    for _ in range(12):
        await village.write(person())
        await cluster.sync()
        acked, durable = upstream(village)
        # Every ancestor holds the village's log up to the batch before the last.
        assert acked_before <= durable <= acked
        acked_before = acked
    assert marks(cluster.nodes[TOWNSHIP], VILLAGE) <= 3
    assert marks(cluster.nodes[COUNTY], TOWNSHIP) <= 1
