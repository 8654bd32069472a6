"""Registers as the centres keep them (issue 17): XLSX workbooks with one sheet per kind and
Chinese headers, CSV in GBK / GB18030 / UTF-8 with BOM, every bad row reported by sheet and row
with the field and the reason; exports of a subtree that import back unchanged."""

import csv
import io
from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from openpyxl import Workbook, load_workbook

from schemas.idnumber import make_id_number
from tests.cli_support import isolated, run  # noqa: F401 (an autouse fixture)

VILLAGE, GRID = "632322101201", "632322101201003"


@pytest.fixture
def village(tmp_path: Path) -> Path:
    config = tmp_path / "v" / "tiersync.toml"
    result = run("init", "--config", config, "--code", VILLAGE, "--data-dir", tmp_path / "v")
    assert result.exit_code == 0, result.output
    return config


def stored(config: Path, kind: str) -> list[dict[str, Any]]:
    result = run(
        "--config", config, "records", "list", "--kind", kind, "--limit", "1000", "--json",
        "--reveal", "the test checks what was stored",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    items: list[dict[str, Any]] = orjson.loads(result.stdout)["items"]
    return items


def ids(n: int, sex: str = "male") -> list[str]:
    out = []
    for i in range(200):
        number = make_id_number("632322", date(1980, 1, 2), i)
        if (int(number[16]) % 2 == 1) == (sex == "male"):
            out.append(number)
        if len(out) == n:
            return out
    raise AssertionError("not enough ID numbers")


def broken(number: str) -> str:
    return number[:-1] + ("1" if number[-1] == "0" else "0")


def test_xlsx_with_chinese_headers_imports_good_rows_and_reports_bad_ones(
    village: Path, tmp_path: Path
) -> None:
    men, women = ids(2), ids(1, "female")
    book = Workbook()
    people = book.active
    assert people is not None
    people.title = "实有人口"
    people.append(["身份证号", "姓名", "性别", "出生日期", "单位代码", "人口状态", "联系电话"])
    people.append([men[0], "才让", "男", date(1980, 1, 2), GRID, "流动", 13912345678])
    people.append([broken(men[1]), "扎西", "男", date(1980, 1, 2), GRID, None, None])
    people.append([women[0], "卓玛", "女", "1980年1月2日", VILLAGE, "户籍", None])
    people.append([None, None, None, None, None, None, None])  # a blank row is skipped
    people.append([women[0], "拉姆", "男", datetime(1980, 1, 2), VILLAGE, None, None])
    houses = book.create_sheet("房屋")
    houses.append(["地址", "户主姓名", "家庭人数", "房屋类型", "单位代码"])
    houses.append(["东门村 17 号", "才让", 4, "自有", VILLAGE])
    houses.append(["东门村 18 号", "扎西", 2_000_000_000, "租赁", VILLAGE])
    path = tmp_path / "register.xlsx"
    book.save(path)

    result = run("--config", village, "import", path, "--json")
    assert result.exit_code == 1, result.output
    report = orjson.loads(result.stdout)
    assert report["imported"] == 3
    bad = {(r["sheet"], r["row"]): r["error"] for r in report["rejected"]}
    assert sorted(bad) == [("实有人口", 3), ("实有人口", 6), ("房屋", 3)]
    assert "data.id_number" in bad[("实有人口", 3)] and "check character" in bad[("实有人口", 3)]
    assert "data.sex" in bad[("实有人口", 6)]
    assert "data.member_count" in bad[("房屋", 3)]
    readable = run("--config", village, "import", path)
    assert "sheet 实有人口 row 3: " in readable.stderr

    persons = {p["data"]["name"]: p for p in stored(village, "person")}
    assert persons["才让"]["data"] == {
        "id_number": men[0],
        "name": "才让",
        "sex": "male",
        "birth_date": "1980-01-02",
        "status": "floating",
        "phone": "13912345678",
    }
    assert persons["才让"]["unit"] == GRID
    assert persons["卓玛"]["data"]["sex"] == "female"
    assert persons["卓玛"]["data"]["status"] == "registered"
    houses = stored(village, "household")  # imported twice above: rows without an id add up
    assert {(h["data"]["house_type"], h["data"]["member_count"]) for h in houses} == {("owned", 4)}


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-8"])
def test_csv_in_each_encoding_is_detected_and_bad_rows_reported(
    village: Path, tmp_path: Path, encoding: str
) -> None:
    good, bad = ids(2)
    text = (
        "身份证号,姓名,性别,出生日期\n"
        f"{good},才让多杰,男,1980/1/2\n"
        f"{broken(bad)},扎西,男,1980-01-02\n"
        f"{bad},扎西,女,1980-01-02\n"
    )
    path = tmp_path / f"people-{encoding}.csv"
    path.write_bytes(text.encode(encoding))
    args = ["--config", village, "import", path, "--kind", "person", "--unit", VILLAGE]
    result = run(*args, "--json")
    assert result.exit_code == 1, result.output
    report = orjson.loads(result.stdout)
    assert report["imported"] == 1
    errors = {r["line"]: r["error"] for r in report["rejected"]}
    assert sorted(errors) == [3, 4]
    assert "data.id_number" in errors[3] and "data.sex" in errors[4]
    [person] = stored(village, "person")
    assert person["data"]["name"] == "才让多杰" and person["data"]["birth_date"] == "1980-01-02"


def test_a_wrong_encoding_given_is_one_error_line(village: Path, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes("kind,unit,name\nperson,632322101201,才让\n".encode("gbk"))
    result = run("--config", village, "import", path, "--encoding", "utf-8")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and "not utf-8 text (line 2)" in result.stderr


def test_export_xlsx_in_chinese_imports_back_unchanged(village: Path, tmp_path: Path) -> None:
    men = ids(3)
    source = tmp_path / "in.csv"
    source.write_text(
        "kind,unit,id_number,name,sex,birth_date,status\n"
        + "".join(f"person,{GRID},{n},人{i},male,1980-01-02,floating\n" for i, n in enumerate(men))
        + f"dispute,{VILLAGE},,,,,\n",
        encoding="utf-8",
    )
    disputes = tmp_path / "disputes.ndjson"
    dispute = {
        "kind": "dispute",
        "unit": VILLAGE,
        "data": {
            "case_no": "JZ-1",
            "parties": ["才让", "扎西"],
            "accepted_on": "2020-06-02",
            "status": "mediated",
            "judicial_confirmation": True,
            "amount_recovered_yuan": "45600.50",
        },
    }
    disputes.write_bytes(orjson.dumps(dispute))
    run("--config", village, "import", source)  # the dispute row is bad: ignored here
    assert run("--config", village, "import", disputes).exit_code == 0
    before = {r["id"]: r for k in ("person", "dispute") for r in stored(village, k)}
    assert len(before) == 4

    out = tmp_path / "register.xlsx"
    exported = run("--config", village, "export", "--out", out, "--json")
    assert exported.exit_code == 0, exported.output
    assert orjson.loads(exported.stdout)["records"]["person"] == 3
    book = load_workbook(out)
    assert "实有人口" in book.sheetnames and "矛盾纠纷" in book.sheetnames
    header = [c.value for c in book["实有人口"][1]]
    assert header[:6] == ["编号", "单位代码", "身份证号", "姓名", "性别", "出生日期"]
    assert book["实有人口"]["E2"].value == "男"
    assert book["矛盾纠纷"]["E2"].value == "才让、扎西"

    again = run("--config", village, "import", out, "--json")
    assert again.exit_code == 0, again.output
    after = {r["id"]: r for k in ("person", "dispute") for r in stored(village, k)}
    assert {i: r["data"] for i, r in after.items()} == {i: r["data"] for i, r in before.items()}


def test_export_csv_in_gbk_and_refusals(village: Path, tmp_path: Path) -> None:
    rows = tmp_path / "p.ndjson"
    [number] = ids(1)
    body = {
        "kind": "person",
        "unit": VILLAGE,
        "data": {"id_number": number, "name": "才让", "sex": "male", "birth_date": "1980-01-02"},
    }
    rows.write_bytes(orjson.dumps(body))
    assert run("--config", village, "import", rows).exit_code == 0
    out = tmp_path / "p.csv"
    result = run(
        "--config", village, "export", "--kind", "person", "--out", out, "--encoding", "gbk"
    )
    assert result.exit_code == 0, result.output
    table = list(csv.reader(io.StringIO(out.read_bytes().decode("gbk"))))
    assert table[0][:4] == ["编号", "单位代码", "身份证号", "姓名"] and table[1][3] == "才让"
    two = run("--config", village, "export", "--out", out)
    assert two.exit_code == 2 and "--kind" in two.stderr
    foreign = run(
        "--config", village, "export", "--unit", "632322101202", "--out", tmp_path / "x.xlsx"
    )
    assert foreign.exit_code == 1 and "不在本节点" in foreign.stderr
