"""The parent reached over HTTP: the one implementation of federation.peer.Parent.

One httpx client carries every exchange with the parent — pushes, cursor, directive long polls
and the operator exchanges — with the child's credential (an httpx.Auth), the protocol header
and zstd accepted. The transport is injected (tests route many in-process nodes through one);
so may be the auth, e.g. to sign requests. `node/wiring.py` builds it, once per node.
"""

import logging
import ssl
import time
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from federation.auth import BearerToken
from federation.codec import Encoded, encode
from federation.errors import (
    CursorMismatch,
    PeerRejected,
    PeerUnavailable,
    ProtocolError,
    ProtocolMismatch,
)
from federation.observe import REQUEST_ID_HEADER, Exchange, Observer, error_kind, request_id
from federation.peer import OutgoingBatch
from schemas.directives import DirectiveFeed
from schemas.ops import (
    DigestLeaves,
    DigestNodes,
    DigestRoot,
    ExportPage,
    RecordsFound,
    RepairResult,
)
from schemas.sync import BATCH_MEDIA_TYPE, PROTOCOL_VERSION, CursorInfo, PushAck

PUSH_PATH = "/api/v1/sync/push"
CURSOR_PATH = "/api/v1/sync/cursor"
DIRECTIVES_PATH = "/api/v1/sync/directives"
KEY_PATH = "/api/v1/sync/key"
AUDIT_HEAD_PATH = "/api/v1/sync/audit-head"
OPS = "/api/v1/ops"
OPERATIONS = {PUSH_PATH: "push", CURSOR_PATH: "cursor", DIRECTIVES_PATH: "pull"}
LONG_POLL_GRACE_S = 15.0  # beyond the parent's hold time, before the request counts as lost
log = logging.getLogger("tiersync.peer")
M = TypeVar("M", bound=BaseModel)


@dataclass
class WireStats:
    """Bytes sent, before and after compression, and records carried; directive pulls."""

    batches: int = 0
    records: int = 0
    raw_bytes: int = 0
    wire_bytes: int = 0
    header_bytes: int = 0  # the push requests' header lines (credentials, signatures)
    pulls: int = 0
    pull_bytes: int = 0  # directive feed bytes received, as on the wire


@dataclass
class ExchangeStats:
    """Operator exchanges: requests made and bytes on the wire both ways (after compression)."""

    requests: int = 0
    sent: int = 0
    received: int = 0

    @property
    def bytes(self) -> int:
        return self.sent + self.received


