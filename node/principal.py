"""Who is acting: the principal every audited action and every scoped read or write names.

The kernel knows only this value; node/access/ decides who a request's principal is (tokens,
sessions, rights) and puts it on the request. Local commands act as the OS user who runs them.
"""

import getpass
import os
from dataclasses import dataclass

from node.errors import FieldError, Forbidden
from schemas.codes import is_within


def os_actor() -> str:
    """The operator of a local command: the OS user (SUDO_USER when run through sudo)."""
    try:
        user = os.environ.get("SUDO_USER") or getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"os:{user}"


@dataclass(frozen=True)
class Principal:
    """An authenticated actor: `actor` as the audit log names it (`user:NAME`, `os:USER`),
    its role and rights, and the units it is confined to (empty: the node's whole subtree)."""

    actor: str
    role: str
    rights: frozenset[str]
    units: tuple[str, ...] = ()

    def may(self, right: str) -> bool:
        return right in self.rights

    def covers(self, unit: str) -> bool:
        """Whether `unit` lies in this principal's units (always, when it has none)."""
        return not self.units or any(is_within(unit, root) for root in self.units)

    def confine(self, unit: str | None) -> str | None:
        """The unit a confined principal looks at: the one asked for (403 outside its units),
        else its first; anyone else: `unit` as given (None: the node's own)."""
        if not self.units:
            return unit
        if unit is None:
            return self.units[0]
        self.require(unit)
        return unit

    def require(self, unit: str) -> None:
        """403 naming the unit when it lies outside this principal's units."""
        if not self.covers(unit):
            mine = ", ".join(self.units)
            raise Forbidden(
                f"unit {unit} is outside the units of {self.actor} ({mine})",
                [FieldError("unit", f"{unit} not in {mine}")],
            )


def local(actor: str | None = None) -> Principal:
    """A local command run by the OS user who owns the node's files: not confined by role."""
    return Principal(actor=actor or os_actor(), role="local", rights=frozenset({"*"}))
