"""Offline bundles: a village with no link carries its pending changes up on a USB stick, and
the township's receipt (with what it holds for the village from above) back down.

Up: `export_up` writes the changes after the acked cursor — exporting moves no cursor;
`import_up` at the parent applies each batch exactly like a push (Receiver.apply_push:
jurisdiction, idempotence, cursor) and writes a receipt. Down: `export_down` (or the receipt)
carries the parent's cursor for the child and the records it holds for it from above;
`import_down` at the child stores those and advances the acked cursor to the receipt's.
"""

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from federation.identity import Identity, code_hash
from federation.signing import b64
from node.bundles import file as bundle_file
from node.bundles import repository
from node.bundles.file import BundleRefused
from node.context import NodeContext
from node.directives.feed import read_feed
from node.directives.runner import inbox
from node.directives.seals import signer_of
from node.errors import Forbidden
from node.records import repository as records_repo
from node.records.store import store_versions
from node.records.wire import record_to_wire, to_version
from node.sync import repository as sync_repo
from node.sync.intake import IncomingBatch, split_records
from node.sync.receive import CursorGap, receiver
from node.sync.runner import outbox
from node.units import repository as units_repo
from node.units.service import hash_token
from schemas.codes import is_within, parent_of
from schemas.directives import DirectiveFeed
from schemas.ops import BundleReport
from schemas.sync import ChangeRecord


def _report(path: Path, header: dict[str, Any], **extra: Any) -> BundleReport:
    fields = ("direction", "source", "target", "since", "until", "records", "units", "sha256")
    return BundleReport(file=str(path), **{k: header[k] for k in fields}, **extra)


def export_up(ctx: NodeContext, *, out: Path) -> BundleReport:
    """Write every change after the acked cursor to `out`; the cursor does not move."""
    settings = ctx.settings
    parent = parent_of(settings.code)
    if parent is None or not settings.parent_token:
        raise BundleRefused(
            "this node has no parent credential (TIERSYNC_PARENT_TOKEN) to sign with"
        )
    if ctx.projection is not None and not ctx.projection.ready:  # node/privacy
        raise BundleRefused(
            "this node has no hash key to project its records with: set TIERSYNC_HASH_KEY"
        )
    store = outbox(ctx)
    since = store.acked()
    batches, position, records, units = [], since, 0, 0
    while True:
        batch = store.read_batch(
            position, max_records=settings.batch_max_records, max_bytes=settings.batch_max_bytes
        )
        if batch.empty:
            break
        batches.append(batch.payload(settings.code))  # exactly what a push would carry
        records, units, position = (
            records + len(batch.records),
            units + len(batch.units),
            batch.until,
        )
    header = {
        "direction": "up",
        "source": settings.code,
        "target": parent,
        "since": since,
        "until": position,
        "records": records,
        "units": units,
        "created_at": datetime.now(UTC).isoformat(),
    }
    identity = own_identity(ctx)
    unregistered = not identity.registered_with(settings.parent_token)  # prove the key by code
    digest = bundle_file.write(
        out,
        header,
        {"batches": batches},
        key=identity.key(),
        code_hash=hash_token(settings.parent_token) if unregistered else None,
    )
    with ctx.db.write(notify=False) as txn:
        repository.add_bundle(
            txn.conn,
            direction="up",
            action="export",
            peer=parent,
            since=since,
            until=position,
            sha256=digest,
            records=records,
            at=txn.now,
            acked=False,
        )
    return _report(out, {**header, "sha256": digest})


def own_identity(ctx: NodeContext) -> Identity:
    return Identity.of(ctx.settings.data_dir, ctx.settings.crypto)


def _child(ctx: NodeContext, source: str) -> Any:
    """The enrolled, unrevoked child's credential row (its key, or only its code's hash)."""
    with ctx.db.read() as conn:
        cred = units_repo.get_credential(conn, source)
    if cred is None or cred.revoked or parent_of(source) != ctx.settings.code:
        raise BundleRefused(
            f"bundle comes from {source}, which is not a child enrolled at this "
            f"node ({ctx.settings.code}): refused, nothing applied"
        )
    return cred


def import_up(ctx: NodeContext, *, path: Path, receipt: Path | None) -> BundleReport:
    """Apply a child's bundle like its pushes, then write the receipt to carry back."""
    header, _ = bundle_file.read_header(path)
    source = str(header.get("source", ""))
    if header.get("direction") != "up" or header.get("target") != ctx.settings.code:
        raise BundleRefused(
            f"{path} is addressed to {header.get('target')} "
            f"({header.get('direction')}), not to this node {ctx.settings.code}"
        )
    cred = _child(ctx, source)
    key = bundle_file.signer_key(
        path, header, registered=cred.public_key, code_hash=str(cred.token_hash)
    )
    bundle = bundle_file.open_bundle(path, suite=own_identity(ctx).suite, public_key=key)
    if not cred.public_key:  # a child never online: its key registered by its first bundle
        with ctx.db.write(notify=False) as txn:
            units_repo.register_key(
                txn.conn, code=source, public_key=key, suite=ctx.settings.crypto, at=txn.now
            )
    with ctx.db.read() as conn:
        seen = repository.find_bundle(conn, sha256=header["sha256"], action="import") is not None
    parent = receiver(ctx)
    applied = stale = quarantined = 0
    cursor = None
    for raw in bundle.content.get("batches", []):
        try:
            batch, unreadable = split_records(IncomingBatch.model_validate(raw))
            ack = parent.apply_push(child=source, batch=batch, refused=unreadable)
        except CursorGap as gap:
            raise BundleRefused(
                f"{path} starts after {raw['since']} but this node holds "
                f"{source}'s log only up to {gap.extra['cursor']}: import the "
                "earlier bundle first, or let the child push online"
            ) from gap
        except Forbidden as refused:
            raise BundleRefused(f"{path}: {refused.message}") from refused
        applied, stale = applied + ack.applied, stale + ack.stale
        quarantined, cursor = quarantined + ack.quarantined, ack.cursor
    with ctx.db.write(notify=False) as txn:
        repository.add_bundle(
            txn.conn,
            direction="up",
            action="import",
            peer=source,
            since=header["since"],
            until=header["until"],
            sha256=header["sha256"],
            records=header["records"],
            at=txn.now,
            acked=True,
        )
    written = str(export_down(ctx, child=source, out=receipt).file) if receipt else None
    return _report(
        path,
        header,
        applied=applied,
        stale=stale,
        quarantined=quarantined,
        already_imported=seen,
        cursor=cursor,
        receipt=written,
    )


