from alembic import context
from sqlalchemy import Connection

from node.tables import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is None:
    from node.db import make_engine

    with make_engine(config.get_main_option("sqlalchemy.url") or "").begin() as conn:
        _run(conn)
else:
    _run(connection)
