"""The node's one error hierarchy; a single handler turns any of them into the JSON error body.

TiersyncError(message, details=())    500
├── BadRequest                        400
├── Unauthorized                      401  unknown or wrong credential
├── Forbidden                         403  outside this node's jurisdiction
├── NotFound                          404
├── Conflict                          409  id reused with another kind, record owned elsewhere…
├── TooSlow                           408  request body not in within TIERSYNC_BODY_TIMEOUT_S
├── TooLarge                          413  request body over TIERSYNC_MAX_BODY_BYTES
├── Invalid                           422  field-level validation; carries details
├── StorageFull                       507  the disk is full: nothing was stored
└── Unavailable                       503  database unreachable, migrations not at head
    ├── NoNode                               the configuration points at no node
    └── ClockBehind                          the clock is behind the versions already issued
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class FieldError:
    field: str | None
    reason: str


class TiersyncError(Exception):
    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, details: Iterable[FieldError] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.details = list(details)
        self.extra: dict[str, Any] = {}  # more members of the error object, e.g. a cursor


class BadRequest(TiersyncError):
    status_code = 400
    code = "bad_request"


class Unauthorized(TiersyncError):
    status_code = 401
    code = "unauthorized"


class Forbidden(TiersyncError):
    status_code = 403
    code = "forbidden"


class NotFound(TiersyncError):
    status_code = 404
    code = "not_found"


class Conflict(TiersyncError):
    status_code = 409
    code = "conflict"


class TooSlow(TiersyncError):
    status_code = 408
    code = "too_slow"


class TooLarge(TiersyncError):
    status_code = 413
    code = "too_large"


class Invalid(TiersyncError):
    status_code = 422
    code = "invalid"


class StorageFull(TiersyncError):
    """A write failed because the disk (or the database's allowed size) is full; its
    transaction rolled back, so nothing of it was stored."""

    status_code = 507
    code = "storage_full"
    MESSAGE = (
        "本节点磁盘已满：这次写入没有保存（什么也没有写入）；释放磁盘空间后重试，之前已确认的"
        "写入不受影响 / this node's disk is full: nothing of this write was stored; free disk "
        "space and retry (writes acknowledged before are safe)"
    )

    def __init__(self) -> None:
        super().__init__(self.MESSAGE)

    @staticmethod
    def note(since: datetime) -> str:
        """What /readyz and `tiersync status` say while writes fail on a full disk."""
        at = since.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return (
            f"磁盘已满（自 {at}）：写入回答 507 storage_full，什么也没有保存；后台任务会自动重试，"
            f"释放空间后下一次写入成功即恢复 / disk full since {at}: writes answer 507 "
            "storage_full and store nothing; the background tasks retry; clears once a write "
            "succeeds again after space is freed"
        )


class Unavailable(TiersyncError):
    status_code = 503
    code = "unavailable"


class NoNode(Unavailable):
    """The configured data directory or database holds no tiersync node (yet)."""


class ClockBehind(Unavailable):
    """This node's clock was set back after running ahead: what it would issue now lies more
    than TIERSYNC_MAX_CLOCK_SKEW_S ahead of its clock, and its parent would hold it as `clock
    ahead` (docs/decisions/0603). It refuses to issue until real time catches up."""

    code = "clock_behind"

    def __init__(self, *, ahead_ms: int, max_skew_ms: int) -> None:
        behind_s = (ahead_ms + max_skew_ms) / 1000
        wait_s = max(1, -(-ahead_ms // 1000))
        skew_s = max_skew_ms / 1000
        super().__init__(
            f"本节点时钟比它已发出的版本落后 {behind_s:,.0f} 秒（超过 TIERSYNC_MAX_CLOCK_SKEW_S = "
            f"{skew_s:g} 秒）：时钟曾超前后被调回，现在写入的版本会被上级隔离，所以暂停写入，"
            f"约 {wait_s:,} 秒后自动恢复；请检查 NTP / this node's clock is {behind_s:,.0f} s "
            f"behind the versions it has issued (more than TIERSYNC_MAX_CLOCK_SKEW_S = "
            f"{skew_s:g} s): it ran ahead and was set back, and its parent would hold what it "
            f"writes now; writes resume by themselves in about {wait_s:,} s (check NTP)"
        )
        self.extra = {"retry_after_s": wait_s}
