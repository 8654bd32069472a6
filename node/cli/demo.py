"""`tiersync demo`: the article's network as real processes on loopback, until Ctrl+C."""

import signal
import time
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.table import Table

from node.cli.common import LEVEL_LABELS, console, say
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
    say(f"正在启动 {len(specs)} 个节点，数据目录 {data_dir} …")
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
            say(f"已在各自所属节点写入 {total:,} 条记录，正在逐级上报 …")
            while sum(summary_counts(top).values()) < total:
                if time.monotonic() - started > 600:
                    raise typer.Exit(1)
                time.sleep(0.2)
            say(
                f"州（市）节点已收齐全部 {total:,} 条记录"
                f"（用时 {time.monotonic() - started:.1f} 秒）"
            )
        table = Table("节点", "代码", "级别", "地址", title="tiersync 演示网络")
        for spec in specs:
            level = level_of(spec.code).value
            table.add_row(spec.name, spec.code, LEVEL_LABELS.get(level, level), spec.url)
        console.print(table)
        say(f"指挥大屏：{top.url}/ — 以 viewer（或 operator）登录，密码 {password}")
        say(f"接口文档：{top.url}/docs；各节点的用户和令牌：{users_file}")
        say("州（市）节点的 operator 令牌，供 README 中的 curl 示例使用：")
        say(f'  export TOKEN={top.operator_token}; curl -H "Authorization: Bearer $TOKEN" …')
        example = next(
            (s for s in specs if len(s.code) == 9), top
        )  # a township: parent and children
        say(
            "各节点的配置文件为 DIR/<code>/tiersync.toml，例如\n"
            f"  tiersync --config {_shown(config_path(example))} status"
        )
        say(
            "各级之间的每条链路都以下级自己的密钥签名（首次请求时凭注册码登记；"
            "`tiersync key show` 可显示该密钥）"
        )
        if top.tls is not None:
            ca = _shown(top.tls.ca)
            say(
                f"TLS：各节点均以本次演示的 CA {ca} 签发的证书提供 HTTPS，"
                "其签名密钥也由该 CA 证明（tiersync ca issue），例如"
            )
            say(
                f'  curl --cacert {ca} -H "Authorization: Bearer $TOKEN" '
                f"{top.url}/api/v1/views/summary"
            )
            say(f"  浏览器：将 {ca} 导入为受信任的证书颁发机构，或接受一次安全警告")
            say(
                f"  脚本登录：curl --cacert {ca} -c cookies.txt -H "
                "'Content-Type: application/json' -d "
                f'\'{{"name": "viewer", "password": "{password}"}}\' {top.url}{LOGIN}'
            )
        say("按 Ctrl+C 停止全部节点")
        while all(proc.alive for proc in procs):
            time.sleep(0.5)
        say("有节点已退出，正在停止演示")
        raise typer.Exit(1)
    except KeyboardInterrupt:
        say("正在停止 …")
    finally:
        stop_all(procs)
