"""`tiersync user ...`: the node's operator accounts (README "Operator access").

Like `child add`, these write the node's database, so they work whether or not the node is
serving (a serving node sees a change within TIERSYNC_AUTH_CACHE_S seconds). Each change is
audited with the OS user who ran the command as the actor.
"""

import sys
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table

from node.access import users
from node.cli.common import JsonOption, UsageError, console, node_context, print_json, report, say
from node.cli.options import NodeConfig, node_command
from node.principal import os_actor
from node.settings import Settings
from schemas.access import UserAdded

app = typer.Typer(help="Manage the node's operator accounts.", no_args_is_help=True)
NameArgument = Annotated[str, typer.Argument(metavar="NAME", help="The user's name.")]
UnitOption = Annotated[
    list[str] | None,
    typer.Option("--unit", help="Confine the user to this unit's subtree (repeatable)."),
]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]


def _ttl(settings: Settings) -> timedelta:
    return timedelta(days=settings.token_ttl_days)


def read_password(from_stdin: bool) -> str:
    """From stdin (one line), or prompted twice without echo; never from an argument."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise UsageError("标准输入中没有密码")
        return password
    return str(typer.prompt("密码", hide_input=True, confirmation_prompt=True))


def show_added(added: UserAdded, json: bool) -> None:
    user = added.user
    scope = f"，限于 {'、'.join(user.units)}" if user.units else ""
    report(
        json,
        added,
        f"已添加用户 {user.name}（角色 {user.role}{scope}）；其 API 令牌仅此一次显示，",
        f"有效期至 {added.expires_at:%Y-%m-%d}（请求时以 Authorization: Bearer … 发送）：",
        added.token,
    )


@app.command()
@node_command()
def add(
    config: NodeConfig,
    name: NameArgument,
    role: Annotated[
        str, typer.Option(help="admin, security, auditor, operator, viewer, terminal or metrics.")
    ],
    unit: UnitOption = None,
    password_stdin: PasswordStdin = False,
    json: JsonOption = False,
) -> None:
    """Add a user and print its API token (the last line of output)."""
    settings = config.settings()
    password = read_password(True) if password_stdin else None
    with node_context(settings) as ctx:
        added = users.add_user(
            ctx.db,
            node=settings.code,
            name=name,
            role=role,
            units=unit or [],
            actor=os_actor(),
            token_ttl=_ttl(settings),
            password=password,
        )
    show_added(added, json)


@app.command("list")
@node_command()
def list_(config: NodeConfig, json: JsonOption = False) -> None:
    """List the users: role, units, whether they can sign in, lockouts, live tokens."""
    with node_context(config.settings()) as ctx:
        found = users.list_users(ctx.db, now=datetime.now(UTC))
    if json:
        print_json(found)
        return
    table = Table(box=None, pad_edge=False)
    for column in ("用户名", "角色", "单位", "启用", "密码", "动态口令", "锁定至", "令牌"):
        table.add_column(column, overflow="fold")
    for u in found:
        locked = f"{u.locked_until:%Y-%m-%d %H:%M}" if u.locked_until else "-"
        table.add_row(
            u.name, u.role, "、".join(u.units) or "（全部）", _yes(u.enabled), _yes(u.password),
            _yes(u.totp), locked, str(u.api_tokens),
        )  # fmt: skip
    console.print(table if found else "没有用户")


def _yes(value: bool) -> str:
    return "是" if value else "否"


@app.command()
@node_command()
def role(
    config: NodeConfig,
    name: NameArgument,
    new_role: Annotated[str, typer.Argument(metavar="ROLE", help="The new role.")],
    unit: UnitOption = None,
) -> None:
    """Change a user's role (and units)."""
    settings = config.settings()
    with node_context(settings) as ctx:
        changed = users.set_role(
            ctx.db, node=settings.code, name=name, role=new_role, units=unit or [], actor=os_actor()
        )
    say(f"用户 {changed.name} 的角色现为 {changed.role}")


@app.command()
@node_command()
def disable(config: NodeConfig, name: NameArgument) -> None:
    """Disable a user: its tokens and sessions are revoked."""
    with node_context(config.settings()) as ctx:
        users.set_enabled(ctx.db, name=name, enabled=False, actor=os_actor())
    say(f"已停用用户 {name}，其令牌和会话均已作废")


@app.command()
@node_command()
def enable(config: NodeConfig, name: NameArgument) -> None:
    """Enable a disabled user again (issue it a token with `user token`)."""
    with node_context(config.settings()) as ctx:
        users.set_enabled(ctx.db, name=name, enabled=True, actor=os_actor())
    say(f"已启用用户 {name}")


@app.command()
@node_command()
def passwd(config: NodeConfig, name: NameArgument, password_stdin: PasswordStdin = False) -> None:
    """Set a user's dashboard password (prompted, or from stdin); ends its sessions."""
    settings = config.settings()
    password = read_password(password_stdin)
    with node_context(settings) as ctx:
        users.set_password(ctx.db, name=name, password=password, actor=os_actor())
    say(f"已设置用户 {name} 的密码（其已有会话均已结束）")


@app.command()
@node_command()
def token(config: NodeConfig, name: NameArgument, json: JsonOption = False) -> None:
    """Issue a new API token (the last line of output); the user's old tokens are revoked."""
    settings = config.settings()
    with node_context(settings) as ctx:
        issued, expires = users.rotate_token(
            ctx.db, node=settings.code, name=name, actor=os_actor(), token_ttl=_ttl(settings)
        )
    report(
        json,
        {"name": name, "token": issued, "expires_at": expires.isoformat()},
        f"用户 {name} 的新 API 令牌，有效期至 {expires:%Y-%m-%d}；旧令牌均已作废：",
        issued,
    )


@app.command()
@node_command()
def unlock(config: NodeConfig, name: NameArgument) -> None:
    """End a lockout after repeated failed logins."""
    with node_context(config.settings()) as ctx:
        users.unlock(ctx.db, name=name, actor=os_actor())
    say(f"已解除用户 {name} 的锁定")


@app.command()
@node_command()
def totp(
    config: NodeConfig,
    name: NameArgument,
    confirm: Annotated[
        str | None, typer.Option(help="A code from the authenticator, to confirm enrolment.")
    ] = None,
) -> None:
    """Enrol a TOTP second factor (prints its otpauth:// URI), then confirm it with a code."""
    settings = config.settings()
    with node_context(settings) as ctx:
        if confirm is not None:
            users.confirm_totp(ctx.db, name=name, code=confirm, actor=os_actor())
            say(f"已确认用户 {name} 的动态口令（TOTP）：今后登录须输入其验证码")
            return
        uri = users.enrol_totp(ctx.db, node=settings.code, name=name, actor=os_actor())
    say(f"将以下内容添加到 {name} 的身份验证器应用（可扫描其二维码，或输入其中的密钥）：")
    say(uri)
    say(f"然后确认：tiersync user totp {name} --confirm 验证码")
