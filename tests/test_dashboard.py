"""The big screen at `/`, in a real headless Chromium, as an operator sees it: the prefecture, a
county and a village in both languages, on a 1920×1080 and a 3840×2160 wall and on a 390×844
phone — nothing scrolls on the wall, no text overflows its panel, the article's figures and the
Chinese terms are there as text — an unknown unit's page, and a live incident arriving from a
village. Screenshots of each go to artifacts/screenshots/."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import dashboard_network as net
from tests.browser import (
    OVERFLOWING,
    SCROLL,
    VISIBLE_TEXT,
    browser,
    click_tile,
    open_page,
    screenshot,
    wait_drawn,
    wait_until,
)
from tests.processes import wait_for

__all__ = ["browser"]  # the fixture
WALL, WALL_4K, PHONE = (1920, 1080), (3840, 2160), (390, 844)
ZH_TERMS = ["综治", "网格", "网格员", "重点人群", "矛盾纠纷", "调解成功率", "实有人口"]
EN_TERMS = ["Grids", "grid members", "Key groups", "Disputes accepted", "Mediation success"]
# The article's figures, as each language writes them, at the units where the article puts them.
FIGURES = {
    net.PREFECTURE: {"zh-CN": ["下辖县（市） 4 个"], "en": ["4 units below (county)"]},
    net.JIANZHA: {"zh-CN": ["159", "118", "¥727.7万"], "en": ["159", "118", "¥7,277,000"]},
    net.HAZANG: {
        "zh-CN": ["2,223", "583 户", "网格员 94 名"],
        "en": ["2,223", "583 households", "94 grid members"],
    },
}


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[net.Network]:
    running = net.start(tmp_path_factory.mktemp("dashboard"))
    running.sign_in(browser)  # the prefecture's dashboard asks who is looking
    yield running
    net.stop(running)


def url(network: net.Network, unit: str, lang: str, mode: str) -> str:
    return f"{network.url}/#unit={unit}&lang={lang}&mode={mode}&rotate=0"


def texts(driver: Any, wanted: str) -> list[str]:
    return driver.execute_script(VISIBLE_TEXT, wanted)  # type: ignore[no-any-return]


@pytest.mark.parametrize("size", [WALL, WALL_4K, PHONE], ids=["1920x1080", "3840x2160", "390x844"])
@pytest.mark.parametrize("lang", ["zh-CN", "en"])
@pytest.mark.parametrize("unit", [net.PREFECTURE, net.JIANZHA, net.HAZANG])
def test_the_screen_fits_and_shows_the_articles_figures(
    network: net.Network, browser: Any, unit: str, lang: str, size: tuple[int, int]
) -> None:
    mode = "desk" if size == PHONE else "wall"
    open_page(browser, url(network, unit, lang, mode), size)
    wait_drawn(browser, unit)
    screenshot(browser, f"{unit}-{lang}-{size[0]}x{size[1]}-{mode}")
    over_x, over_y = browser.execute_script(SCROLL)
    assert over_x <= 0, f"scrolls sideways by {over_x} px"
    if mode == "wall":
        assert over_y <= 0, f"the wall scrolls by {over_y} px"
    assert browser.execute_script(OVERFLOWING) == []
    for figure in FIGURES[unit][lang]:
        assert texts(browser, figure), f"{figure!r} is not on the screen"
    body = browser.execute_script("return document.body.innerText")
    for term in ZH_TERMS if lang == "zh-CN" else EN_TERMS:
        assert term in body, term
    if lang == "en":  # every label is English; what grid workers wrote stays as written
        written = browser.execute_script(
            "return [...document.querySelectorAll('#live-list .what')].map((e) => e.innerText)"
        )
        labels = body.replace("中文", "")
        for text in written:
            labels = labels.replace(text, "")
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in labels), "Chinese left"
    if size == PHONE:  # the phone keeps the unit, persons, compliance and freshness columns
        shown = browser.execute_script(
            "return [...document.querySelectorAll('#units thead th')].filter((th) =>"
            " th.getClientRects().length && th.getBoundingClientRect().right <= innerWidth)"
            ".map((th) => th.textContent)"
        )
        want = ["单位", "实有人口", "巡查达标", "数据时效"] if lang == "zh-CN" else [
            "Unit", "Persons", "Compliance", "Received"]  # fmt: skip
        assert shown == want, shown


def test_the_figures_are_the_apis_and_say_how_fresh_they_are(
    network: net.Network, browser: Any
) -> None:
    open_page(browser, url(network, net.PREFECTURE, "zh-CN", "wall"), WALL)
    wait_drawn(browser, net.PREFECTURE)
    with network.at(net.PREFECTURE) as http:
        api = http.get("/api/v1/views/overview").json()
    shown = dict(
        browser.execute_script(
            "return [...document.querySelectorAll('#kpis .v')].map((e) =>"
            " [e.dataset.k, Number(e.dataset.value)])"
        )
    )
    for key, value in shown.items():
        view, field = key.split(".")
        assert value == api[view][field], key
    tips = browser.execute_script(
        "return [...document.querySelectorAll('#kpis .kpi, #units tbody tr')].map((e) => e.title)"
    )
    said = ("统计时间", "送达", "本节点", "从未上报")  # as of, arrived, held here, never reported
    assert tips and all(any(words in tip for words in said) for tip in tips), tips
    # Henan is enrolled and has never reported: said so, in red, and never "all reporting".
    pill = browser.find_element("id", "sync-health")
    assert pill.get_attribute("data-state") == "stale" and "从未上报" in pill.text
    cells = dict(
        browser.execute_script(
            "return [...document.querySelectorAll('#units tbody tr')].map((r) =>"
            " [r.dataset.unit, r.querySelector('[data-k=fresh]').dataset.state])"
        )
    )
    assert cells[net.HENAN] == "never" and cells[net.TONGREN] == "ok"
    assert cells[net.JIANZHA] == "local"


def test_an_unknown_unit_has_a_page_of_its_own(network: net.Network, browser: Any) -> None:
    with network.at(net.PREFECTURE) as http:
        answer = http.get("/api/v1/views/overview", params={"unit": "632399"})
    assert answer.status_code == 404
    for lang, title in (("zh-CN", "查无此单位"), ("en", "No such unit")):
        open_page(browser, url(network, "632399", lang, "wall"), WALL)
        wait_until(browser, "return document.body.dataset.problem === '404'", "the 404 page")
        page = browser.find_element("id", "notfound")
        assert page.is_displayed() and title in page.text and "632399" in page.text
        assert not browser.find_element("id", "board").is_displayed()
        assert "100.0%" not in browser.find_element("tag name", "body").text
        screenshot(browser, f"unknown-unit-{lang}")


def test_a_village_incident_arrives_live_on_the_prefectures_wall(
    network: net.Network, browser: Any
) -> None:
    open_page(browser, url(network, net.PREFECTURE, "zh-CN", "wall"), WALL)
    wait_drawn(browser, net.PREFECTURE)
    wait_until(browser, "return document.getElementById('live-state').dataset.state === 'open'",
               "the live feed")  # fmt: skip
    from datetime import UTC, datetime

    report = {
        "kind": "incident",
        "unit": net.HUOERJIA + "001",
        "data": {
            "category": "fire",
            "title": "霍尔加社区3号楼起火",
            "status": "reported",
            "reported_at": datetime.now(UTC).isoformat(),
            "reporter": "才让",
        },
    }
    with network.at(net.HUOERJIA) as village:
        posted = village.post("/api/v1/records", json=report)
    assert posted.status_code == 201, posted.text
    item = f"#live-list li[data-id='{posted.json()['id']}']"
    wait_until(browser, f'return document.querySelector("{item}")', "the incident on the wall")
    listed = browser.find_element("css selector", item)
    assert (
        "霍尔加社区3号楼起火" in listed.text and "火灾" in listed.text and "隆务镇" in listed.text
    )
    alert = browser.find_element("id", "alert")
    assert alert.is_displayed() and "紧急事件" in alert.text and "霍尔加社区" in alert.text
    screenshot(browser, "live-incident-alert-zh-CN")
    alert.click()
    assert not alert.is_displayed()


def test_drill_down_by_table_and_map_and_back(network: net.Network, browser: Any) -> None:
    open_page(browser, url(network, net.PREFECTURE, "zh-CN", "desk"), WALL)
    wait_drawn(browser, net.PREFECTURE)
    browser.find_element("css selector", f"#units tr[data-unit='{net.ZEKU}']").click()
    wait_drawn(browser, net.ZEKU)
    assert texts(browser, "服务站点 6（辖区 6）"), "Zeku's 6 service posts"
    picked = click_tile(browser, "chart-map")
    assert picked.startswith(net.ZEKU) and len(picked) == 9, picked
    wait_drawn(browser, picked)
    browser.find_element("css selector", f"#crumbs a[data-unit='{net.PREFECTURE}']").click()
    wait_drawn(browser, net.PREFECTURE)
    browser.find_element("css selector", f"#units tr[data-unit='{net.HENAN}']").click()
    wait_drawn(browser, net.HENAN)
    browser.find_element("css selector", f"#units tr[data-unit='{net.TUOYEMA}']").click()
    wait_drawn(browser, net.TUOYEMA)
    assert texts(browser, "下辖村（社区） 6 个"), "Tuoyema's 6 herders' committees"
    assert texts(browser, "受教育 3,126 人次"), "3,120+ people educated"


def test_language_is_one_click_away_and_remembered(network: net.Network, browser: Any) -> None:
    open_page(browser, f"{network.url}/#unit={net.JIANZHA}", WALL)
    wait_drawn(browser, net.JIANZHA)
    assert browser.execute_script("return document.documentElement.lang") == "zh-CN"
    browser.find_element("id", "lang-toggle").click()
    wait_until(browser, "return document.documentElement.lang === 'en'", "English")
    assert "Disputes accepted" in browser.find_element("id", "kpis").text
    open_page(browser, f"{network.url}/#unit={net.JIANZHA}", WALL)  # no lang in the address
    wait_drawn(browser, net.JIANZHA)
    assert browser.execute_script("return document.documentElement.lang") == "en"
    browser.find_element("id", "lang-toggle").click()  # and back, for the tests after this one
    wait_until(browser, "return document.documentElement.lang === 'zh-CN'", "Chinese")


def test_directive_headline_agrees_with_its_table(network: net.Network, browser: Any) -> None:
    # Issue 15: the panel said "acknowledged 0" above a table showing 1 (a done unit's receipt
    # is in state "done" only, and the headline counted states, not progress).
    with network.at(net.PREFECTURE) as top, network.at(net.TONGREN) as county:
        body = {"title": "冬季消防安全排查", "body": "逐户排查", "target": {"units": [net.TONGREN]}}
        issued = top.post("/api/v1/directives", json=body)
        assert issued.status_code == 201, issued.text
        directive = issued.json()["id"]

        def delivered() -> bool:
            inbox = county.get("/api/v1/directives", params={"inbox": "true"}).json()["items"]
            return directive in [item["id"] for item in inbox]

        wait_for(delivered, 30, "the directive at Tongren")
        done = county.post(f"/api/v1/directives/{directive}/done", json={"note": "已完成"})
        assert done.status_code == 200, done.text
        wait_for(lambda: top.get(f"/api/v1/directives/{directive}").json()["done"] == 1, 30,
                 "Tongren's receipt at the prefecture")  # fmt: skip
    open_page(browser, url(network, net.PREFECTURE, "zh-CN", "desk"), WALL)
    wait_drawn(browser, net.PREFECTURE)
    totals = dict(
        browser.execute_script(
            "return [...document.querySelectorAll('#directive-table tfoot [data-k]')].map((e) =>"
            " [e.dataset.k, Number(e.dataset.value)])"
        )
    )
    rows = browser.execute_script(
        "return [...document.querySelectorAll('#directive-table tbody tr:not(.more)')].map((r) =>"
        " Number(r.querySelector('[data-k=acknowledged]').dataset.value))"
    )
    assert totals["total.acknowledged"] == sum(rows) >= 1 and totals["total.done"] >= 1
    facts = browser.find_element("id", "directive-facts").text
    assert "已签收 1" in facts and "已完成 1" in facts, facts  # done counts as acknowledged too
    screenshot(browser, "directives-zh-CN-desk")


def test_assets_are_the_nodes_own(network: net.Network, tmp_path: Path) -> None:
    import hashlib

    import httpx

    page = httpx.get(network.url + "/", timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "http" not in page.text.split("<body")[1], "the page loads nothing from outside"
    lib = httpx.get(network.url + "/static/vendor/echarts/echarts.min.js", timeout=10)
    assert lib.status_code == 200 and "javascript" in lib.headers["content-type"]
    assert lib.headers.get("content-encoding") == "gzip"  # httpx has unpacked it
    vendored = Path(__file__).resolve().parent.parent / "node/static/vendor/echarts"
    assert hashlib.sha256(lib.content).hexdigest() in (vendored / "VENDORED.md").read_text()
    for licence in ("LICENSE", "NOTICE", "LICENSE-zrender", "LICENSE-d3"):
        assert httpx.get(f"{network.url}/static/vendor/echarts/{licence}").status_code == 200
    assert httpx.get(network.url + "/static/../settings.py").status_code == 404
    assert httpx.get(network.url + "/static/secrets.txt").status_code == 404


def test_the_wall_tours_its_units_when_left_alone(network: net.Network, browser: Any) -> None:
    open_page(browser, f"{network.url}/#unit={net.PREFECTURE}&mode=wall&rotate=1", WALL)
    # Loaded and drawn: the home unit, or already the next stop on a loaded machine (a stop
    # lasts 1 s here); that the home unit is the tour's first stop is asserted below.
    wait_until(
        browser,
        "return document.body.dataset.ready === '1' && !!document.body.dataset.drawn",
        "the wall drawn",
        timeout=20,
    )
    county, label, stops = wait_until(
        browser,
        "const d = document.body.dataset.drawn, s = TS.wall.state.stops,"
        " l = document.getElementById('tour').textContent;"
        " return d.length === 6 && l.includes(`${s.indexOf(d) + 1}/${s.length}`) && [d, l, s];",
        "a county of the tour drawn under its own label",
    )  # fmt: skip
    # The home unit stays the tour's home, its children follow in order. On a loaded machine the
    # tour may move on before a poll sees its first stop, so the poll waits for a county drawn
    # while the label names it, whichever it is, rather than for the first one.
    assert stops[:2] == [net.PREFECTURE, net.TONGREN] and len(stops) == 5
    assert f"{stops.index(county) + 1}/5" in label
