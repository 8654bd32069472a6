"""The big screen at `/`, in a real headless Chromium (Debian: chromium, chromium-driver) driven by
selenium: it renders, loads fast, fetches nothing from outside, its numbers match the API, and
drill-down works. Skips with the reason where no browser is installed, but fails under CI=true.
Screenshots go to pytest's tmp dir (never into git)."""

import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from node.app import create_app, open_node
from node.records.service import bulk_write
from node.seed import records_for
from node.seed.load import register_units
from node.settings import Settings
from node.units.service import enrol_child
from tests.access_support import PASSWORD, bearer, browser_sign_in, grant

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
CHROME_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
HENAN, TUOYEMA = "632324", "632324106"
AUTH: dict[str, str] = {}  # the server's operator token, as an Authorization header


def browser_problem() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install selenium)"
    if not CHROMIUM or not CHROMEDRIVER:
        return "chromium or chromedriver not found (apt-get install -y chromium chromium-driver)"
    return None


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A prefecture node holding Henan's seeded subtree, served by uvicorn on a free port."""
    data = tmp_path_factory.mktemp("dashboard")
    settings = Settings(code="6323", name="Huangnan Prefecture", data_dir=data)
    ctx = open_node(settings)
    register_units(ctx, "demo")
    units = [HENAN, TUOYEMA, *(f"{TUOYEMA}20{n}" for n in range(1, 7)), "632322"]
    records = [r for code in units for r in records_for("demo", code, 1)]
    assert not bulk_write(ctx.db, node=ctx.identity, items=records).rejected
    enrol_child(ctx.db, node_code="6323", code="632301", name="Tongren City")  # never pushes
    AUTH.update(bearer(grant(ctx.db, "6323", name="screen", password=PASSWORD)))
    ctx.db.dispose()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_level="warning")
    app_server = uvicorn.Server(config)
    thread = threading.Thread(target=app_server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not app_server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.05)
    port = app_server.servers[0].sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    directive = {"title": "Winter fire-safety screening", "target": {"units": [HENAN]}}
    posted = httpx.post(url + "/api/v1/directives", json=directive, headers=AUTH, timeout=10)
    assert posted.status_code == 201
    yield url
    app_server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator[Any]:
    problem = browser_problem()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(problem + " (CI=true: the dashboard must be tested in a browser)")
        pytest.skip(problem)
    os.environ.setdefault("SE_OFFLINE", "true")  # never let selenium fetch a driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM or ""
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument("--window-size=1920,1080")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    browser_sign_in(driver, server, "screen", PASSWORD)
    yield driver
    driver.quit()


