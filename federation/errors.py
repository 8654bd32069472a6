"""What can go wrong talking to a peer, and what the replicator does about it.

FederationError
├── PeerUnavailable      network error, timeout, 5xx: retry with capped backoff
├── CursorMismatch       409: the parent's cursor differs; rewind to it and push again
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


class PeerRejected(FederationError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class ProtocolMismatch(PeerRejected):
    pass
