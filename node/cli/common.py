"""Output and error helpers shared by every command.

Conventions: a readable report on stdout by default, in Chinese (what operators read; tokens,
commands, codes and paths stay as typed); with `--json`, the same facts as JSON on stdout (and
nothing else there): `report` does both. Problems go to stderr as one line starting "error: "
(scripts look for it), the message itself Chinese. Exit codes: 0 success, 1 the operation
failed (or found problems), 2 bad usage or configuration.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn

import orjson
import typer
from pydantic import BaseModel
from rich.console import Console
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from node.app import open_node
from node.audit.service import REASON_MIN
from node.context import NodeContext
from node.errors import NoNode, TiersyncError
from node.settings import Settings
from schemas.errors import clip

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a report.")]

EXIT_FAILED = 1
EXIT_USAGE = 2

# A level as the reports name it (the dashboard's enum.level.* terms).
LEVEL_LABELS = {
    "prefecture": "州（市）",
    "county": "县（市）",
    "township": "乡（镇）",
    "village": "村（社区）",
    "grid": "网格",
}


class CliError(Exception):
    """A problem to report in one line, without a traceback."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(CliError):
    """Bad arguments or configuration (exit code 2)."""

    exit_code = EXIT_USAGE


def check_reason(reason: str | None) -> None:
    """A `--reveal REASON` must say why (node.audit.service.REASON_MIN characters at least)."""
    if reason is not None and len(reason.strip()) < REASON_MIN:
        raise UsageError(f"--reveal 需说明理由（至少 {REASON_MIN} 个字符）")


def to_jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [to_jsonable(v) for v in value]
    return value


def print_json(value: Any) -> None:
    """Print a model, list or dict as indented JSON on stdout (the `--json` output)."""
    data = orjson.dumps(to_jsonable(value), option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)
    typer.echo(data.decode())


def say(message: str) -> None:
    """One plain line on stdout: no markup, no wrapping (tokens and URLs stay whole)."""
    console.print(message, markup=False, soft_wrap=True)


def report(json: bool, data: Any, *lines: str | None) -> None:
    """A command's result: `data` as JSON with `--json`, else `lines` said one by one (a
    None among them is skipped, for a line only some results have)."""
    if json:
        print_json(data)
        return
    for line in lines:
        if line is not None:
            say(line)


def warn(message: str) -> None:
    err_console.print(message, markup=False, soft_wrap=True)


def fail(message: str, exit_code: int = EXIT_FAILED) -> NoReturn:
    warn(f"error: {message}")
    raise typer.Exit(exit_code)


def describe(exc: TiersyncError) -> str:
    """The error's message and its field details on one line."""
    parts = [f"{d.field}: {d.reason}" if d.field else d.reason for d in exc.details]
    return clip(exc.message + (f" ({'; '.join(parts)})" if parts else ""))


def redact_url(url: str) -> str:
    """A database URL fit to print: the password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors a user can cause or fix into one line on stderr and an exit code."""
    try:
        yield
    except CliError as exc:
        fail(exc.message, exc.exit_code)
    except NoNode as exc:
        fail(exc.message, EXIT_USAGE)
    except TiersyncError as exc:
        fail(describe(exc))
    except OperationalError as exc:
        reason = str(exc.orig or exc).strip().splitlines()[0]
        fail(f"数据库出错：{reason}")
    except ImportError as exc:  # a URL naming a driver that is not installed
        fail(f"数据库驱动未安装（{exc}）：请使用 sqlite:/// 或 postgresql+psycopg://")
    except OSError as exc:
        fail(str(exc))


@contextmanager
def node_context(
    settings: Settings, *, create: bool = False, writable: bool = True
) -> Iterator[NodeContext]:
    """The node's database; works beside a running node. Refuses a configuration that points
    at no node unless `create`; with `writable=False` changes nothing (node.app.open_node)."""
    ctx = open_node(settings, create=create, writable=writable)
    try:
        yield ctx
    finally:
        ctx.db.dispose()
