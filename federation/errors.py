"""What can go wrong talking to a peer, and what the replicator does about it.

FederationError
├── PeerUnavailable      network error, timeout, 5xx: retry with capped backoff
├── CursorMismatch       409: the parent's cursor differs; rewind to it and push again
├── ProtocolError        a 2xx whose body is not what the protocol says: retry with backoff,
│                        the task shows as failing
└── PeerRejected         401/403/4xx: resending the same bytes will not help; needs an operator
    └── ProtocolMismatch the peers speak different protocol versions
"""


class FederationError(Exception):
    pass


class PeerUnavailable(FederationError):
    pass


class CursorMismatch(FederationError):
    def __init__(self, cursor: int, reason: str = "") -> None:
        super().__init__(f"parent cursor is {cursor}: {reason}")
        self.cursor = cursor
        self.reason = reason


class ProtocolError(FederationError):
    """The peer answered 2xx with a body that is not the protocol's answer (a proxy's page,
    a truncated body, a node of another version)."""


class PeerRejected(FederationError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class ProtocolMismatch(PeerRejected):
    pass
