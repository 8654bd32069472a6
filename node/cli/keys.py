"""`tiersync key ...`: this node's signing key (docs/protocol.md, "Enrolment and keys")."""

import asyncio
from typing import Any

import typer

from federation.errors import PeerRejected, PeerUnavailable
from federation.identity import Identity, NodeAuth, rotation_done, rotation_request
from federation.signing import b64
from node.cli.common import JsonOption, UsageError, print_json, say
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
        report = asyncio.run(rotate_key(settings))
    except NoParent as exc:
        raise UsageError(str(exc)) from None
    except (PeerRejected, PeerUnavailable) as exc:
        raise UsageError(f"the parent did not take the new key: {exc}") from None
    if json:
        print_json(report)
        return
    say(f"节点 {settings.code} 的签名密钥已更换，上级已登记新公钥：{report['public_key']}")
    say("运行中的节点重启后使用新密钥。")


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
    }
    if json:
        print_json(report)
        return
    say(f"节点 {settings.code}（密码套件 {settings.crypto}）公钥：{report['public_key']}")
    say("已在上级登记" if report["registered"] else "尚未在上级登记（下次连接上级时用注册码登记）")
    revoked = identity.revoked()
    if revoked:
        say(f"已被上级吊销：{revoked.get('reason', '')}")
