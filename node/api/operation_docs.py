"""The description of every operation in the OpenAPI document, by (method, path).

Kept in one table so that the routes stay short; tests/test_openapi.py fails for an operation
that has none.
"""

DESCRIPTIONS: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): "Liveness: 200 once the node serves and its database answers a query, "
    "503 otherwise. Needs no credential.",
    ("GET", "/readyz"): "Readiness: 200 with the applied migration revisions when the database "
    "schema is at the revision this code expects, 503 otherwise. Needs no credential.",
    ("GET", "/metrics"): "Prometheus metrics of this node in the text exposition format: "
    "children (last contact, lag, cursor, stale), requests to the parent and from children "
    "(counts, bytes, durations, errors by kind), pending changes, quarantine, conflicts, "
    "background tasks, views latency, database size. Needs the right `metrics.read` (role "
    "`metrics` for Prometheus; docs/operations.md).",
    # records
    ("POST", "/api/v1/records"): "Validate and store a new record of a unit in this node's "
    "jurisdiction; it replicates to every ancestor. `id` may be given (idempotent imports); an "
    "id that exists, even deleted, is a 409. Invalid data is a 422 naming each field; nothing is "
    "stored.",
    ("GET", "/api/v1/records"): "Live records of the subtree of `unit` (default: this node's "
    "own), optionally of one kind, in (unit, id) order. Pass `next_cursor` back as `cursor` for "
    "the next page.",
    ("PUT", "/api/v1/records/{record_id}"): "Create the record (201) or replace it (200). A "
    "record made at another node is changed there (409); a deleted one is revived (201).",
    ("GET", "/api/v1/records/{record_id}"): "One live record as this node holds it; 404 when "
    "absent or deleted.",
    ("DELETE", "/api/v1/records/{record_id}"): "Delete a record made at this node: a tombstone "
    "(id, kind, unit and version, no personal data) replicates like any change.",
    ("POST", "/api/v1/records/bulk"): "Store every valid record of a JSON array or NDJSON body "
    "(create or replace by id) and list every invalid one by its 0-based position with the "
    "reason: one bad row, even one that is not valid JSON or UTF-8, is one rejected row.",
    # views
    ("GET", "/api/v1/views/summary"): "Live records per kind in the subtree of `unit`, and the "
    "same for each direct child unit (child nodes, or grids under a village).",
    ("GET", "/api/v1/views/population"): "Persons and households of the subtree, by sex, age "
    "band, ethnicity and status, with a row per direct child unit.",
    ("GET", "/api/v1/views/key-groups"): "Key-group members by category and risk level (and "
    "the cross table), per direct child unit.",
    ("GET", "/api/v1/views/incidents"): "Incidents: total, open, by category, status and month "
    "(China Standard Time).",
    ("GET", "/api/v1/views/disputes"): "Mediation cases accepted, mediated, failed, referred, "
    "in progress; success rate; yuan recovered (a number and an exact decimal string).",
    ("GET", "/api/v1/views/patrols"): "Patrol compliance: grids with a basic patrol in the "
    "last 7 days and a screening visit in the last 30, and the grids that missed either.",
    ("GET", "/api/v1/views/legal"): "Legal-service sessions and attendance, by type and month.",
    ("GET", "/api/v1/views/governance"): "Grids, grid leaders and members, governance centres "
    "and bodies by type, and organisations.",
    ("GET", "/api/v1/views/directives"): "Directive records and receipts by state, and the "
    "progress of each directive.",
    ("GET", "/api/v1/views/overview"): "Every view of the subtree in one answer (what the "
    "dashboard loads), with the path from this node down to `unit`.",
    ("GET", "/api/v1/live/incidents"): "Server-sent events: a snapshot of the subtree's open "
    "incidents, then every incident version this node stores (made here or replicated up), as "
    "it commits. Resume with Last-Event-ID; keep-alive comments while idle.",
    # directives
    ("POST", "/api/v1/directives"): "Issue a directive to units of this node's subtree: every "
    "unit of a level, listed units, or the whole subtree. The target set is fixed now; a unit "
    "outside the subtree is a 403 naming it.",
    ("GET", "/api/v1/directives"): "Directives issued here with their progress counts, or "
    "with `inbox=true` those this node received.",
    ("GET", "/api/v1/directives/{directive_id}"): "Progress of a directive over this node's "
    "part of the tree: targets, delivered, acknowledged, done, overdue, rejected, by child "
    "unit, laggards.",
    ("POST", "/api/v1/directives/{directive_id}/ack"): "At a target: this unit read and "
    "accepted the directive; the receipt travels up.",
    ("POST", "/api/v1/directives/{directive_id}/done"): "At a target: this unit completed the "
    "directive (implies acknowledged); the receipt travels up.",
    ("POST", "/api/v1/directives/{directive_id}/reject"): "At a target: refuse a correction "
    "or resync request, with the reason.",
    ("POST", "/api/v1/directives/{directive_id}/cancel"): "At the issuer: cancel the "
    "directive; the cancellation travels down and targets then answer 409 to ack/done.",
    ("POST", "/api/v1/directives/{directive_id}/supersede"): "At the issuer: replace the "
    "directive by a new one (201, the new directive); the old one is marked superseded.",
    # node to node
    ("POST", "/api/v1/sync/push"): "Called by a child node with its credential: apply a "
    "contiguous slice (since, until] of its change log in one transaction and answer with the "
    "cursor. A repeated batch is a no-op; a batch that starts beyond this node's cursor is a "
    "409 carrying the cursor; a record outside the child's subtree refuses the batch (403). "
    "See docs/protocol.md.",
    ("GET", "/api/v1/sync/cursor"): "Called by a child node: how far this node holds its log.",
    ("GET", "/api/v1/sync/audit-head"): "Called by a child node: the head of its audit chain "
    "this node keeps, from its last push (`tiersync audit verify` checks the log still holds it).",
    ("GET", "/api/v1/sync/quarantine"): "Records a child sent that this node set aside (an "
    "unknown kind, a newer schema version, an unreadable version), with the reason.",
    ("GET", "/api/v1/sync/conflicts"): "Versions that lost to a concurrent version of the same "
    "record id.",
    ("GET", "/api/v1/sync/directives"): "Called by a child node: long-poll for directives "
    "addressed to its subtree after `since` (held open up to `wait` seconds).",
    ("GET", "/api/v1/ops/digest"): "Called by a child node (verify): the root digest, per "
    "kind, of this node's copy of the child's subtree.",
    ("POST", "/api/v1/ops/digest/nodes"): "Called by a child node (verify): the digests of "
    "the children of the given digest-tree nodes.",
    ("POST", "/api/v1/ops/digest/leaves"): "Called by a child node (verify): id → version of "
    "every record under the given digest-tree nodes.",
    ("POST", "/api/v1/ops/records"): "Called by a child node (repair): the records of its "
    "subtree with the given ids, as this node holds them.",
    ("POST", "/api/v1/ops/repair"): "Called by a child node (repair): apply records exactly "
    "like a push, moving no cursor.",
    ("GET", "/api/v1/ops/export"): "Called by a child node (rebuild): this node's copy of the "
    "child's subtree, paged; the first page carries the unit registry.",
    # operator access (node/access)
    ("POST", "/api/v1/auth/login"): "Sign in with name, password and (for admin and security, "
    "or once enrolled) a TOTP code: sets the HttpOnly session cookie and the CSRF cookie, whose "
    "value every state-changing request of the session echoes in X-CSRF-Token. JSON only. "
    "Failed sign-ins are audited; after TIERSYNC_LOGIN_MAX_FAILURES the account is locked.",
    ("POST", "/api/v1/auth/logout"): "End this dashboard session (its cookie stops working at "
    "once) and clear the cookies.",
    ("GET", "/api/v1/auth/me"): "Who the token or session belongs to: name, role, its rights, "
    "the units it is confined to.",
    ("GET", "/api/v1/users"): "The node's users with their roles, units, sign-in factors, "
    "lockouts and live tokens; never a secret.",
    ("POST", "/api/v1/users/{name}/unlock"): "End a user's lockout after repeated failed "
    "sign-ins (audited).",
    ("GET", "/api/v1/audit"): "The audit log, newest first: who did what, when, with what "
    "outcome (record writes, imports, directives, reveals, sign-ins, user changes).",
    ("POST", "/api/v1/records/{record_id}/reveal"): "One record with its personal data in "
    "clear, for a stated reason; the reveal is audited with who, when, which record and why. "
    "Every other answer of the API carries personal data masked.",
}