def wait_for(driver: Any, unit: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = driver.execute_script(
            "return [document.body.dataset.ready, document.body.dataset.unit]"
        )
        if state == ["1", unit]:
            return
        time.sleep(0.05)
    raise AssertionError(f"dashboard did not show {unit}: {state}")


def number(text: str) -> float:
    return float(text.replace(",", "").rstrip("%"))


def shown(driver: Any, selector: str) -> dict[str, str]:
    script = (
        "return [...document.querySelectorAll(arguments[0])].map(e => [e.dataset.k, e.textContent])"
    )
    return dict(driver.execute_script(script, selector))


def overview(server: str, unit: str) -> dict[str, Any]:
    response = httpx.get(
        f"{server}/api/v1/views/overview", params={"unit": unit}, headers=AUTH, timeout=10
    )
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def check_numbers(driver: Any, api: dict[str, Any]) -> None:
    kpis = shown(driver, "#kpis [data-k]")
    for key in (
        "population.persons",
        "population.households",
        "governance.grids",
        "key_groups.total",
        "incidents.open",
        "disputes.accepted",
        "disputes.recovered_yuan",
        "legal.sessions",
    ):
        view, field = key.split(".")
        assert number(kpis[key]) == api[view][field], key
    assert kpis["patrols.compliance_rate"] == f"{api['patrols']['compliance_rate'] * 100:.1f}%"
    rows = driver.execute_script(
        "return [...document.querySelectorAll('#units tbody tr')].map(r => [r.dataset.unit,"
        " r.querySelector('[data-k=persons]').textContent])"
    )
    expected = {c["unit"]: c["persons"] for c in api["population"]["children"]}
    assert {unit: number(n) for unit, n in rows} == expected


def test_assets_are_served_from_the_node(server: str) -> None:
    page = httpx.get(server + "/", timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "/static/dashboard.js?v=" in page.text and "http" not in page.text.split("<body>")[1]
    script = httpx.get(server + "/static/dashboard.js", timeout=10)
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert httpx.get(server + "/static/secrets.txt", timeout=10).status_code == 404


def test_renders_fast_offline_with_the_apis_numbers(
    server: str, browser: Any, tmp_path: Path
) -> None:
    browser.get(server + "/")
    wait_for(browser, "6323")
    check_numbers(browser, overview(server, "6323"))
    load_ms = browser.execute_script("return window.__tiersyncLoadMs")
    assert load_ms < 1000, f"first render took {load_ms:.0f} ms"
    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(r => r.name)"
    )
    assert resources and all(r.startswith(server) for r in resources), resources
    directives = browser.execute_script(
        "return [...document.querySelectorAll('#directives tbody tr td:first-child')]"
        ".map(td => td.textContent)"
    )
    assert directives == [p["title"] for p in overview(server, "6323")["directives"]["progress"]]
    assert directives == ["Winter fire-safety screening"]
    for width, height in ((1920, 1080), (1366, 768), (3840, 2160)):
        browser.set_window_size(width, height)
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 0, f"horizontal scrolling at {width}x{height}"
    browser.set_window_size(1920, 1080)
    browser.save_screenshot(str(tmp_path / "prefecture.png"))


def test_drill_down_to_a_grid_and_back(server: str, browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server + "/")
    wait_for(browser, "6323")
    browser.find_element(By.CSS_SELECTOR, f"#units tr[data-unit='{HENAN}']").click()
    wait_for(browser, HENAN)
    check_numbers(browser, overview(server, HENAN))
    browser.find_element(By.CSS_SELECTOR, f"#units tr[data-unit='{TUOYEMA}']").click()
    wait_for(browser, TUOYEMA)
    api = overview(server, TUOYEMA)
    check_numbers(browser, api)
    legal = shown(browser, "#chart-legal [data-k]")
    assert number(legal["legal.publicity_sessions"]) == api["legal"]["publicity_sessions"] >= 20
    assert number(legal["legal.publicity_attendance"]) >= 3120
    village = api["summary"]["children"][0]["unit"]
    browser.find_element(By.CSS_SELECTOR, f"#units tr[data-unit='{village}']").click()
    wait_for(browser, village)
    grid = overview(server, village)["summary"]["children"][0]
    assert grid["level"] == "grid"
    browser.find_element(By.CSS_SELECTOR, f"#units tr[data-unit='{grid['unit']}']").click()
    wait_for(browser, grid["unit"])
    assert browser.find_element(By.ID, "unit-name").text == grid["name"]
    browser.save_screenshot(str(tmp_path / "grid.png"))
    browser.find_element(By.CSS_SELECTOR, "#crumbs a[data-unit='6323']").click()
    wait_for(browser, "6323")
    assert browser.find_element(By.ID, "unit-name").text == "Huangnan Prefecture"


def test_sync_health_flags_a_silent_child_and_errors_show(server: str, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server + "/")
    wait_for(browser, "6323")
    health = browser.find_element(By.ID, "sync-health")
    assert health.get_attribute("data-stale") == "1" and "not reporting" in health.text
    cell = browser.find_element(By.CSS_SELECTOR, "#units tr[data-unit='632301'] [data-k=fresh]")
    assert cell.get_attribute("data-state") == "stale" and "never" in cell.text
    local = browser.find_element(By.CSS_SELECTOR, f"#units tr[data-unit='{HENAN}'] [data-k=fresh]")
    assert local.get_attribute("data-state") == "local"
    browser.get(server + "/#unit=6324")  # not this node's subtree: 403, shown, not hidden
    deadline = time.monotonic() + 10
    while not browser.find_element(By.ID, "error").is_displayed():
        assert time.monotonic() < deadline, "no error shown"
        time.sleep(0.05)
    assert "outside this node's subtree" in browser.find_element(By.ID, "error").text
