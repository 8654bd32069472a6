"""Examples in the docs are checked against the code, so they cannot drift (issue 17)."""

import re
from pathlib import Path

import httpx
import orjson

from node import errors
from node.cli.serve import SHUTDOWN_GRACE_S
from schemas.errors import ErrorBody

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _keys_after(marker: str) -> set[str]:
    """The JSON keys of the README's example answer on the line that starts with `marker`."""
    line = next(line for line in README.splitlines() if line.startswith(marker))
    return set(re.findall(r'"(\w+)":', line))


async def test_health_answers_carry_the_keys_the_readme_shows(
    node_client: httpx.AsyncClient,
) -> None:
    for path in ("/healthz", "/readyz"):
        answer = (await node_client.get(path)).json()
        assert set(answer) == _keys_after(f"- `GET {path}`"), (path, answer)


def _server_codes() -> dict[str, int]:
    classes = [errors.TiersyncError, *errors.TiersyncError.__subclasses__()]
    return {
        c.code: c.status_code
        for c in classes
        if c.status_code < 500 and c.__module__ == errors.__name__
    }


def test_the_readme_lists_every_error_code_the_server_sends() -> None:
    listed = dict((code, int(status)) for code, status in re.findall(r"`(\w+)` \((\d{3})", README))
    for code, status in _server_codes().items():
        assert listed.get(code) == status, (code, status, listed)


def test_error_examples_use_codes_the_server_sends() -> None:
    example = ErrorBody.model_config["json_schema_extra"]["examples"][0]  # type: ignore[index]
    assert example["error"]["code"] == errors.Invalid.code
    readme_example = README.split('```json\n{"error":', 1)[1].split("```", 1)[0]
    body = orjson.loads('{"error":' + readme_example)
    assert body["error"]["code"] in _server_codes()
    ErrorBody.model_validate(body)


def test_shutdown_grace_is_quoted_as_the_code_has_it() -> None:
    unit = (ROOT / "deploy" / "tiersync.service").read_text(encoding="utf-8")
    quoted = {int(n) for n in re.findall(r"up to (\d+) s\b", unit + README)}
    assert quoted == {SHUTDOWN_GRACE_S}, quoted
    stop = int(re.search(r"^TimeoutStopSec=(\d+)", unit, re.M).group(1))  # type: ignore[union-attr]
    assert stop > SHUTDOWN_GRACE_S
