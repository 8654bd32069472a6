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
from node.cli.common import JsonOption, UsageError, console, node_context, print_json, say
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
            raise UsageError("no password on standard input")
        return password
    return str(typer.prompt("password", hide_input=True, confirmation_prompt=True))


def show_added(added: UserAdded, json: bool) -> None:
    if json:
        print_json(added)
        return
    user = added.user
    scope = f", confined to {', '.join(user.units)}" if user.units else ""
    say(f"user {user.name} ({user.role}{scope}) added; API token, shown only now, ")
    say(f"valid until {added.expires_at:%Y-%m-%d} (send it as Authorization: Bearer …):")
    say(added.token)


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
    for column in ("name", "role", "units", "enabled", "password", "totp", "locked", "tokens"):
        table.add_column(column, overflow="fold")
    for u in found:
        locked = f"{u.locked_until:%Y-%m-%d %H:%M}" if u.locked_until else "-"
        table.add_row(
            u.name, u.role, ", ".join(u.units) or "(all)", _yes(u.enabled), _yes(u.password),
            _yes(u.totp), locked, str(u.api_tokens),
        )  # fmt: skip
    console.print(table if found else "no users")


def _yes(value: bool) -> str:
    return "yes" if value else "no"


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
    say(f"user {changed.name} is now {changed.role}")


@app.command()
@node_command()
def disable(config: NodeConfig, name: NameArgument) -> None:
    """Disable a user: its tokens and sessions are revoked."""
    with node_context(config.settings()) as ctx:
        users.set_enabled(ctx.db, name=name, enabled=False, actor=os_actor())
    say(f"user {name} disabled; its tokens and sessions are revoked")


@app.command()
@node_command()
def enable(config: NodeConfig, name: NameArgument) -> None:
    """Enable a disabled user again (issue it a token with `user token`)."""
    with node_context(config.settings()) as ctx:
        users.set_enabled(ctx.db, name=name, enabled=True, actor=os_actor())
    say(f"user {name} enabled")


@app.command()
@node_command()
def passwd(config: NodeConfig, name: NameArgument, password_stdin: PasswordStdin = False) -> None:
    """Set a user's dashboard password (prompted, or from stdin); ends its sessions."""
    settings = config.settings()
    password = read_password(password_stdin)
    with node_context(settings) as ctx:
        users.set_password(ctx.db, name=name, password=password, actor=os_actor())
    say(f"password of {name} set")


@app.command()
@node_command()
def token(config: NodeConfig, name: NameArgument, json: JsonOption = False) -> None:
    """Issue a new API token (the last line of output); the user's old tokens are revoked."""
    settings = config.settings()
    with node_context(settings) as ctx:
        issued, expires = users.rotate_token(
            ctx.db, node=settings.code, name=name, actor=os_actor(), token_ttl=_ttl(settings)
        )
    if json:
        print_json({"name": name, "token": issued, "expires_at": expires.isoformat()})
        return
    say(f"new API token of {name}, valid until {expires:%Y-%m-%d}; the old ones are revoked:")
    say(issued)


@app.command()
@node_command()
def unlock(config: NodeConfig, name: NameArgument) -> None:
    """End a lockout after repeated failed logins."""
    with node_context(config.settings()) as ctx:
        users.unlock(ctx.db, name=name, actor=os_actor())
    say(f"user {name} unlocked")


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
            say(f"TOTP second factor of {name} confirmed: sign-in now asks for its code")
            return
        uri = users.enrol_totp(ctx.db, node=settings.code, name=name, actor=os_actor())
    say(f"add this to {name}'s authenticator app (a QR code of it, or the secret it holds):")
    say(uri)
    say(f"then confirm: tiersync user totp {name} --confirm CODE")