def export_down(ctx: NodeContext, *, child: str, out: Path) -> BundleReport:
    """The parent's receipt for `child` (its cursor) and the records it holds for the child's
    subtree that were made above it (directives and the like), signed for the child."""
    cred = _child(ctx, child)
    with ctx.db.read() as conn:
        cursor = sync_repo.child_cursor(conn, child)
        own = sync_repo.get_upstream(conn)
        durable = sync_repo.held_durable(
            conn,
            code=child,
            durable=cursor
            if not ctx.settings.parent_url
            else sync_repo.durable_child_seq(
                conn, code=child, local_durable=int(own.durable_seq) if own else 0
            ),
        )
        rows = records_repo.made_above(conn, root=child)
    feeds = _directive_feeds(ctx, child)
    header = {
        "direction": "down",
        "source": ctx.settings.code,
        "target": child,
        "since": 0,
        "until": cursor,
        "records": len(rows),
        "units": 0,
        "created_at": datetime.now(UTC).isoformat(),
        "child_key": cred.public_key,  # the child's key as registered here
    }
    content = {
        "receipt": {"cursor": cursor, "durable": durable},
        "records": [record_to_wire(r) for r in rows],
        "directives": feeds,
    }
    digest = bundle_file.write(
        out, header, content, key=own_identity(ctx).key(), code_hash=str(cred.token_hash)
    )
    with ctx.db.write(notify=False) as txn:
        repository.add_bundle(
            txn.conn,
            direction="down",
            action="export",
            peer=child,
            since=0,
            until=cursor,
            sha256=digest,
            records=len(rows),
            at=txn.now,
            acked=True,
        )
    return _report(out, {**header, "sha256": digest}, cursor=cursor)


def _directive_feeds(ctx: NodeContext, child: str) -> list[dict[str, Any]]:
    """Every directive feed slice the child would pull online, from the start (idempotent)."""
    feeds, since = [], 0
    while True:
        feed = read_feed(ctx.db, child=child, since=since, signer=signer_of(ctx))
        feeds.append(feed.model_dump(mode="json"))
        if not feed.more or feed.cursor <= since:
            return feeds
        since = feed.cursor


def import_down(ctx: NodeContext, *, path: Path) -> BundleReport:
    """At the child: store what the parent sent down and take its receipt (advance the ack)."""
    settings = ctx.settings
    header, _ = bundle_file.read_header(path)
    if header.get("direction") != "down" or header.get("target") != settings.code:
        raise BundleRefused(
            f"{path} is addressed to {header.get('target')} "
            f"({header.get('direction')}), not to this node {settings.code}"
        )
    if header.get("source") != parent_of(settings.code) or not settings.parent_token:
        raise BundleRefused(
            f"{path} comes from {header.get('source')}, not from this node's parent"
        )
    identity = own_identity(ctx)
    registration = identity.registration()
    if not identity.registered_with(settings.parent_token):
        registration = None  # enrolled anew since: the parent's key comes with the code
    key = bundle_file.signer_key(
        path,
        header,
        registered=(registration or {}).get("parent_key"),
        code_hash=hash_token(settings.parent_token),
    )
    bundle = bundle_file.open_bundle(path, suite=identity.suite, public_key=key)
    if registration is None and header.get("child_key") == b64(identity.key().public):
        # The parent registered this node's key from its bundle: the link is keyed now.
        identity.save_registration(
            {
                "node": settings.code,
                "parent": header.get("source"),
                "parent_key": key,
                "code_hash": code_hash(settings.parent_token),
            }
        )
    versions = [
        to_version(ChangeRecord.model_validate(r)) for r in bundle.content.get("records", [])
    ]
    versions = [v for v in versions if is_within(v.unit, settings.code)]
    receipt = bundle.content.get("receipt", {})
    cursor, durable = int(receipt.get("cursor", 0)), int(receipt.get("durable", 0))
    store = outbox(ctx)
    with ctx.db.write() as txn:
        applied = len(store_versions(txn, versions, from_above=True).stored)
    directives = inbox(ctx)
    for feed in bundle.content.get("directives", []):
        applied += directives.apply_feed(DirectiveFeed.model_validate(feed), since=0)
    advanced = cursor > store.acked()
    if advanced:
        store.save_ack(until=cursor, durable=durable)
        with ctx.db.write(notify=False) as txn:
            repository.ack_exports(txn.conn, upto=cursor)
    return _report(path, header, applied=applied, stale=len(versions) - applied, cursor=cursor)


def new_name(code: str, direction: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path(f"tiersync-{code}-{direction}-{stamp}-{uuid.uuid4().hex[:6]}.tsb")
