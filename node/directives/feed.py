"""The parent's side of the downward pull: what a child gets, and the long poll that waits for it.

A child is sent the directive versions this node holds from itself or its ancestors (never one
issued below, which reached here by the push) that name at least one unit of the child's
subtree, in log order after the child's cursor. With nothing to send the request is held until a
directive commit wakes it (the node's CommitSignal, NodeContext.directive_signal) or the wait
ends.

Only commits that store a directive version wake held polls (this domain's writers are handed
the signal's `notify` as `wake`): waking every child on every commit, as Database.on_commit
would, made each pushed batch and receipt re-run every held poll's read. A held poll reads
nothing else until then: writes made by another process on the same database (the CLI) reach
it through that process's wake-up of the serving one (node/wake.py). An idle poll costs one
read of the feed when it arrives and, when it ends with no directive committed meanwhile, one
of the push cursor alone (the one part of the answer that other commits move).
"""

import asyncio
from collections.abc import Awaitable, Callable

from federation.waiting import within
from node.db import Database
from node.directives import repository
from node.directives.seals import DirectiveSigner, stored
from node.directives.versions import target_units
from node.records import repository as records_repo
from node.records.wire import record_to_wire
from node.signals import CommitSignal
from node.sync import repository as sync_repo
from schemas.codes import is_within
from schemas.directives import DirectiveFeed, DirectiveSeal
from schemas.sync import ChangeRecord

FEED_LIMIT = 100
MAX_WAIT_S = 60.0
RECHECK_S = 1.0  # without a commit signal (an app without the directives hook): re-read this often
Wake = Callable[[], None] | None
"""What a writer of directives calls after its commit: the signal's notify, or None."""


def _addressed_to(child: str, origin: str, data: dict[str, object]) -> bool:
    ancestor = origin != child and is_within(child, origin)
    return ancestor and any(is_within(u, child) for u in target_units(data))


def read_feed(
    db: Database,
    *,
    child: str,
    since: int,
    limit: int = FEED_LIMIT,
    signer: DirectiveSigner | None = None,
) -> DirectiveFeed:
    """The next directive versions for `child` after `since`, and the cursor to resume from,
    each with its issuer's seal: `signer` signs this node's own, a relay's are as it got them."""
    with db.snapshot() as conn:
        entries = repository.entries_since(conn, since, limit)
        rows = records_repo.rows_by_ids(conn, [e.id for e in entries])
        push_cursor = sync_repo.child_cursor(conn, child)
    records: list[ChangeRecord] = []
    seals: dict[str, DirectiveSeal] = {}
    for entry in entries:
        row = rows.get(entry.id)
        if row is None or row.kind != "directive" or not _addressed_to(child, row.origin, row.data):
            continue
        record = ChangeRecord.model_validate(record_to_wire(row))
        records.append(record)
        kept = stored(entry)
        if kept is not None:
            seals[str(record.id)] = kept.model_copy(update={"version": record.version})
        elif signer is not None and row.origin == signer.code:
            seals[str(record.id)] = signer.seal(record)
    # Log positions are handed out in commit order, so nothing can later appear below the last
    # entry read: the child may skip past the entries that were not for it.
    cursor = max(since, entries[-1].seq) if entries else since
    return DirectiveFeed(
        cursor=cursor,
        more=len(entries) == limit,
        records=records,
        push_cursor=push_cursor,
        seals=seals,
    )


def push_cursor(db: Database, *, child: str) -> int:
    """Where this node holds `child`'s pushes up to (the feed's `push_cursor`)."""
    with db.read() as conn:
        return sync_repo.child_cursor(conn, child)


async def _never() -> bool:
    return False


async def wait_for_feed(
    db: Database,
    signal: CommitSignal | None,
    *,
    child: str,
    since: int,
    wait_s: float,
    limit: int = FEED_LIMIT,
    gone: Callable[[], Awaitable[bool]] = _never,
    signer: DirectiveSigner | None = None,
) -> DirectiveFeed:
    """`read_feed`, held up to `wait_s` seconds until it has something for the child.

    `gone` tells whether the child hung up (it went offline or stopped): then stop holding.
    """
    clock = asyncio.get_running_loop().time  # the loop's clock: virtual under the simulator
    deadline = clock() + min(wait_s, MAX_WAIT_S)
    while True:
        event = signal.current() if signal is not None else None
        feed = await asyncio.to_thread(
            read_feed, db, child=child, since=since, limit=limit, signer=signer
        )
        remaining = deadline - clock()
        closing = signal is not None and signal.closed
        if feed.records or feed.more or remaining <= 0 or closing or await gone():
            return feed
        since = feed.cursor
        if event is None:
            await asyncio.sleep(min(remaining, RECHECK_S))
            continue
        await within(remaining, event.wait())  # held for the whole wait unless a commit comes
        if not event.is_set():
            # The wait ended and no directive committed meanwhile: nothing new for the child,
            # only the push cursor may have moved (pushes do not wake held polls), and the
            # child compares it with what it sent (a parent restored from a backup).
            cursor = await asyncio.to_thread(push_cursor, db, child=child)
            return feed.model_copy(update={"push_cursor": cursor})
