"""`tiersync key ...`: this node's signing key (docs/protocol.md, "Enrolment and keys")."""

import asyncio
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from federation.errors import PeerRejected, PeerUnavailable
from federation.identity import Identity, NodeAuth, rotation_done, rotation_request
from federation.signing import b64
from node.cli.common import JsonOption, UsageError, print_json, report, say
from node.cli.options import NodeConfig, node_command
from node.settings import Settings
from node.uplink import NoParent, parent_connection

app = typer.Typer(help="This node's signing key.", no_args_is_help=True)


async def rotate_key(settings: Settings, *, transport: Any = None) -> dict[str, Any]:
    """Replace this node's key: the parent registers the new key, endorsed by the old one.

    A rotation interrupted after the parent took the new key is finished by running it again
    (the parent answers `rotated: false` for a key it already holds)."""
    async with parent_connection(settings, transport=transport) as parent:
        auth = parent.auth
        assert isinstance(auth, NodeAuth)
        if not auth.identity.registered_with(settings.parent_token):
            await parent.cursor(source=settings.code)  # enrols with the code first
        public, endorsement = rotation_request(auth)
        answer = await parent.rotate_key(public, endorsement)
        rotation_done(auth)
    return {"node": settings.code, "public_key": public, **answer}


@app.command()
@node_command()
def rotate(config: NodeConfig, json: JsonOption = False) -> None:
    """Make a new signing key and register it at the parent, endorsed by the current one.

    The running node uses the new key after its next start (`systemctl restart tiersync`)."""
    settings = config.settings()
    try:
        rotated = asyncio.run(rotate_key(settings))
    except NoParent as exc:
        raise UsageError(str(exc)) from None
    except (PeerRejected, PeerUnavailable) as exc:
        raise UsageError(f"上级未接受新密钥：{exc}") from None
    report(
        json,
        rotated,
        f"节点 {settings.code} 的签名密钥已更换，上级已登记新公钥：{rotated['public_key']}",
        "运行中的节点重启后使用新密钥。",
    )


async def send_certificate(settings: Settings, *, transport: Any = None) -> dict[str, Any]:
    """Hand this node's key certificate (identity/key-cert.json) to its parent."""
    async with parent_connection(settings, transport=transport) as parent:
        auth = parent.auth
        assert isinstance(auth, NodeAuth)
        certificate = auth.identity.certificate()
        if certificate is None:
            raise UsageError(
                "本节点没有密钥的 CA 证明（由 CA 所在节点运行 tiersync ca certify 出具）"
            )
        if not auth.identity.registered_with(settings.parent_token):
            await parent.cursor(source=settings.code)  # enrols, certificate included
            return {"node": settings.code, "certified": None, "enrolled": True}
        public = b64(auth.node_key().public)
        return await parent.rotate_key(public, "", certificate)


@app.command()
@node_command()
def certify(
    config: NodeConfig,
    path: Annotated[Path, typer.Argument(help="The key-cert.json `tiersync ca certify` made.")],
    json: JsonOption = False,
) -> None:
    """Take the CA's certificate of this node's key and hand it to the parent."""
    settings = config.settings()
    identity = Identity.of(settings.data_dir, settings.crypto)
    try:
        cert = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise UsageError(f"{path}：不是密钥的 CA 证明文件（{exc.__class__.__name__}）") from None
    if not isinstance(cert, dict) or cert.get("public_key") != b64(identity.key().public):
        raise UsageError(f"{path} 证明的不是本节点的密钥（本节点公钥见 tiersync key show）")
    identity.save_certificate(cert)
    try:
        sent = asyncio.run(send_certificate(settings))
    except NoParent:
        sent = {"node": settings.code, "certified": None}
    except (PeerRejected, PeerUnavailable) as exc:
        raise UsageError(f"上级未接受该 CA 证明：{exc}") from None
    report(
        json,
        sent,
        f"节点 {settings.code} 已保存其签名密钥的 CA 证明",
        "已交上级核验登记" if sent.get("certified") is not None or sent.get("enrolled") else None,
    )


@app.command()
@node_command()
def show(config: NodeConfig, json: JsonOption = False) -> None:
    """Print this node's public key and suite (what its parent registers)."""
    settings = config.settings()
    identity = Identity.of(settings.data_dir, settings.crypto)
    key = identity.key()
    report = {
        "node": settings.code,
        "suite": settings.crypto,
        "public_key": b64(key.public),
        "registered": identity.registered_with(settings.parent_token),
        "revoked": identity.revoked(),
        "certified": identity.certificate() is not None,
    }
    if json:
        print_json(report)
        return
    say(f"节点 {settings.code}（密码套件 {settings.crypto}）公钥：{report['public_key']}")
    say("已在上级登记" if report["registered"] else "尚未在上级登记（下次连接上级时用注册码登记）")
    revoked = identity.revoked()
    if revoked:
        say(f"已被上级吊销：{revoked.get('reason', '')}")
