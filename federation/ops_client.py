"""The operator exchanges with the parent (docs/protocol.md, "Operator exchanges"), over httpx.

Every call is safe to repeat: reads have no effect, a repair is applied idempotently. Errors are
those of federation.errors (PeerUnavailable, PeerRejected), as for a push.
"""

from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from federation.client import parent_client, unanswered
from federation.codec import encode
from federation.errors import PeerUnavailable
from federation.http_peer import _error_for
from schemas.ops import (
    DigestLeaves,
    DigestNodes,
    DigestRoot,
    ExportPage,
    RecordsFound,
    RepairResult,
)
from schemas.sync import PROTOCOL_VERSION

OPS = "/api/v1/ops"
M = TypeVar("M", bound=BaseModel)


@dataclass
class ExchangeStats:
    """Requests made and bytes on the wire both ways (bodies, after compression)."""

    requests: int = 0
    sent: int = 0
    received: int = 0

    @property
    def bytes(self) -> int:
        return self.sent + self.received


@dataclass
class OpsClient:
    base_url: str
    token: str
    transport: httpx.AsyncBaseTransport | None = None
    timeout_s: float = 60.0
    stats: ExchangeStats = field(default_factory=ExchangeStats)
    _client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = parent_client(
                self.base_url,
                self.token,
                transport=self.transport,
                timeout_s=self.timeout_s,
                headers={"Accept-Encoding": "zstd"},
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __aenter__(self) -> "OpsClient":
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def digest_root(self) -> DigestRoot:
        return await self._call(DigestRoot, "GET", "/digest")

    async def digest_nodes(self, kind: str, prefixes: list[str]) -> DigestNodes:
        return await self._call(
            DigestNodes, "POST", "/digest/nodes", {"kind": kind, "prefixes": prefixes}
        )

    async def digest_leaves(self, kind: str, prefixes: list[str]) -> DigestLeaves:
        return await self._call(
            DigestLeaves, "POST", "/digest/leaves", {"kind": kind, "prefixes": prefixes}
        )

    async def records(self, ids: list[str], *, data: bool = True) -> RecordsFound:
        return await self._call(RecordsFound, "POST", "/records", {"ids": ids, "data": data})

    async def repair(self, records: list[dict[str, Any]], *, source: str) -> RepairResult:
        body = {"protocol": PROTOCOL_VERSION, "source": source, "records": records}
        return await self._call(RepairResult, "POST", "/repair", body)

    async def export_page(self, after: str | None, *, limit: int = 1000) -> ExportPage:
        params: dict[str, Any] = {"limit": limit} | ({"after": after} if after else {})
        return await self._call(ExportPage, "GET", "/export", params=params)

    async def _call(
        self,
        model: type[M],
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> M:
        kwargs: dict[str, Any] = {"params": params}
        if body is not None:
            encoded = encode(body)
            kwargs["content"] = encoded.body
            kwargs["headers"] = {**encoded.headers, "Content-Type": "application/json"}
            self.stats.sent += len(encoded.body)
        try:
            response = await self._http().request(method, OPS + path, **kwargs)
        except httpx.HTTPError as exc:
            message = unanswered(
                exc, base_url=self.base_url, timeout_s=self.timeout_s, request=f"{method} {path}"
            )
            raise PeerUnavailable(message) from exc
        self.stats.requests += 1
        self.stats.received += response.num_bytes_downloaded
        if response.status_code >= 400:
            raise _error_for(response)
        return model.model_validate_json(response.content)
