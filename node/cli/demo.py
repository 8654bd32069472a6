"""`tiersync demo`: the article's network as real processes on loopback, until Ctrl+C."""

import signal
import time
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.table import Table

from node.cli.common import console, say
from node.demo import (
    config_path,
    demo_password,
    load_all,
    node_records,
    node_specs,
    prepare,
    start_all,
    summary_counts,
    write_users,
)
from node.launcher import stop_all
from node.seed import PROFILES, build_topology
from schemas.codes import level_of

LOGIN = "/api/v1/auth/login"  # the dashboard's sign-in (node/access/routes.py)


def _shown(path: Path) -> str:
    """`path` relative to the working directory when it lies below it (shorter to copy)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _stop(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def demo(
    base_port: Annotated[int, typer.Option(help="Port of the prefecture; others follow.")] = 8700,
    data_dir: Annotated[Path, typer.Option(help="Where every node keeps its files.")] = Path(
        ".data/demo-network"
    ),
    profile: Annotated[
        str, typer.Option(help=f"Dataset: {' or '.join(PROFILES)} (demo is small).")
    ] = "demo",
    seed: Annotated[int, typer.Option(help="Seed of the generated data.")] = 1,
    tls: Annotated[
        bool,
        typer.Option(
            "--tls/--no-tls",
            help="Serve every node over HTTPS with a CA made for the run (ca init), each "
            "node's signing key certified by it (the default); --no-tls for plain HTTP.",
        ),
    ] = True,
) -> None:
    """Start a prefecture, its counties, townships and villages as separate processes, load the
    article's figures where the article puts them, and show each node's URL."""
    units = build_topology(profile)
    specs = node_specs(units, data_dir=data_dir.resolve(), base_port=base_port)
    nodes = {spec.code for spec in specs}
    signal.signal(signal.SIGTERM, _stop)
    say(f"starting {len(specs)} nodes in {data_dir} …")
    password = demo_password()
    viewers = prepare(specs, units, password, tls=tls)
    users_file = data_dir.resolve() / "users.txt"
    write_users(users_file, specs, password, viewers)
    procs = start_all(specs)
    try:
        top = specs[0]
        if not summary_counts(top):
            started = time.monotonic()
            loaded = load_all(specs, lambda code: node_records(profile, seed, units, code, nodes))
            total = sum(loaded.values())
            say(f"wrote {total:,} records at the nodes that own them; replicating up …")
            while sum(summary_counts(top).values()) < total:
                if time.monotonic() - started > 600:
                    raise typer.Exit(1)
                time.sleep(0.2)
            say(f"the prefecture holds all {total:,} records ({time.monotonic() - started:.1f} s)")
        table = Table("node", "code", "level", "URL", title="tiersync demo network")
        for spec in specs:
            table.add_row(spec.name, spec.code, level_of(spec.code).value, spec.url)
        console.print(table)
        say(f"dashboard: {top.url}/ — sign in as viewer (or operator), password {password}")
        say(f"API docs: {top.url}/docs; every node's users and tokens: {users_file}")
        say("the prefecture's operator token, for the README's curl examples:")
        say(f'  export TOKEN={top.operator_token}; curl -H "Authorization: Bearer $TOKEN" …')
        example = next(
            (s for s in specs if len(s.code) == 9), top
        )  # a township: parent and children
        say(
            "each node's configuration is DIR/<code>/tiersync.toml; for example\n"
            f"  tiersync --config {_shown(config_path(example))} status"
        )
        say(
            "every link between tiers is signed with the child's own key (registered with its "
            "enrolment code at the first request; `tiersync key show` prints it)"
        )
        if top.tls is not None:
            ca = _shown(top.tls.ca)
            say(
                f"TLS: every node serves HTTPS with a certificate of the demo's CA {ca}, and "
                "its signing key is certified by it (tiersync ca issue); for example"
            )
            say(
                f'  curl --cacert {ca} -H "Authorization: Bearer $TOKEN" '
                f"{top.url}/api/v1/views/summary"
            )
            say(f"  the browser: import {ca} as a trusted authority, or accept the warning once")
            say(
                f"  sign in from a script: curl --cacert {ca} -c cookies.txt -H "
                "'Content-Type: application/json' -d "
                f'\'{{"name": "viewer", "password": "{password}"}}\' {top.url}{LOGIN}'
            )
        say("Ctrl+C stops every node")
        while all(proc.alive for proc in procs):
            time.sleep(0.5)
        say("a node exited; stopping the demo")
        raise typer.Exit(1)
    except KeyboardInterrupt:
        say("stopping …")
    finally:
        stop_all(procs)
