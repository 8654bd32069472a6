"""What each role may do, and what each endpoint needs: the two tables of operator access.

The README shows the same role table (tests/test_access_matrix.py checks they agree). An
endpoint missing from `ENDPOINTS` is refused to everyone (deny by default), and a test checks
that every route of a real app is listed.
"""

from enum import StrEnum


class Right(StrEnum):
    records_read = "records.read"
    records_write = "records.write"
    records_import = "records.import"
    personal_reveal = "personal.reveal"
    directives_read = "directives.read"
    directives_issue = "directives.issue"
    directives_respond = "directives.respond"
    views_read = "views.read"
    ops_run = "ops.run"
    sync_inspect = "sync.inspect"
    users_manage = "users.manage"
    config_manage = "config.manage"
    security_manage = "security.manage"
    audit_read = "audit.read"
    metrics_read = "metrics.read"


class Role(StrEnum):
    admin = "admin"
    security = "security"
    auditor = "auditor"
    operator = "operator"
    viewer = "viewer"
    terminal = "terminal"
    metrics = "metrics"  # Prometheus: reads /metrics and nothing else


R = Right
_WORK = {
    R.records_read,
    R.records_write,
    R.records_import,
    R.directives_read,
    R.directives_issue,
    R.directives_respond,
    R.views_read,
    R.ops_run,
    R.sync_inspect,
    R.metrics_read,
}
# MLPS level 3 separates the system, security and audit administrators: none holds another's
# rights, and the system administrator neither reads the audit log nor reveals personal data.
ROLE_RIGHTS: dict[Role, frozenset[Right]] = {
    Role.admin: frozenset(_WORK | {R.users_manage, R.config_manage}),
    Role.security: frozenset({R.security_manage, R.metrics_read}),
    Role.auditor: frozenset({R.audit_read}),
    Role.operator: frozenset(_WORK | {R.personal_reveal}),
    Role.viewer: frozenset({R.views_read}),
    Role.terminal: frozenset({R.records_read, R.records_write, R.views_read}),
    Role.metrics: frozenset({R.metrics_read}),
}
# Roles whose password login also needs a TOTP code.
SECOND_FACTOR_ROLES = frozenset({Role.admin, Role.security})
# Roles that must be confined to units (`--unit`): a grid worker's handheld.
CONFINED_ROLES = frozenset({Role.terminal})


class Access(StrEnum):
    """What an endpoint needs besides a right."""

    open = "open"  # anyone (health, the login page, static assets)
    child = "child"  # a child node's credential, checked by the route (node/sync/routes.py)
    signed_in = "signed in"  # any valid user token or session


Rule = Right | Access
_RECORDS = "/api/v1/records"
_DIRECTIVES = "/api/v1/directives"
_REVEALS = "/api/v1/reveals"

ENDPOINTS: dict[tuple[str, str], Rule] = {
    ("GET", "/healthz"): Access.open,
    ("GET", "/readyz"): Access.open,
    ("GET", "/metrics"): R.metrics_read,
    ("GET", "/"): Access.open,  # the dashboard page: its data needs views.read
    ("GET", "/static/{name}"): Access.open,
    ("GET", "/static/{name:path}"): Access.open,
    ("GET", "/login"): Access.open,
    ("GET", "/docs"): Access.open,  # the API's documentation (no data)
    ("GET", "/redoc"): Access.open,
    ("POST", "/api/v1/auth/login"): Access.open,
    ("POST", "/api/v1/auth/logout"): Access.signed_in,
    ("GET", "/api/v1/auth/me"): Access.signed_in,
    ("GET", "/api/v1/users"): R.users_manage,
    ("POST", "/api/v1/users/{name}/unlock"): R.security_manage,
    ("GET", "/api/v1/audit"): R.audit_read,
    ("POST", _RECORDS): R.records_write,
    ("GET", _RECORDS): R.records_read,
    ("POST", f"{_RECORDS}/bulk"): R.records_import,
    ("GET", f"{_RECORDS}/{{record_id}}"): R.records_read,
    ("PUT", f"{_RECORDS}/{{record_id}}"): R.records_write,
    ("DELETE", f"{_RECORDS}/{{record_id}}"): R.records_write,
    ("POST", f"{_RECORDS}/{{record_id}}/move"): R.records_write,
    ("POST", f"{_RECORDS}/{{record_id}}/reveal"): R.personal_reveal,
    ("POST", f"{_RECORDS}/{{record_id}}/reveal-request"): R.personal_reveal,
    ("GET", _REVEALS): R.personal_reveal,
    ("GET", f"{_REVEALS}/inbox"): R.personal_reveal,
    ("GET", f"{_REVEALS}/{{request_id}}"): R.personal_reveal,
    ("POST", f"{_REVEALS}/{{request_id}}/approve"): R.personal_reveal,
    ("POST", f"{_REVEALS}/{{request_id}}/refuse"): R.personal_reveal,
    ("POST", _DIRECTIVES): R.directives_issue,
    ("GET", _DIRECTIVES): R.directives_read,
    ("GET", f"{_DIRECTIVES}/{{directive_id}}"): R.directives_read,
    ("POST", f"{_DIRECTIVES}/{{directive_id}}/ack"): R.directives_respond,
    ("POST", f"{_DIRECTIVES}/{{directive_id}}/done"): R.directives_respond,
    ("POST", f"{_DIRECTIVES}/{{directive_id}}/reject"): R.directives_respond,
    ("POST", f"{_DIRECTIVES}/{{directive_id}}/cancel"): R.directives_issue,
    ("POST", f"{_DIRECTIVES}/{{directive_id}}/supersede"): R.directives_issue,
    ("POST", "/api/v1/node/resync"): R.ops_run,  # the CLI, while the node serves
    ("POST", "/api/v1/node/receipt"): R.ops_run,
    ("GET", "/api/v1/sync/quarantine"): R.sync_inspect,
    ("GET", "/api/v1/sync/conflicts"): R.sync_inspect,
    ("POST", "/api/v1/sync/push"): Access.child,
    ("POST", "/api/v1/sync/enrol"): Access.child,  # the enrolment code, checked by the route
    ("POST", "/api/v1/sync/key"): Access.child,
    ("GET", "/api/v1/sync/cursor"): Access.child,
    ("GET", "/api/v1/sync/audit-head"): Access.child,
    ("GET", "/api/v1/sync/directives"): Access.child,
}
# Families: every endpoint under these prefixes, for these methods.
FAMILIES: tuple[tuple[frozenset[str], str, Rule], ...] = (
    (frozenset({"GET"}), "/api/v1/views/", R.views_read),
    (frozenset({"GET"}), "/api/v1/live/", R.views_read),  # the dashboard's live feed
    (frozenset({"GET", "POST"}), "/api/v1/ops/", Access.child),  # the operator exchanges
)


def rule_for(method: str, path: str) -> Rule | None:
    """What the endpoint `path` (the route's template) needs for `method`; None: unlisted."""
    method = "GET" if method == "HEAD" else method
    found = ENDPOINTS.get((method, path))
    if found is not None:
        return found
    for methods, prefix, rule in FAMILIES:
        if method in methods and path.startswith(prefix):
            return rule
    return None


def rights_of(role: str) -> frozenset[str]:
    return frozenset(r.value for r in ROLE_RIGHTS[Role(role)])
