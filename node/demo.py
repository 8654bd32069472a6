"""`tiersync demo`: a real multi-level topology of separate processes on loopback.

Every node is a `tiersync serve` process with its own data directory. Children are enrolled at
their parents, the article's figures are written at the nodes that own them, and replication
carries them up to the prefecture.
"""

import os
import secrets
import threading
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta
from itertools import chain, islice
from pathlib import Path
from typing import Any

import orjson

from node.access import users
from node.app import open_node
from node.config_file import write_config
from node.errors import Conflict
from node.launcher import NodeProcess, NodeSpec, secure, stop_all
from node.principal import os_actor
from node.seed import UnitSpec, owner_node, records_for
from node.settings import Settings
from node.units.service import enrol_child, register_unit
from schemas.codes import Level

BULK_CHUNK = 2000
DEMO_USERS = (("operator", "operator"), ("viewer", "viewer"))
TOKEN_TTL = timedelta(days=30)


def node_specs(units: list[UnitSpec], *, data_dir: Path, base_port: int) -> list[NodeSpec]:
    """One spec per unit that runs a node, parents first; the prefecture on the base port."""
    nodes = sorted((u for u in units if u.node), key=lambda u: (len(u.code), u.code))
    specs: dict[str, NodeSpec] = {}
    for offset, unit in enumerate(nodes):
        spec = NodeSpec(unit.code, unit.name, data_dir / unit.code, base_port + offset)
        spec.parent = specs.get(unit.parent) if unit.parent else None
        specs[unit.code] = spec
    return list(specs.values())


def demo_password() -> str:
    """A fresh password for the demo's users (upper, lower, digits, a symbol)."""
    return f"Demo-{secrets.token_hex(3)}-{secrets.randbelow(90) + 10}"


def ensure_user(ctx: Any, spec: NodeSpec, name: str, role: str, password: str) -> str:
    """The demo user `name` at this node, with `password` and a fresh API token (returned)."""
    actor = os_actor()
    try:
        users.add_user(
            ctx.db, node=spec.code, name=name, role=role, units=[], actor=actor,
            token_ttl=TOKEN_TTL, password=password,
        )  # fmt: skip
    except Conflict:  # the demo runs again on the same directory
        users.set_password(ctx.db, name=name, password=password, actor=actor)
    token, _ = users.rotate_token(
        ctx.db, node=spec.code, name=name, actor=actor, token_ttl=TOKEN_TTL
    )
    return token


def write_users(path: Path, specs: list[NodeSpec], password: str, viewers: dict[str, str]) -> None:
    """Every node's demo users, readable by the owner only."""
    lines = [f"# tiersync demo users; password of every operator and viewer: {password}"]
    for spec in specs:
        lines.append(f"{spec.code}  {spec.url}  operator token {spec.operator_token}")
        lines.append(f"{spec.code}  {spec.url}  viewer token   {viewers[spec.code]}")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        stream.write("\n".join(lines) + "\n")


def prepare(
    specs: list[NodeSpec], units: list[UnitSpec], password: str, *, tls: bool = False
) -> dict[str, str]:
    """Before any process starts: enrol each child at its parent (keeping its credential),
    register, at the node that owns them, the units that run no node (grids, small villages),
    and give every node an `operator` and a `viewer` (with `password`). Returns the viewers'
    tokens by node; the operators' are kept on the specs.

    Re-running the demo on the same data directory issues fresh credentials. With `tls`, the
    prefecture makes a CA (`tiersync ca init`) and issues every node its certificate.
    """
    if tls:
        secure(specs[0], specs)
    viewers: dict[str, str] = {}
    by_code = {spec.code: spec for spec in specs}
    for spec in specs:
        ctx = open_node(_settings_of(spec))
        try:
            for child in (s for s in specs if s.parent is spec):
                child.token = enrol_child(
                    ctx.db, node_code=spec.code, code=child.code, name=child.name
                ).token
            owned = [
                u for u in units if not u.node and owner_node(u.code, set(by_code)) == spec.code
            ]
            with ctx.db.write() as txn:
                for unit in owned:
                    register_unit(txn, code=unit.code, name=unit.name)
            spec.operator_token = ensure_user(ctx, spec, "operator", "operator", password)
            viewers[spec.code] = ensure_user(ctx, spec, "viewer", "viewer", password)
        finally:
            ctx.db.dispose()
    for spec in specs:
        write_config(config_path(spec), _settings_of(spec))
    return viewers


