"""Every descendant's signing key at every ancestor, certified by the prefecture's CA
(docs/protocol.md, Key certificates; docs/decisions/0951).

A direct child's key is kept at its enrolment (or rotation), with the CA's key certificate when
the child has one; each node sends the keys it holds up in its pushes (the `keys` push section),
and each ancestor checks every certificate against its own copy of the CA certificate. So an
ancestor trusts a descendant's key on the CA's word, not on the relays': a certificate that does
not verify refuses the push (403, naming the node); a key without one (no CA in the deployment,
a relay substituting a key of its own) is kept with `certified` false, and whatever needs a
certified key (origin seals) says so.
"""

from pathlib import Path
from typing import Any

import orjson
from cryptography import x509
from sqlalchemy import Connection, Row, insert, select, update

from federation import keycert
from federation.keycert import KeyCertRefused
from node.db import WriteTxn
from node.errors import FieldError, Forbidden
from node.models import DescendantKey, table
from node.seams import OutgoingInfo
from node.units import repository
from schemas.codes import is_within
from schemas.sync import KeyWire, PushBatch

keys = table(DescendantKey)
CA_FILE = Path("tls") / "ca.pem"


def trusted_ca(data_dir: Path, parent_ca: Path | None) -> bytes | None:
    """The prefecture's CA certificate as this node holds it: its own (the top, or a copy in
    `<data_dir>/tls/ca.pem`), else TIERSYNC_PARENT_CA when that is a CA (not a pinned leaf)."""
    for path in (Path(data_dir) / CA_FILE, parent_ca):
        if path is None or not Path(path).is_file():
            continue
        pem = Path(path).read_bytes()
        try:
            cert = x509.load_pem_x509_certificate(pem)
            is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except (ValueError, x509.ExtensionNotFound):
            continue
        if is_ca:
            return pem
    return None


def check_key(
    ca: bytes | None, *, code: str, suite: str, public_key: str, certificate: Any
) -> tuple[str | None, bool]:
    """The certificate to keep (JSON) and whether it was verified with this node's CA.
    KeyCertRefused when a certificate is given and does not hold."""
    if certificate is None:
        return None, False
    cert = keycert.parse(certificate)
    if ca is None or not keycert.certifies(ca, cert):
        if cert.node != code or cert.public_key != public_key:
            raise KeyCertRefused(f"the key certificate given for {code} certifies another key")
        return orjson.dumps(cert.wire()).decode(), False  # kept; checked where the CA is
    keycert.check(ca, cert, node=code, suite=suite, public_key=public_key)
    return orjson.dumps(cert.wire()).decode(), True


def get_key(conn: Connection, code: str) -> Row[Any] | None:
    return conn.execute(select(keys).where(keys.c.code == code)).first()


def known_keys(conn: Connection) -> list[Row[Any]]:
    return list(conn.execute(select(keys).order_by(keys.c.code)))


def remember(
    txn: WriteTxn,
    *,
    code: str,
    via: str,
    public_key: str,
    suite: str,
    certificate: str | None,
    certified: bool,
) -> bool:
    """Keep a descendant's key (the newest as sent); False when nothing changed. A change takes
    a log position, and the child `via` is moved to it, so the next push carries it up."""
    current = get_key(txn.conn, code)
    values: dict[str, Any] = {
        "via": via,
        "public_key": public_key,
        "suite": suite,
        "certificate": certificate,
        "certified": certified,
    }
    if current is not None and all(getattr(current, k) == v for k, v in values.items()):
        return False
    seq = txn.tick()
    values |= {"at": txn.now, "seq": seq}
    if current is None:
        txn.conn.execute(insert(keys).values(code=code, **values))
    else:
        txn.conn.execute(update(keys).where(keys.c.code == code).values(**values))
    repository.touch_unit(txn.conn, via, seq)
    return True


def _wire(row: Any) -> dict[str, Any]:
    certificate = orjson.loads(row.certificate) if row.certificate else None
    return KeyWire(
        code=row.code, public_key=row.public_key, suite=row.suite, certificate=certificate
    ).model_dump(mode="json", exclude_none=True)


class KeySection:
    """The push section `keys`: the descendants' keys changed in the slice, checked above."""

    name = "keys"
    relays_below = True  # the descendants' keys: nothing at a village

    def __init__(self, ca: bytes | None = None) -> None:
        self.ca = ca

    def outgoing(self, conn: Connection, info: OutgoingInfo) -> list[dict[str, Any]] | None:
        stmt = select(keys).where(keys.c.seq > info.since, keys.c.seq <= info.until)
        return [_wire(r) for r in conn.execute(stmt.order_by(keys.c.seq))] or None

    def incoming(
        self, txn: WriteTxn, *, child: str, batch: PushBatch, stored: int
    ) -> dict[str, Any]:
        entries: list[KeyWire] = batch.keys
        if not entries:
            return {}
        wrong: list[FieldError] = []
        checked: list[tuple[KeyWire, str | None, bool]] = []
        for i, e in enumerate(entries):
            if e.code == child or not is_within(e.code, child):
                wrong.append(FieldError(f"keys.{i}.code", f"{e.code} is not below {child}"))
                continue
            try:
                cert, certified = check_key(
                    self.ca,
                    code=e.code,
                    suite=e.suite,
                    public_key=e.public_key,
                    certificate=e.certificate,
                )
            except KeyCertRefused as exc:
                wrong.append(FieldError(f"keys.{i}.certificate", f"node {e.code}: {exc.reason}"))
                continue
            checked.append((e, cert, certified))
        if wrong:
            named = "; ".join(w.reason for w in wrong[:3])
            raise Forbidden(
                f"batch from {child} carries keys this node does not accept ({named}; a key "
                "certificate must verify with the prefecture's CA): nothing was stored",
                wrong[:20],
            )
        for e, cert, certified in checked:
            remember(
                txn,
                code=e.code,
                via=child,
                public_key=e.public_key,
                suite=e.suite,
                certificate=cert,
                certified=certified,
            )
        return {}
