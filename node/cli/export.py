"""`tiersync export`: the records of a subtree as registers (XLSX or CSV), for the centres."""

from pathlib import Path
from typing import Annotated

import typer

from node.audit import service as audit
from node.cli.common import (
    CliError,
    JsonOption,
    UsageError,
    check_reason,
    node_context,
    report,
)
from node.cli.options import NodeConfig, node_command
from node.cli.progress import progress_bar
from node.principal import os_actor
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
    reveal: Annotated[
        str | None,
        typer.Option(
            "--reveal",
            metavar="REASON",
            help="Write personal data in clear, for this reason (audited); default: masked.",
        ),
    ] = None,
    json: JsonOption = False,
) -> None:
    """Write the live records of a subtree to an XLSX workbook (one sheet per kind) or a CSV
    file (one kind), with Chinese or English headers; `tiersync import` reads both back.
    ID and phone numbers are masked and key-group details left out unless --reveal says why."""
    check_reason(reveal)
    if lang not in LANGS:
        raise UsageError(f"--lang 只能是 {'、'.join(LANGS)} 之一")
    if encoding.lower() not in ENCODINGS:
        raise UsageError(f"--encoding 只能是 {'、'.join(ENCODINGS)} 之一")
    chosen = list(dict.fromkeys(kinds or BASE_KINDS))
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise UsageError(f"无法判断 {out} 的格式：文件名须以 .xlsx 或 .csv 结尾")
    if suffix == ".csv" and len(chosen) != 1:
        raise UsageError("一个 CSV 文件只能存一类记录：请用 --kind 指定（或导出为 .xlsx）")
    settings = config.settings()
    root = settings.code if unit is None else _code(unit)
    if not is_within(root, settings.code):
        raise CliError(f"单位 {root} 不在本节点（{settings.code}）辖区内")
    clear = reveal is not None
    with node_context(settings, writable=clear) as ctx, progress_bar() as progress:
        if reveal is not None:  # audited before a clear byte is written
            what = f"export to {out.name} of {root} ({', '.join(k.value for k in chosen)})"
            audit.reveal(ctx.db, actor=os_actor(), what=what, reason=reveal)
        task = progress.add_task(f"正在导出 {out.name}", total=None)

        def tick(n: int) -> None:
            progress.advance(task, n)

        if suffix == ".xlsx":
            counts = write_xlsx(
                out, ctx.db, kinds=chosen, unit=root, lang=lang, tick=tick, reveal=clear
            )
        else:
            try:
                counts = write_csv(
                    out, ctx.db, kind=chosen[0], unit=root, lang=lang, encoding=encoding,
                    tick=tick, reveal=clear,
                )  # fmt: skip
            except UnicodeEncodeError as exc:
                raise CliError(
                    f"有数据无法以 {encoding} 编码写出（{exc.reason}）："
                    "请改用 --encoding gb18030 或 utf-8-sig"
                ) from None
    listed = "，".join(f"{k} {n} 条" for k, n in counts.items())
    report(
        json,
        {"file": str(out), "unit": root, "records": counts},
        f"已写出 {out}：{root} 辖区共 {sum(counts.values())} 条记录（{listed}）",
    )


def _code(value: str) -> str:
    try:
        return check_code(value)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
