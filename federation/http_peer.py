"""The parent reached over HTTP (httpx); the client or its transport is injected."""

import logging
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from federation.client import parent_client, unanswered
from federation.codec import Encoded, encode
from federation.errors import CursorMismatch, PeerRejected, PeerUnavailable, ProtocolMismatch
from federation.peer import OutgoingBatch
from schemas.directives import DirectiveFeed
from schemas.sync import BATCH_MEDIA_TYPE, PROTOCOL_VERSION, PushAck

PUSH_PATH = "/api/v1/sync/push"
CURSOR_PATH = "/api/v1/sync/cursor"
log = logging.getLogger("tiersync.peer")
DIRECTIVES_PATH = "/api/v1/sync/directives"
LONG_POLL_GRACE_S = 15.0  # beyond the parent's hold time, before the request counts as lost


@dataclass
class WireStats:
    """Bytes sent, before and after compression, and records carried; directive pulls."""

    batches: int = 0
    records: int = 0
    raw_bytes: int = 0
    wire_bytes: int = 0
    pulls: int = 0
    pull_bytes: int = 0  # directive feed bytes received, as on the wire


@dataclass
class HttpPeer:
    base_url: str
    token: str
    transport: httpx.AsyncBaseTransport | None = None
    timeout_s: float = 30.0
    stats: WireStats = field(default_factory=WireStats)
    verify_requested: bool = False  # ops: set when an ack asked for `tiersync verify`
    _client: httpx.AsyncClient | None = None

    def __post_init__(self) -> None:
        # Built now, at the node's start: a client's first build loads TLS certificates and
        # modules (a few hundred ms) that would otherwise delay the first push.
        self._http()

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = parent_client(
                self.base_url, self.token, transport=self.transport, timeout_s=self.timeout_s
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def prepare(self, batch: OutgoingBatch, *, source: str) -> OutgoingBatch:
        """The batch with its request body encoded (JSON, zstd) ahead of `push`."""
        return replace(batch, prepared=(source, _encode_push(batch, source)))

    async def push(self, batch: OutgoingBatch, *, source: str) -> PushAck:
        if batch.prepared is not None and batch.prepared[0] == source:
            encoded: Encoded = batch.prepared[1]
        else:
            encoded = _encode_push(batch, source)
        headers = {**encoded.headers, "Content-Type": BATCH_MEDIA_TYPE}
        response = await self._send("POST", PUSH_PATH, content=encoded.body, headers=headers)
        self.stats.batches += 1
        self.stats.records += len(batch.records)
        self.stats.wire_bytes += len(encoded.body)
        self.stats.raw_bytes += encoded.raw_size
        ack = PushAck.model_validate_json(response.content)
        if ack.verify_requested:
            self.verify_requested = True
            log.warning("the parent's copy differs from ours: run `tiersync verify --repair`")
        return ack

    async def cursor(self, *, source: str) -> int:
        response = await self._send("GET", CURSOR_PATH, params={"source": source})
        return int(response.json()["cursor"])

    async def pull_directives(self, *, since: int, wait_s: float) -> DirectiveFeed:
        """Long-poll the parent for directives (see federation.peer.DirectiveSource)."""
        response = await self._send(
            "GET",
            DIRECTIVES_PATH,
            params={"since": since, "wait": wait_s},
            timeout=max(self.timeout_s, wait_s + LONG_POLL_GRACE_S),
        )
        self.stats.pulls += 1
        self.stats.pull_bytes += response.num_bytes_downloaded
        return DirectiveFeed.model_validate_json(response.content)

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._http().request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            timeout = kwargs.get("timeout", self.timeout_s)
            message = unanswered(
                exc, base_url=self.base_url, timeout_s=timeout, request=f"{method} {path}"
            )
            raise PeerUnavailable(message) from exc
        if response.status_code < 400:
            return response
        raise _error_for(response)


def _encode_push(batch: OutgoingBatch, source: str) -> Encoded:
    payload: dict[str, Any] = {
        "protocol": PROTOCOL_VERSION,
        "source": source,
        "since": batch.since,
        "until": batch.until,
        "head": batch.head,
        "records": batch.records,
        "units": batch.units,
    }
    if batch.digest is not None:
        payload["digest"] = batch.digest
    if batch.freshness:  # views: only when there is some (a village never has any)
        payload["freshness"] = batch.freshness
    return encode(payload)


def _error_for(response: httpx.Response) -> Exception:
    try:
        error = response.json().get("error", {})
    except ValueError:
        error = {}
    message = error.get("message") or response.text[:200]
    if response.status_code >= 500 or response.status_code in (408, 429):
        return PeerUnavailable(f"{response.status_code}: {message}")
    if response.status_code == 409 and "cursor" in error:
        return CursorMismatch(int(error["cursor"]), message)
    if error.get("code") == "protocol_mismatch":
        return ProtocolMismatch(response.status_code, message)
    return PeerRejected(response.status_code, message)
