"""Passwords (argon2id, argon2-cffi's defaults: RFC 9106's second recommended profile) and the
TOTP second factor (RFC 6238, 30 s steps, one step of clock drift either way)."""

from functools import cache

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from node.errors import FieldError, Invalid

_hasher = PasswordHasher()
MIN_LENGTH = 10
ISSUER = "tiersync"


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise Invalid(
            "password too short",
            [FieldError("password", f"at least {MIN_LENGTH} characters")],
        )
    if len(password) > 1024:
        raise Invalid("password too long", [FieldError("password", "at most 1024 characters")])
    classes = sum(
        any(test(c) for c in password)
        for test in (str.islower, str.isupper, str.isdigit, lambda c: not c.isalnum())
    )
    if classes < 3:
        raise Invalid(
            "password too simple",
            [FieldError("password", "use three of: lower case, upper case, digits, symbols")],
        )


def hash_password(password: str) -> str:
    check_strength(password)
    return _hasher.hash(password)


@cache
def _dummy() -> str:
    """Verified against when the user does not exist, so that an unknown name costs the same
    time; made at the first sign-in, not at import (an argon2 hash: 0.1 s of every start)."""
    return _hasher.hash("not a password of anyone")


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _dummy(), password[:1024]) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, *, user: str, node: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=f"{user}@{node}", issuer_name=ISSUER)


def verify_totp(secret: str, code: str) -> bool:
    code = code.strip().replace(" ", "")
    return code.isdigit() and len(code) == 6 and pyotp.TOTP(secret).verify(code, valid_window=1)
