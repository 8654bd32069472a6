"""SQL the metrics need beyond what the features' repositories answer."""

from sqlalchemy import Connection, text


def database_bytes(conn: Connection) -> int:
    """The database's size on disk: SQLite's pages (without its WAL), PostgreSQL's database."""
    if conn.dialect.name == "sqlite":
        pages = conn.execute(text("PRAGMA page_count")).scalar_one()
        size = conn.execute(text("PRAGMA page_size")).scalar_one()
        return int(pages) * int(size)
    return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one())
