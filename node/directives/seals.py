"""Directive signatures on the downward feed (docs/decisions/0951, docs/protocol.md).

The issuer signs each version of its own directives (`[id, version, deleted, data]`,
federation/origin.py) as it serves it to a child, and sends its key certificate with it; a
relay keeps both with the version it stores and serves them on unchanged. A node that holds the
prefecture's CA certificate stores a directive version only when its issuer is a strict
ancestor, the key certificate is the CA's for that issuer, and the signature verifies with the
certified key. A node without a CA (a plain deployment, or one still being upgraded) cannot
check a key and accepts unsigned versions — its `status` says so.
"""

import base64
import binascii
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import orjson

from federation import keycert, origin
from federation.crypto import suite
from federation.identity import Identity
from federation.keycert import KeyCertRefused
from federation.signing import NodeKey
from node.context import NodeContext
from node.units.keys import trusted_ca
from schemas.directives import DirectiveSeal
from schemas.sync import ChangeRecord


@dataclass(frozen=True)
class DirectiveSigner:
    """This node's key at work on the directives it issued."""

    code: str
    identity: Identity

    @classmethod
    def of(cls, code: str, data_dir: Path, suite_name: str) -> "DirectiveSigner":
        return cls(code, Identity.of(data_dir, suite_name))

    # Read from their files once per signer (a signer serves one feed page), not per directive.
    @cached_property
    def _key(self) -> NodeKey:
        return self.identity.key()

    @cached_property
    def _certificate(self) -> dict[str, Any] | None:
        return self.identity.certificate()

    def seal(self, record: ChangeRecord) -> DirectiveSeal:
        wire = record.model_dump(mode="json")
        signature = origin.sign_directive(self._key.sign, wire)
        return DirectiveSeal(
            version=record.version, signature=signature, certificate=self._certificate
        )


def signer_of(ctx: NodeContext) -> DirectiveSigner:
    return DirectiveSigner.of(ctx.settings.code, ctx.settings.data_dir, ctx.settings.crypto)


def trusted_ca_of(ctx: NodeContext) -> bytes | None:
    """The prefecture's CA certificate this node checks its directives with (None: none)."""
    return trusted_ca(ctx.settings.data_dir, ctx.settings.parent_ca)


def stored(row: Any) -> DirectiveSeal | None:
    """The seal a relay keeps in its directive index (None: it was given none)."""
    if row.signature is None:
        return None
    return DirectiveSeal(
        version="",  # filled in by the caller with the version held
        signature=row.signature,
        certificate=orjson.loads(row.certificate) if row.certificate else None,
    )


def refusal(
    ca: bytes | None,
    suite_name: str,
    *,
    node_code: str,
    record: ChangeRecord,
    seal: DirectiveSeal | None,
) -> str | None:
    """Why this node must not store the directive version, or None. Without a CA nothing can
    be checked, and an unsigned version is taken (the rolling upgrade, plain deployments)."""
    if ca is None:
        return None
    name = f"directive {record.id}"
    if seal is None:
        return f"{name}: not signed by its issuer (this node holds the prefecture's CA)"
    if seal.version != record.version:
        return f"{name}: the signature is for version {seal.version}, not {record.version}"
    issuer = record.version.partition(".")[2]
    if seal.certificate is None:
        return f"{name}: no key certificate of its issuer {issuer}"
    try:
        cert = keycert.parse(seal.certificate)
        keycert.check(ca, cert, node=issuer, suite=suite_name, public_key=None)
        public = base64.b64decode(cert.public_key, validate=True)
    except KeyCertRefused as exc:
        return f"{name}: {exc.reason}"
    except (binascii.Error, ValueError):
        return f"{name}: the key certificate of {issuer} holds no key"
    return origin.check_directive(
        suite(suite_name),
        {issuer: public},
        target=node_code,
        record=record.model_dump(mode="json"),
        signature=seal.signature,
    )
