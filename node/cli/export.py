"""`tiersync export`: the records of a subtree as registers (XLSX or CSV), for the centres."""

from pathlib import Path
from typing import Annotated

import typer

from node.cli.common import CliError, JsonOption, UsageError, node_context, print_json, say
from node.cli.options import NodeConfig, node_command
from node.cli.progress import progress_bar
from node.registers.export import write_csv, write_xlsx
from node.registers.read import ENCODINGS
from schemas.codes import check_code, is_within
from schemas.kinds import BASE_KINDS, Kind

LANGS = ("zh", "en")


@node_command()
def export(
    config: NodeConfig,
    out: Annotated[Path, typer.Option(help="File to write: .xlsx or .csv.")],
    kinds: Annotated[
        list[Kind] | None, typer.Option("--kind", help="Kind(s) to export (default: all ten).")
    ] = None,
    unit: Annotated[str | None, typer.Option(help="Subtree root (default: this node).")] = None,
    lang: Annotated[str, typer.Option(help="Headers and values: zh (Chinese) or en.")] = "zh",
    encoding: Annotated[
        str, typer.Option(help=f"CSV encoding: {', '.join(ENCODINGS)}.")
    ] = "utf-8-sig",
    json: JsonOption = False,
) -> None:
    """Write the live records of a subtree to an XLSX workbook (one sheet per kind) or a CSV
    file (one kind), with Chinese or English headers; `tiersync import` reads both back."""
    if lang not in LANGS:
        raise UsageError(f"--lang must be one of {', '.join(LANGS)}")
    if encoding.lower() not in ENCODINGS:
        raise UsageError(f"--encoding must be one of {', '.join(ENCODINGS)}")
    chosen = list(dict.fromkeys(kinds or BASE_KINDS))
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise UsageError(f"cannot tell the format of {out}: name it .xlsx or .csv")
    if suffix == ".csv" and len(chosen) != 1:
        raise UsageError("a CSV file holds one kind: pass --kind (or write .xlsx)")
    settings = config.settings()
    root = settings.code if unit is None else _code(unit)
    if not is_within(root, settings.code):
        raise CliError(f"unit {root} is outside this node's jurisdiction ({settings.code})")
    with node_context(settings, writable=False) as ctx, progress_bar() as progress:
        task = progress.add_task(f"exporting {out.name}", total=None)

        def tick(n: int) -> None:
            progress.advance(task, n)

        if suffix == ".xlsx":
            counts = write_xlsx(out, ctx.db, kinds=chosen, unit=root, lang=lang, tick=tick)
        else:
            try:
                counts = write_csv(
                    out, ctx.db, kind=chosen[0], unit=root, lang=lang, encoding=encoding, tick=tick
                )
            except UnicodeEncodeError as exc:
                raise CliError(
                    f"a value cannot be written in {encoding} ({exc.reason}): "
                    "use --encoding gb18030 or utf-8-sig"
                ) from None
    if json:
        print_json({"file": str(out), "unit": root, "records": counts})
    else:
        listed = ", ".join(f"{n} {k}" for k, n in counts.items())
        say(f"wrote {out}: {sum(counts.values())} records of {root} ({listed})")


def _code(value: str) -> str:
    try:
        return check_code(value)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
