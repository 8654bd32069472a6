"""The node configuration every command accepts, defined once.

    tiersync [CONFIG OPTIONS] COMMAND [ARGS] [CONFIG OPTIONS]

Precedence: options after the command > options before it > TIERSYNC_* environment variables >
the TOML file (--config, else $TIERSYNC_CONFIG, else ./tiersync.toml if present) > defaults.
"""

import functools
import inspect
import os
import tomllib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from node.cli.common import UsageError, user_errors
from node.locate import SUPPORTED_BACKENDS
from node.settings import DEFAULT_CONFIG_FILE, Settings, load_settings

PANEL = "Node configuration"
CONFIG_ENV = "TIERSYNC_CONFIG"
OPTIONS: tuple[tuple[str, str, Any, str], ...] = (
    ("code", "--code", str, "This node's unit code (env TIERSYNC_CODE)."),
    ("name", "--name", str, "Its display name (env TIERSYNC_NAME)."),
    ("level", "--level", str, "prefecture, county, township or village (env TIERSYNC_LEVEL)."),
    ("data_dir", "--data-dir", Path, "Where the node keeps its files (env TIERSYNC_DATA_DIR)."),
    ("database_url", "--database-url", str, "SQLAlchemy URL (env TIERSYNC_DATABASE_URL)."),
    ("parent_url", "--parent-url", str, "The parent node's base URL (env TIERSYNC_PARENT_URL)."),
    ("parent_token", "--parent-token", str, "Credential at the parent (TIERSYNC_PARENT_TOKEN)."),
    ("config_file", "--config", Path, "TOML file (env TIERSYNC_CONFIG; default ./tiersync.toml)."),
)
SETTING_NAMES = tuple(name for name, *_ in OPTIONS if name != "config_file")


_KEYWORD = inspect.Parameter.KEYWORD_ONLY
_PREFIX = "cfg_"  # keeps these apart from a command's own parameters (child add's `code`)


def _parameter(name: str, flag: str, kind: Any, help_: str) -> inspect.Parameter:
    option = typer.Option(flag, help=help_, rich_help_panel=PANEL, show_default=False)
    return inspect.Parameter(
        _PREFIX + name,
        _KEYWORD,
        default=None,
        annotation=Annotated[kind | None, option],
    )


@dataclass(frozen=True)
class NodeConfig:
    """Where a command takes the node's settings from; `settings()` loads and validates them."""

    config_file: Path | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)

    def under(self, outer: "NodeConfig | None") -> "NodeConfig":
        """These options, falling back to `outer`'s (the ones given before the command)."""
        if outer is None:
            return self
        return NodeConfig(
            self.config_file or outer.config_file, {**outer.overrides, **self.overrides}
        )

    @property
    def explicit_file(self) -> Path | None:
        env = os.environ.get(CONFIG_ENV)
        return self.config_file or (Path(env) if env else None)

    @property
    def path(self) -> Path:
        """The TOML file these settings come from (or, for `init`, go to)."""
        return self.explicit_file or Path(DEFAULT_CONFIG_FILE)

    def settings(self) -> Settings:
        path = self.path
        if self.explicit_file is not None and not path.is_file():
            raise UsageError(f"配置文件 {path} 不存在")
        if path.is_file():
            check_toml(path)
        try:
            settings = load_settings(path, **self.overrides)
        except ValidationError as exc:
            raise UsageError(describe_settings_error(exc, path)) from None
        check_database_url(settings.resolved_database_url)
        return settings


def check_database_url(url: str) -> None:
    """A malformed URL or unknown dialect is a configuration error, not a crash later."""
    try:
        parsed = make_url(url)
        parsed.get_dialect()
    except (ArgumentError, ValueError) as exc:  # messages name the problem, not the password
        raise UsageError(f"database_url 无效：{exc}") from None
    except ImportError as exc:
        raise UsageError(f"database_url 所需的数据库驱动未安装：{exc}") from None
    if parsed.get_backend_name() not in SUPPORTED_BACKENDS:
        raise UsageError(
            f"不支持的 database_url 类型 {parsed.drivername!r}：tiersync 只能使用 "
            "sqlite:///PATH 或 postgresql+psycopg://USER:PASSWORD@HOST/DB"
        )


