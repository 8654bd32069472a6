"""`tiersync ca ...`: the prefecture's certificate authority (node/tls.py)."""

from pathlib import Path
from typing import Annotated

import typer

from federation.signing import unb64
from node import tls
from node.cli.common import JsonOption, UsageError, print_json, report, say
from node.cli.options import NodeConfig, node_command
from schemas.codes import check_code

app = typer.Typer(help="The certificate authority for TLS between tiers.", no_args_is_help=True)
HostOption = Annotated[
    list[str] | None,
    typer.Option("--host", help="A name or address the node is reached by (repeatable)."),
]


@app.command()
@node_command()
def init(
    config: NodeConfig,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing CA.")] = False,
    json: JsonOption = False,
) -> None:
    """Create the CA at this (top) node: tls/ca.pem, and its key tls/ca.key (0600)."""
    settings = config.settings()
    try:
        cert = tls.init_ca(settings.data_dir, name=settings.name, force=force)
    except tls.CaError as exc:
        raise UsageError(str(exc)) from None
    report(
        json,
        {"ca": str(cert)},
        f"已创建证书颁发机构（CA）：{cert}（私钥同目录 ca.key，仅本机可读）",
        "为各节点签发证书：tiersync ca issue 代码 --host 地址",
    )


def issue_and_report(
    settings_dir: Path, code: str, hosts: list[str], json: bool, suite_name: str = "default"
) -> tls.Issued:
    try:
        issued = tls.issue(settings_dir, code=code, hosts=hosts, suite_name=suite_name)
    except tls.CaError as exc:
        raise UsageError(str(exc)) from None
    if json:
        return issued
    say(f"已为节点 {code} 签发证书（{', '.join(issued.hosts)}），目录 {issued.directory}：")
    say(f"  TIERSYNC_TLS_CERT={issued.cert}")
    say(f"  TIERSYNC_TLS_KEY={issued.key}")
    say(f"  其下级节点的 TIERSYNC_PARENT_CA={issued.ca}")
    say(f"  节点签名密钥及其 CA 证明：{tls.SIGNING_KEY}、{tls.KEY_CERT}（同一目录）")
    say("  节点首次启动时自动采用，各级上级据此用 CA 核验其公钥")
    return issued


@app.command("issue")
@node_command()
def issue_cmd(
    config: NodeConfig,
    code: Annotated[str, typer.Argument(metavar="CODE", help="The node's unit code.")],
    host: HostOption = None,
    json: JsonOption = False,
) -> None:
    """Issue node CODE a server certificate for its --host names, signed by this CA."""
    settings = config.settings()
    try:
        code = check_code(code)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    issued = issue_and_report(settings.data_dir, code, list(host or []), json, settings.crypto)
    if json:
        print_json(
            {"node": code, "cert": str(issued.cert), "key": str(issued.key), "ca": str(issued.ca)}
        )


@app.command("certify")
@node_command()
def certify_cmd(
    config: NodeConfig,
    code: Annotated[str, typer.Argument(metavar="CODE", help="The node's unit code.")],
    public_key: Annotated[
        str, typer.Option("--public-key", help="Its signing key, as `tiersync key show` prints.")
    ],
    json: JsonOption = False,
) -> None:
    """Certify node CODE's signing key with this CA (a key made at the node, or rotated)."""
    settings = config.settings()
    try:
        code = check_code(code)
        raw = unb64(public_key)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if not 32 <= len(raw) <= 100:
        raise typer.BadParameter("--public-key 不是本密码套件的公钥")
    try:
        path = tls.certify(settings.data_dir, code=code, suite_name=settings.crypto, public_key=raw)
    except tls.CaError as exc:
        raise UsageError(str(exc)) from None
    report(
        json,
        {"node": code, "key_cert": str(path)},
        f"已为节点 {code} 的签名密钥出具 CA 证明：{path}",
        f"交给该节点，放入其数据目录的 identity/{tls.KEY_CERT}（或其证书目录）后重新登记：",
        "  tiersync key certify " + str(path),
    )
