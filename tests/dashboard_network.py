"""The network the dashboard tests look at, served by uvicorn threads on loopback ports.

- Huangnan (6323) holds the article's Jianzha, Zeku and Henan subtrees itself (the `demo`
  profile: Jianzha's 159 cases, Kangyang's 40 grids, Hazang's 583 households, Tuoyema, Zeku…).
- Tongren runs a real chain of nodes — Tongren City ← Longwu Town ← Huoerjia Community — so an
  incident posted at the village reaches the prefecture's screen through replication.
- Henan (632324) is enrolled as a child node that has never reported: its figures are there
  (loaded earlier), and must be shown as never reported, not as "all units reporting".
"""

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from node.app import create_app, open_node
from node.demo import node_records
from node.records.service import bulk_write
from node.seed import build_topology
from node.seed.load import register_units
from node.settings import Settings
from node.units.service import enrol_child
from tests.access_support import PASSWORD, bearer, browser_sign_in, grant
from tests.serving import Served

PREFECTURE, TONGREN, LONGWU, HUOERJIA = "6323", "632301", "632301101", "632301101001"
JIANZHA, ZEKU, HENAN = "632322", "632323", "632324"
KANGYANG, TUOYEMA, HAZANG = "632322101", "632324106", "632323102201"
CHAIN = [PREFECTURE, TONGREN, LONGWU, HUOERJIA]
NAMES = {
    PREFECTURE: "Huangnan Tibetan Autonomous Prefecture",
    TONGREN: "Tongren City",
    LONGWU: "Longwu Town",
    HUOERJIA: "Huoerjia Community",
}


SCREEN = "screen"  # the operator every node has, for the API calls and the browser's sign-in


@dataclass
class Network:
    nodes: dict[str, Served]
    tokens: dict[str, str]

    @property
    def url(self) -> str:
        return self.nodes[PREFECTURE].url

    def at(self, code: str) -> httpx.Client:
        auth = bearer(self.tokens[code])
        return httpx.Client(base_url=self.nodes[code].url, headers=auth, timeout=30)

    def sign_in(self, driver: Any, code: str = PREFECTURE) -> None:
        """The browser signed in at that node's dashboard (its session cookie set)."""
        browser_sign_in(driver, self.nodes[code].url, SCREEN, PASSWORD)


def _seed(settings: Settings, records: Iterator[dict[str, Any]]) -> None:
    ctx = open_node(settings)
    try:
        register_units(ctx, "demo")
        batch = list(records)
        for start in range(0, len(batch), 2000):
            result = bulk_write(ctx.db, node=ctx.identity, items=batch[start : start + 2000])
            assert not result.rejected, result.rejected[:3]
    finally:
        ctx.db.dispose()


def _settings(root: Path, code: str, **extra: Any) -> Settings:
    return Settings(code=code, name=NAMES[code], data_dir=root / code, **extra)


def build(root: Path, tokens: dict[str, str]) -> dict[str, Settings]:
    """Seed every node's database, give it an operator (its token into `tokens`) and enrol the
    children (before anything serves)."""
    units = build_topology("demo")
    nodes = set(CHAIN)
    settings = {code: _settings(root, code) for code in CHAIN}
    for code in CHAIN:
        _seed(settings[code], node_records("demo", 1, units, code, nodes))
        ctx = open_node(settings[code])
        try:
            tokens[code] = grant(ctx.db, code, name=SCREEN, password=PASSWORD)
        finally:
            ctx.db.dispose()
    for parent, child in itertools.pairwise(CHAIN):
        ctx = open_node(settings[parent])
        try:
            token = enrol_child(ctx.db, node_code=parent, code=child, name=NAMES[child]).token
            if parent == PREFECTURE:  # enrolled, its data loaded earlier, never reported since
                enrol_child(ctx.db, node_code=parent, code=HENAN, name="")
        finally:
            ctx.db.dispose()
        settings[child] = _settings(
            root, child, parent_url="http://127.0.0.1:0", parent_token=token
        )
    return settings


def start(root: Path) -> Network:
    tokens: dict[str, str] = {}
    settings = build(root, tokens)
    nodes: dict[str, Served] = {}
    try:
        for code in CHAIN:  # parents first: each child is pointed at its parent's real port
            config = settings[code]
            if code != PREFECTURE:
                parent = nodes[CHAIN[CHAIN.index(code) - 1]]
                config = config.model_copy(update={"parent_url": parent.url})
            nodes[code] = Served(create_app(config)).start()
        network = Network(nodes, tokens)
        _wait_replicated(network)
        return network
    except BaseException:
        for node in reversed(nodes.values()):
            node.stop()
        raise


def _total(client: httpx.Client, unit: str | None = None) -> int:
    params = {"unit": unit} if unit else {}
    return sum(client.get("/api/v1/views/summary", params=params).json()["counts"].values())


def _wait_replicated(network: Network, timeout: float = 60) -> None:
    """Until the prefecture holds Tongren's subtree as Tongren holds it."""
    with network.at(TONGREN) as county, network.at(PREFECTURE) as top:
        deadline = time.monotonic() + timeout
        while True:
            want = _total(county)
            if want and _total(top, TONGREN) == want and _total(county, HUOERJIA) > 0:
                return
            assert time.monotonic() < deadline, "Tongren's data did not reach the prefecture"
            time.sleep(0.1)


def stop(network: Network) -> None:
    for code in reversed(CHAIN):
        network.nodes[code].stop()
