"""Fixtures for real `tiersync serve` processes on 127.0.0.1 (see node/launcher.py)."""

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from node.app import open_node
from node.launcher import NodeProcess, NodeSpec, create, enrol, free_port, stop_all
from node.settings import Settings
from tests.access_support import grant


def give_operator(spec: NodeSpec) -> None:
    """An operator at the node, in this process (a `tiersync user add` costs seconds of
    imports); its token is on the spec, which `Topology.client` sends."""
    settings = Settings(
        code=spec.code, name=spec.name, data_dir=spec.data_dir, database_url=spec.database_url
    )
    ctx = open_node(settings)
    try:
        spec.operator_token = grant(ctx.db, spec.code)
    finally:
        ctx.db.dispose()


class Topology:
    """Specs enrolled top-down, processes started on demand, all stopped at teardown."""

    def __init__(self, root: Path, **env: str) -> None:
        self.root = root
        self.env = env
        self.specs: dict[str, NodeSpec] = {}
        self.procs: dict[str, NodeProcess] = {}

    def add(
        self, code: str, name: str, parent: str | None = None, database_url: str | None = None
    ) -> NodeSpec:
        spec = NodeSpec(
            code,
            name,
            self.root / code,
            free_port(),
            database_url=database_url,
            extra_env=dict(self.env),
        )
        create(spec)
        if parent is not None:
            enrol(self.specs[parent], spec)
        give_operator(spec)
        self.specs[code] = spec
        return spec

    def add_tree(self, tree: dict[str, str | None]) -> None:
        """`add` for a whole tree (parents first), the `tiersync init`s side by side: each is a
        process that spends seconds importing."""
        specs = {
            code: NodeSpec(code, code, self.root / code, free_port(), extra_env=dict(self.env))
            for code in tree
        }
        children = [(specs[p], specs[c]) for c, p in tree.items() if p is not None]
        with ThreadPoolExecutor(len(specs)) as pool:
            list(pool.map(create, specs.values()))
            list(pool.map(lambda pair: enrol(*pair), children))
        for spec in specs.values():
            give_operator(spec)
        self.specs.update(specs)

    def start_all(self, codes: list[str]) -> None:
        """`start` for several nodes, started side by side, then each waited for."""
        for code in codes:
            self.procs[code] = NodeProcess(self.specs[code]).start()
        for code in codes:
            self.procs[code].wait_healthy()

    def start(self, code: str) -> NodeProcess:
        proc = NodeProcess(self.specs[code]).start()
        self.procs[code] = proc
        proc.wait_healthy()
        return proc

    def client(self, code: str) -> httpx.Client:
        spec = self.specs[code]
        verify = spec.ssl_context() or True
        return httpx.Client(base_url=spec.url, headers=spec.auth, timeout=30, verify=verify)

    def stop(self) -> None:
        stop_all(list(self.procs.values()))


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[Callable[..., Topology]]:
    made: list[Topology] = []

    def make(**env: str) -> Topology:
        topo = Topology(tmp_path, **env)
        made.append(topo)
        return topo

    yield make
    for topo in made:
        topo.stop()


def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 0.05) -> Any:
    """Poll `check` until it returns a truthy value; fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)
