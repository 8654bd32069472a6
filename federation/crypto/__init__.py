"""The node's cryptography, by suite (see suites.py): `suite("default")` or `suite("sm")`."""

from federation.crypto.suites import (
    DecryptionFailed,
    DefaultSuite,
    KeyPair,
    SmSuite,
    Suite,
    constant_time_equal,
)

SUITES: dict[str, Suite] = {"default": DefaultSuite(), "sm": SmSuite()}


def suite(name: str) -> Suite:
    """The suite called `name`; ValueError naming the known ones otherwise."""
    try:
        return SUITES[name]
    except KeyError:
        raise ValueError(f"unknown crypto suite {name!r}; known: {', '.join(SUITES)}") from None


__all__ = [
    "SUITES",
    "DecryptionFailed",
    "DefaultSuite",
    "KeyPair",
    "SmSuite",
    "Suite",
    "constant_time_equal",
    "suite",
]
