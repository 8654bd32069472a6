"""Apply and inspect Alembic migrations programmatically (no alembic.ini needed)."""

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

import migrations


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine) -> None:
    """Migrate to every head: domains may add migration branches side by side. A database
    already at them is left as it is without starting Alembic's environment (every start of a
    node and every CLI command opens the database: issue 16 measured 50 ms a time)."""
    if current_revisions(engine) == head_revisions():
        return
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "heads")


def head_revisions(engine: Engine | None = None) -> set[str]:
    """The revisions the code expects (the script directory's heads; the engine is not needed)."""
    return set(_heads())


@cache
def _heads() -> frozenset[str]:
    """Read once a process: the scripts are the installed code's."""
    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def current_revisions(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def current_revision(engine: Engine) -> str | None:
    """The applied revision(s) as one display string ("a,b" across branches), None when empty."""
    return ",".join(sorted(current_revisions(engine))) or None


def head_revision(engine: Engine | None = None) -> str | None:
    """The revision(s) the code expects, in the same display form."""
    return ",".join(sorted(head_revisions(engine))) or None