def check_toml(path: Path) -> dict[str, Any]:
    """The file's table; a syntax error or an unknown key (a typo) is a usage error."""
    try:
        with path.open("rb") as stream:
            table = tomllib.load(stream)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"配置文件 {path} 不是有效的 TOML：{exc}") from None
    unknown = sorted(set(table) - set(Settings.model_fields))
    if unknown:
        known = ", ".join(Settings.model_fields)
        raise UsageError(
            f"配置文件 {path} 含未知配置项 {', '.join(unknown)}（可用的配置项：{known}）"
        )
    return table


# Pydantic's error types a configuration meets, as the reason reads in Chinese (others keep
# pydantic's own message; our validators' messages are kept as they are).
_REASONS = {
    "int_parsing": "须为整数",
    "int_from_float": "须为整数",
    "float_parsing": "须为数字",
    "bool_parsing": "须为 true 或 false",
    "string_type": "须为字符串",
    "list_type": "须为列表",
    "greater_than": "须大于 {gt}",
    "greater_than_equal": "须不小于 {ge}",
    "less_than": "须小于 {lt}",
    "less_than_equal": "须不大于 {le}",
    "literal_error": "须为 {expected} 之一",
    "enum": "须为 {expected} 之一",
    "string_too_short": "至少 {min_length} 个字符",
    "string_too_long": "至多 {max_length} 个字符",
}


def describe_settings_error(exc: ValidationError, path: Path) -> str:
    """Every field the configuration gets wrong, with the reason and where to set it."""
    parts = []
    for err in exc.errors(include_url=False):
        name = ".".join(str(p) for p in err["loc"])
        reason = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing":
            flag = "--" + name.replace("_", "-")
            reason = f"缺少（用 {flag}、TIERSYNC_{name.upper()} 或 {path} 中的 {name} 给出）"
        elif err["type"] in _REASONS:
            reason = _REASONS[err["type"]].format(**err.get("ctx", {}))  # not the input: a secret?
        parts.append(f"{name}：{reason}" if name else reason)
    return "配置有误：" + "；".join(parts)


def _collect(kwargs: dict[str, Any]) -> NodeConfig:
    config_file = kwargs.pop(_PREFIX + "config_file", None)
    given = {n: kwargs.pop(_PREFIX + n) for n in SETTING_NAMES if _PREFIX + n in kwargs}
    return NodeConfig(config_file, {k: v for k, v in given.items() if v is not None})


def node_command(*, exclude: Collection[str] = ()) -> Callable[[Callable[..., Any]], Any]:
    """Give a command the configuration options; it receives them as `config: NodeConfig`.

    Errors a user can fix are reported in one line (see common.user_errors). `exclude` leaves
    out options whose flag the command uses itself (e.g. `child add --name`).
    """
    added = [_parameter(*spec) for spec in OPTIONS if spec[0] not in exclude]

    def decorate(func: Callable[..., Any]) -> Any:
        own = [p for p in inspect.signature(func).parameters.values() if p.name != "config"]
        # The context finds the options given before the command; reuse the command's own.
        given = next((p.name for p in own if p.annotation is typer.Context), None)
        ours = given is None
        ctx_name = given or _PREFIX + "ctx"
        if ours:
            own.append(inspect.Parameter(ctx_name, _KEYWORD, annotation=typer.Context))

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            ctx = kwargs.pop(ctx_name) if ours else kwargs[ctx_name]
            config = _collect(kwargs).under(ctx.find_object(NodeConfig))
            with user_errors():
                return func(*args, config=config, **kwargs)

        wrapper.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            sorted([*own, *added], key=lambda p: p.kind)
        )
        return wrapper

    return decorate
