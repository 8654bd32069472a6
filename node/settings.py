"""Node configuration: options > TIERSYNC_* environment variables > TOML file > defaults."""

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from schemas.codes import NODE_LEVELS, Level, UnitCode, level_of

DEFAULT_CONFIG_FILE = "tiersync.toml"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
# A list from the environment may be comma-separated (TIERSYNC_ALLOWED_HOSTS=a.gov.cn,b.gov.cn).
Names = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TIERSYNC_", extra="ignore")

    code: UnitCode = Field(description="this node's unit code")
    name: str = Field("", description="display name")
    level: Level | None = Field(None, description="prefecture, county, township or village")
    data_dir: Path = Field(Path(".tiersync"), description="where the node keeps its files")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite in data_dir")
    parent_url: str | None = Field(None, description="the parent node's base URL; unset at the top")
    parent_token: str | None = Field(None, description="this node's credential at its parent")
    push_delay_ms: int = Field(20, ge=0, description="batching window before a push")
    retry_max_s: float = Field(30.0, gt=0, description="cap of the backoff between failed pushes")
    task_unready_s: float = Field(
        30.0,
        gt=0,
        description="a background task failing this long makes /readyz 503 and status exit 1",
    )
    sqlite_busy_timeout_s: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="SQLite: a writer waits this long for another's lock before it fails",
    )
    batch_max_records: int = Field(
        5000, ge=1, le=10_000, description="records per replication batch (1–10,000)"
    )
    batch_max_bytes: int = Field(
        4_000_000, ge=10_000, description="bytes of JSON per replication batch (≥ 10,000)"
    )
    stale_after_s: float = Field(3600.0, gt=0, description="a child silent this long is stale")
    max_body_bytes: int = Field(
        64 * 1024 * 1024,
        ge=64 * 1024,
        description="a request body larger than this is refused with 413 (pushes, bulk imports)",
    )
    header_timeout_s: float = Field(
        10.0,
        gt=0,
        le=3600,
        description="a connection that has not sent a request's headers this long after opening "
        "(or after its previous answer) is closed",
    )
    body_timeout_s: float = Field(
        120.0,
        gt=0,
        le=86400,
        description="a request body not received whole this long after its headers is refused "
        "with 408 (a slow link needs at least batch_max_bytes per this)",
    )
    max_connections: int = Field(
        500,
        ge=10,
        le=100_000,
        description="connections served at once; a request beyond them is answered 503 (keep "
        "under the process's open-file limit)",
    )
    parent_timeout_s: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="a request to the parent (push, verify, resync, rebuild) unanswered this "
        "long fails, naming the parent",
    )
    # A village's time reaches the prefecture through three hops, each up to one heartbeat
    # late: keep 3 × heartbeat_s well under the parents' stale_after_s.
    heartbeat_s: float = Field(
        600.0, ge=0, description="idle this long, push an empty batch to the parent; 0: never"
    )

    max_clock_skew_s: float = Field(
        300.0,
        gt=0,
        le=86_400 * 365,
        description="a version more than this far ahead of this node's clock is refused "
        "(quarantined, the sender flagged) and never moves this node's clock",
    )
    # Tombstone collection (docs/decisions/0702): below the top a tombstone goes once every
    # ancestor holds it; the top, which has no ancestor, keeps it this long.
    tombstone_retention_s: float = Field(
        30 * 86_400.0,
        ge=0,
        description="at the top node (no parent), how long a tombstone is kept before it is "
        "collected; 0: kept for ever. Below the top, tombstones go once every ancestor holds them",
    )
    tombstone_collect_s: float = Field(
        600.0, ge=0, description="how often a serving node collects tombstones; 0: never"
    )
    log_format: Literal["auto", "json", "console"] = Field(
        "auto",
        description="serve's logs: json (one JSON object a line), console (readable), or auto: "
        "console on a terminal, json otherwise",
    )

    # Operator access (node/access, README "Operator access").
    allowed_hosts: Names = Field(
        default_factory=list,
        description="host names this node answers to (besides localhost, 127.0.0.1, ::1 and "
        "the address serve binds); any other Host header is refused (DNS rebinding)",
    )
    cors_origins: Names = Field(
        default_factory=list, description="origins allowed cross-origin requests; none: no CORS"
    )
    token_ttl_days: float = Field(90.0, gt=0, description="lifetime of a user's API token")
    session_ttl_h: float = Field(12.0, gt=0, description="lifetime of a dashboard session")
    login_max_failures: int = Field(5, ge=1, description="failed logins before a lockout")
    lockout_minutes: float = Field(15.0, gt=0, description="how long a lockout lasts")
    auth_cache_s: float = Field(
        5.0, ge=0, le=300, description="how long a checked token is trusted without a lookup"
    )
    # Personal data per tier (node/privacy, docs/decisions/1001-personal-data-policy.md).
    crypto: Literal["default", "sm"] = Field(
        "default",
        description="crypto suite of the whole prefecture: default (Ed25519, SHA-256, "
        "AES-GCM) or sm (SM2, SM3, SM4-GCM); a child must use its parent's",
    )
    privacy_policy: Path | None = Field(
        None, description="TOML/JSON file of field treatments over the default privacy policy"
    )
    hash_key: SecretStr | None = Field(
        None,
        description="the prefecture's hash key (hex), printed by `tiersync child add`; "
        "default: data_dir/hash.key, made by `init` at the top node",
    )
    data_key: SecretStr | None = Field(
        None,
        description="key (hex) that encrypts ID numbers, phones and key-group details at rest; "
        "default: data_dir/data.key (0600), made when the node is created",
    )
    # Trust between tiers (issue 13, docs/protocol.md "Enrolment and keys").
    tls_cert: Path | None = Field(None, description="certificate (PEM) to serve HTTPS with")
    tls_key: Path | None = Field(None, description="its private key (PEM)")
    parent_ca: Path | None = Field(
        None,
        description="the CA certificate (or the parent's own certificate) this node trusts for "
        "an https:// parent_url; unset: the system's CAs",
    )
    replay_window_s: float = Field(
        300.0,
        ge=5,
        le=3600,
        description="a signed request created further than this from the parent's clock, or "
        "with a nonce seen within it, is refused",
    )
    reveal_hold_s: float = Field(
        86_400.0,
        ge=0,
        le=30 * 86_400,
        description="how long an approved reveal request's answer stays readable at the "
        "requester before it is purged (seconds, at most 30 days)",
    )
    accept_child_tokens: bool = Field(
        True,
        description="serve children still on today's link (the enrolment code as a bearer "
        "token, link 1) until they register a key; set false once every child has upgraded",
    )

    @field_validator("allowed_hosts", "cors_origins", mode="before")
    @classmethod
    def _split_names(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _level_matches_code(self) -> "Settings":
        derived = level_of(self.code)
        if derived not in NODE_LEVELS:
            raise ValueError(f"code {self.code} is a {derived} code; a node is {NODE_LEVELS}")
        if self.level is None:
            self.level = derived
        elif self.level != derived:
            raise ValueError(f"level {self.level} does not match code {self.code} ({derived})")
        if not self.name:
            self.name = self.code
        return self

    @property
    def node_level(self) -> Level:
        return self.level or level_of(self.code)

    @property
    def tls_enabled(self) -> bool:
        return self.tls_cert is not None and self.tls_key is not None

    @property
    def host_names(self) -> frozenset[str]:
        """Every Host this node answers to."""
        return frozenset(n.lower() for n in (*LOOPBACK_NAMES, *self.allowed_hosts))

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'tiersync.db').resolve()}"


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build settings from a TOML file (if present), the environment, then explicit overrides."""
    toml_path = config_file or Path(DEFAULT_CONFIG_FILE)
    given = {k: v for k, v in overrides.items() if v is not None}

    class _FromFile(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
            if toml_path.is_file():
                sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
            return tuple(sources)

    return Settings.model_validate(_FromFile(**given).model_dump())
