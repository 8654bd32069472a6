"""Named crash points at the commit boundaries, for the deterministic simulator (tests/sim).

Off unless a simulator installs `hook`: each point then costs one module-level None check.
The hook is called with the point's name and the database's URL (which node); it may raise to
crash the node there (before the commit: the transaction rolls back; after it: the commit
stands and nothing after it runs) or raise `sqlalchemy.exc.OperationalError` as a full disk
would. Production code never sets it.
"""

from collections.abc import Callable

BEFORE_COMMIT = "db.before_commit"  # the transaction's work is done, its COMMIT not yet sent
AFTER_COMMIT = "db.after_commit"  # committed; the listeners (replicator wake-ups) not yet told

Hook = Callable[[str, str], None]
hook: Hook | None = None


def point(name: str, where: str) -> None:
    if hook is not None:
        hook(name, where)
