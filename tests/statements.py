"""The SQL statements an engine runs while a block runs: what tests of idle cost count."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event


@contextmanager
def statements_run(
    engine: Engine, *, mentioning: str = "", this_thread: bool = False
) -> Iterator[list[str]]:
    """Each statement `engine` runs inside the block that contains `mentioning`; with
    `this_thread`, only those of the calling thread (not of the node's own background tasks,
    which run in worker threads)."""
    seen: list[str] = []
    here = threading.get_ident()

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if mentioning in statement and (not this_thread or threading.get_ident() == here):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)