@dataclass
class HttpPeer:
    base_url: str
    token: str
    transport: httpx.AsyncBaseTransport | None = None
    timeout_s: float = 30.0
    exchange_timeout_s: float = 60.0  # operator exchanges may walk large subtrees
    auth: httpx.Auth | None = None  # default: the token as a bearer credential
    verify: ssl.SSLContext | bool = True  # an https:// parent: the pinned CA (node/uplink.py)
    stats: WireStats = field(default_factory=WireStats)
    exchanges: ExchangeStats = field(default_factory=ExchangeStats)
    verify_requested: bool = False  # digests: set when an ack asked for `tiersync verify`
    observe: Observer | None = None  # told of every request (the node's metrics)
    _client: httpx.AsyncClient | None = None

    def __post_init__(self) -> None:
        # Built now, at the node's start: a client's first build loads TLS certificates and
        # modules (a few hundred ms) that would otherwise delay the first push.
        self._http()

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                base_url=self.base_url,
                auth=self.auth or BearerToken(self.token),
                transport=self.transport,
                verify=self.verify,
                timeout=self.timeout_s,
                headers={"X-Tiersync-Protocol": str(PROTOCOL_VERSION), "Accept-Encoding": "zstd"},
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # --- upward: pushes (federation.peer.Peer) -------------------------------------------------

    def prepare(self, batch: OutgoingBatch, *, source: str) -> OutgoingBatch:
        """The batch with its request body encoded (JSON, zstd) ahead of `push`."""
        return replace(batch, prepared=(source, encode(batch.payload(source))))

    async def push(self, batch: OutgoingBatch, *, source: str) -> PushAck:
        if batch.prepared is not None and batch.prepared[0] == source:
            encoded: Encoded = batch.prepared[1]
        else:
            encoded = encode(batch.payload(source))
        headers = {**encoded.headers, "Content-Type": BATCH_MEDIA_TYPE}
        response = await self._send("POST", PUSH_PATH, content=encoded.body, headers=headers)
        self.stats.batches += 1
        self.stats.records += len(batch.records)
        self.stats.wire_bytes += len(encoded.body)
        self.stats.raw_bytes += encoded.raw_size
        self.stats.header_bytes += sum(len(k) + len(v) + 4 for k, v in response.request.headers.raw)
        ack = _parse(PushAck, response)
        if ack.verify_requested:
            self.verify_requested = True
            log.warning("the parent's copy differs from ours: run `tiersync verify --repair`")
        return ack

    async def cursor(self, *, source: str) -> int:
        return (await self.standing(source=source)).cursor

    async def standing(self, *, source: str) -> CursorInfo:
        response = await self._send("GET", CURSOR_PATH, params={"source": source})
        return _parse(CursorInfo, response)

    async def audit_head(self) -> tuple[int, str] | None:
        """The head of this node's audit chain as the parent holds it (id, hash), if any."""
        body = (await self._send("GET", AUDIT_HEAD_PATH)).json()
        return (int(body["id"]), str(body["hash"])) if body.get("id") else None

    # --- downward: directives (federation.peer.DirectiveSource) --------------------------------

    async def pull_directives(self, *, since: int, wait_s: float) -> DirectiveFeed:
        response = await self._send(
            "GET",
            DIRECTIVES_PATH,
            params={"since": since, "wait": wait_s},
            timeout=max(self.timeout_s, wait_s + LONG_POLL_GRACE_S),
        )
        self.stats.pulls += 1
        self.stats.pull_bytes += response.num_bytes_downloaded
        return _parse(DirectiveFeed, response)

    # --- the link itself -------------------------------------------------------------------

    async def rotate_key(
        self, public_key: str, endorsement: str, certificate: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Register this node's next key at the parent (signed with the current one), or,
        given this node's current key and a CA key certificate of it, have it certified."""
        fields: dict[str, Any] = {"public_key": public_key, "endorsement": endorsement}
        if certificate is not None:
            fields["certificate"] = certificate
        body = encode(fields)
        headers = {**body.headers, "Content-Type": "application/json"}
        response = await self._send("POST", KEY_PATH, content=body.body, headers=headers)
        return dict(response.json())

    # --- operator exchanges (federation.peer.OperatorExchanges) --------------------------------

    async def digest_root(self) -> DigestRoot:
        return await self._exchange(DigestRoot, "GET", "/digest")

    async def digest_nodes(self, kind: str, prefixes: list[str]) -> DigestNodes:
        body = {"kind": kind, "prefixes": prefixes}
        return await self._exchange(DigestNodes, "POST", "/digest/nodes", body)

    async def digest_leaves(self, kind: str, prefixes: list[str]) -> DigestLeaves:
        body = {"kind": kind, "prefixes": prefixes}
        return await self._exchange(DigestLeaves, "POST", "/digest/leaves", body)

    async def records(self, ids: list[str], *, data: bool = True) -> RecordsFound:
        return await self._exchange(RecordsFound, "POST", "/records", {"ids": ids, "data": data})

    async def repair(self, records: list[dict[str, Any]], *, source: str) -> RepairResult:
        body = {"protocol": PROTOCOL_VERSION, "source": source, "records": records}
        return await self._exchange(RepairResult, "POST", "/repair", body)

    async def export_page(self, after: str | None, *, limit: int = 1000) -> ExportPage:
        params: dict[str, Any] = {"limit": limit} | ({"after": after} if after else {})
        return await self._exchange(ExportPage, "GET", "/export", params=params)

    async def _exchange(
        self,
        model: type[M],
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> M:
        kwargs: dict[str, Any] = {"params": params, "timeout": self.exchange_timeout_s}
        if body is not None:
            encoded = encode(body)
            kwargs["content"] = encoded.body
            kwargs["headers"] = {**encoded.headers, "Content-Type": "application/json"}
            self.exchanges.sent += len(encoded.body)
        response = await self._send(method, OPS + path, **kwargs)
        self.exchanges.requests += 1
        self.exchanges.received += response.num_bytes_downloaded
        return _parse(model, response)

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request, with the request id; every outcome is told to `observe`."""
        kwargs["headers"] = {**kwargs.get("headers", {}), REQUEST_ID_HEADER: request_id()}
        started = time.perf_counter()
        sent = len(kwargs.get("content") or b"")
        try:
            response = await self._http().request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            self._observed(path, started, sent, 0, error_kind(exc=exc))
            timeout = kwargs.get("timeout", self.timeout_s)
            message = unanswered(
                exc, base_url=self.base_url, timeout_s=timeout, request=f"{method} {path}"
            )
            raise PeerUnavailable(message) from exc
        received = response.num_bytes_downloaded
        if response.status_code < 400:
            self._observed(path, started, sent, received, None)
            return response
        error, code = _error_for(response)
        kind = error_kind(status=response.status_code, code=code)
        self._observed(path, started, sent, received, kind)
        raise error

    def _observed(
        self, path: str, started: float, sent: int, received: int, error: str | None
    ) -> None:
        if self.observe is None:
            return
        operation = OPERATIONS.get(path, "exchange")
        seconds = time.perf_counter() - started
        self.observe(Exchange(operation, seconds, sent, received, error))


def _parse(model: type[M], response: httpx.Response) -> M:
    """The answer's body as `model`; a 2xx body that is not one is the peer's protocol error
    (retried like an unreachable parent, but shown as a failing task)."""
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        request = f"{response.request.method} {response.request.url.path}"
        body = response.content[:80].decode("utf-8", "replace")
        raise ProtocolError(
            f"{request} answered {response.status_code} with a body that is not a "
            f"{model.__name__} ({exc.error_count()} error(s)): {body!r}"
        ) from exc


def unanswered(exc: httpx.HTTPError, *, base_url: str, timeout_s: float, request: str) -> str:
    """One line for an operator: which node did not answer, after how long, what to check."""
    where = f"the parent node at {base_url}"
    if isinstance(exc, httpx.TimeoutException):
        return (
            f"{where} did not answer within {timeout_s:g} s ({request}): check that it is "
            "running and not overloaded, and the network between; the limit is "
            "TIERSYNC_PARENT_TIMEOUT_S"
        )
    reason = str(exc).strip() or exc.__class__.__name__
    if isinstance(exc, httpx.ConnectError):
        return (
            f"could not connect to {where} ({request}): {reason}; check that it is running "
            "and that parent_url is right"
        )
    return f"{where} failed ({request}): {exc.__class__.__name__}: {reason}"


def _error_for(response: httpx.Response) -> tuple[Exception, str]:
    """The error an answer of status >= 400 means, and its error code."""
    try:
        error = response.json().get("error", {})
    except ValueError:
        error = {}
    message = error.get("message") or response.text[:200]
    code = str(error.get("code") or "")
    if response.status_code >= 500 or response.status_code in (408, 429):
        return PeerUnavailable(f"{response.status_code}: {message}"), code
    if response.status_code == 409 and "cursor" in error:
        return CursorMismatch(int(error["cursor"]), message), code
    if code == "protocol_mismatch":
        return ProtocolMismatch(response.status_code, message), code
    return PeerRejected(response.status_code, message), code
