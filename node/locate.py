"""Does a configuration point at a tiersync node? Asked before opening, so that a typo in
`--data-dir` or `--database-url` is refused instead of creating an empty node."""

from pathlib import Path

from sqlalchemy import create_engine, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from node.models import NodeState, table
from node.settings import Settings

SUPPORTED_BACKENDS = ("sqlite", "postgresql")


def where(settings: Settings) -> str:
    """The node's place, fit to print: its data directory, the SQLite file given by URL, or the
    URL without its password."""
    if settings.database_url is None:
        return str(settings.data_dir.resolve())
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() == "sqlite" and url.database:
        return str(Path(url.database))
    return url.render_as_string(hide_password=True)


def holds_node(settings: Settings) -> bool:
    """True when the database exists and holds a node's identity row (any node's)."""
    url = make_url(settings.resolved_database_url)
    # Connecting would create an SQLite file: look first.
    if url.get_backend_name() == "sqlite" and (
        not url.database or url.database == ":memory:" or not Path(url.database).is_file()
    ):
        return False
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("node_state"):
                return False
            return conn.execute(select(table(NodeState).c.code)).first() is not None
    finally:
        engine.dispose()
