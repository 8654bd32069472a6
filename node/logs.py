"""Structured logs for a serving node: JSON lines in production, readable lines in a terminal.

One handler on the root logger renders the standard library's records (uvicorn, federation/,
node/; fields given as `extra=`) and structlog's events alike, each with its timestamp,
level, logger, the node and the request id of the request it belongs to (node/api/requests.py
binds them). Before rendering,
every value passes `scrub`: what looks like a national ID or a mobile number is replaced, so
that even an exception quoting a value cannot put one in a log. Record data is never logged
(the access line names the route template, never the path or the query).
"""

import logging
import re
import sys
from typing import Any, Literal, TextIO

import structlog
from structlog.typing import EventDict, Processor

from federation.observe import current_request_id

LogFormat = Literal["auto", "json", "console"]
_ID_NUMBER = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
QUIET = {"httpx": logging.WARNING, "httpcore": logging.WARNING, "uvicorn.access": logging.WARNING}


def scrub_text(text: str) -> str:
    return _MOBILE.sub("[phone]", _ID_NUMBER.sub("[id-number]", text))


def scrub(_logger: Any, _method: str, event: EventDict) -> EventDict:
    """Personal identifiers out of every string value (the last step before rendering)."""
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = scrub_text(value)
    return event


def add_request_id(_logger: Any, _method: str, event: EventDict) -> EventDict:
    request_id = current_request_id.get()
    if request_id is not None:
        event.setdefault("request_id", request_id)
    return event


def _shared() -> list[Processor]:
    return [
        structlog.stdlib.ExtraAdder(),  # logging's `extra=` as fields
        structlog.contextvars.merge_contextvars,
        add_request_id,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def resolve(fmt: LogFormat, stream: TextIO) -> Literal["json", "console"]:
    """`auto`: readable lines on a terminal, JSON lines anywhere else (journald, files)."""
    if fmt != "auto":
        return fmt
    return "console" if stream.isatty() else "json"


def configure(
    fmt: LogFormat = "auto", level: str = "info", stream: TextIO | None = None
) -> logging.Handler:
    """Send this process's logs, structlog's and the standard library's, to `stream`
    (default stderr) in one format. Replaces the handler an earlier call installed."""
    stream = stream or sys.stderr
    kind = resolve(fmt, stream)
    renderer: Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if kind == "json"
        else structlog.dev.ConsoleRenderer(colors=stream.isatty())
    )
    structlog.configure(
        processors=[*_shared(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            scrub,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.set_name("tiersync")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "tiersync"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if level != "trace" else "DEBUG")
    for name, quiet in QUIET.items():
        logging.getLogger(name).setLevel(quiet)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()  # through the root handler, in our format
        logging.getLogger(name).propagate = True
        logging.getLogger(name).setLevel(logging.NOTSET)  # the root's level (uvicorn sets its own)
    return handler