CONFIG_FILE = "tiersync.toml"


def config_path(spec: NodeSpec) -> Path:
    """DIR/<code>/tiersync.toml: aim any command at a demo node with `--config` and this."""
    return spec.data_dir / CONFIG_FILE


def node_records(
    profile: str, seed: int, units: list[UnitSpec], node: str, nodes: set[str]
) -> Iterator[dict[str, Any]]:
    """Every record the profile puts at units this node owns (itself and units without a node)."""
    owned = (u for u in units if u.level != Level.grid and owner_node(u.code, nodes) == node)
    return chain.from_iterable(records_for(profile, u.code, seed) for u in owned)


def _settings_of(spec: NodeSpec) -> Settings:
    """The node's settings as its process gets them (launcher.NodeSpec.env)."""
    return Settings(
        code=spec.code,
        name=spec.name,
        data_dir=spec.data_dir,
        database_url=spec.database_url,
        parent_url=spec.parent.url if spec.parent else None,
        parent_token=spec.token if spec.parent else None,
        hash_key=spec.env().get("TIERSYNC_HASH_KEY") if spec.parent else None,
        tls_cert=spec.tls.cert if spec.tls else None,
        tls_key=spec.tls.key if spec.tls else None,
        parent_ca=spec.parent.tls.ca if spec.parent and spec.parent.tls else None,
    )


def start_all(specs: list[NodeSpec], *, timeout: float = 60) -> list[NodeProcess]:
    """Start every process at once, then wait for each to answer /healthz."""
    procs = [NodeProcess(spec).start() for spec in specs]
    try:
        for proc in procs:
            proc.wait_healthy(timeout)
    except Exception:
        stop_all(procs)
        raise
    return procs


def load_records(spec: NodeSpec, records: Iterator[dict[str, Any]]) -> int:
    """POST a unit's records to its own node in bulk chunks; returns how many were accepted."""
    accepted = 0
    while chunk := list(islice(records, BULK_CHUNK)):
        request = urllib.request.Request(
            spec.url + "/api/v1/records/bulk",
            data=orjson.dumps(chunk),
            headers={"Content-Type": "application/json", **spec.auth},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=120, context=spec.ssl_context()) as response:
            result = orjson.loads(response.read())
        if result["rejected"]:
            first = result["rejected"][0]
            raise RuntimeError(f"{spec.code} rejected {len(result['rejected'])} rows: {first}")
        accepted += int(result["accepted"])
    return accepted


def load_all(
    specs: list[NodeSpec], records_for: Callable[[str], Iterator[dict[str, Any]]]
) -> dict[str, int]:
    """Load every node's own records in parallel (one thread per node)."""
    counts: dict[str, int] = {}
    errors: list[BaseException] = []

    def run(spec: NodeSpec) -> None:
        try:
            counts[spec.code] = load_records(spec, records_for(spec.code))
        except BaseException as exc:  # reported after all threads finish
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(spec,)) for spec in specs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return counts


def summary_counts(spec: NodeSpec) -> dict[str, int]:
    request = urllib.request.Request(spec.url + "/api/v1/views/summary", headers=spec.auth)
    with urllib.request.urlopen(request, timeout=10, context=spec.ssl_context()) as response:
        counts: dict[str, int] = orjson.loads(response.read())["counts"]
    return counts
