"""What operators read from the CLI is Chinese: every report line and error message written in
node/cli (say, warn, report, CliError, UsageError, BadParameter) holds Chinese text, unless it
is a line a script or operator copies whole (a command, a variable assignment, a curl call)."""

import ast
import re
from pathlib import Path

CLI = Path(__file__).resolve().parent.parent / "node" / "cli"
SPOKEN = {"say", "warn", "fail", "CliError", "UsageError", "BadParameter"}
# "error: " starts every problem line on stderr: scripts look for it (node/cli/common.py).
COPIED = re.compile(r"^\s*(tiersync |export TOKEN=|TIERSYNC_[A-Z_]+=|curl |error: $)")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _texts(node: ast.expr) -> list[str]:
    """The literal text of a string or f-string argument (its placeholders left out)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        parts = [v.value for v in node.values if isinstance(v, ast.Constant)]
        return ["".join(p for p in parts if isinstance(p, str))]
    if isinstance(node, ast.IfExp):  # a line only some results have: each branch
        return _texts(node.body) + _texts(node.orelse)
    return []


def _spoken(call: ast.Call) -> list[ast.expr]:
    func = call.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
    if name in SPOKEN:
        return call.args[:1]
    if name == "report":  # report(json, data, *lines)
        return call.args[2:]
    return []


def untranslated() -> list[str]:
    found = []
    for path in sorted(CLI.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            for arg in _spoken(node):
                for text in _texts(arg):
                    english = re.search(r"[A-Za-z]{2,}", text) and not CJK.search(text)
                    if english and not COPIED.match(text):
                        found.append(f"{path.name}:{node.lineno}: {text!r}")
    return found


def test_every_cli_report_line_and_error_is_chinese() -> None:
    assert untranslated() == []
