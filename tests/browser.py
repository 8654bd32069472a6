"""Debian's headless Chromium driven by selenium, for the dashboard tests: one browser for a
whole module, the viewport set exactly (DevTools device metrics), pages checked as a person
looking at them would — what is visible, what overflows, what scrolls — and screenshots saved
to artifacts/screenshots/ (git-ignored) for a person to look at."""

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
SCREENSHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--window-size=1920,1080",
]


def browser_problem() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install selenium)"
    if not CHROMIUM or not CHROMEDRIVER:
        return "chromium or chromedriver not found (apt-get install -y chromium chromium-driver)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
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
    for flag in FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def open_page(driver: Any, url: str, size: tuple[int, int], *, fresh: bool = True) -> None:
    """Load `url` in a viewport of exactly `size` (a phone below 700 px wide)."""
    width, height = size
    metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 700}
    if fresh:  # leave the last page (and its event stream) before the screen changes
        driver.get("about:blank")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    driver.get(url)


def wait_drawn(driver: Any, unit: str, timeout: float = 20) -> None:
    """Until the page has loaded `unit`'s figures and laid them out (data-drawn)."""
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        state = driver.execute_script(
            "return [document.body.dataset.ready, document.body.dataset.drawn]"
        )
        if state == ["1", unit]:
            return
        time.sleep(0.05)
    raise AssertionError(f"dashboard did not draw {unit}: {state}")


def wait_until(driver: Any, script: str, what: str, timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


TILE_CENTRE = """
const el = document.getElementById(arguments[0]);
const chart = el && echarts.getInstanceByDom(el);
if (!chart) return null;
const data = chart.getModel().getSeriesByIndex(0).getData();
let best = null;
for (let i = 0; i < data.count(); i++) {
  const unit = data.getItemModel(i).get("unit");
  const box = data.getItemLayout(i);
  if (unit && box && (!best || box.width * box.height > best.area)) {
    const area = box.width * box.height;
    best = {unit, x: box.x + box.width / 2, y: box.y + box.height / 2, area};
  }
}
if (!best) return null;
const frame = el.getBoundingClientRect();
return [best.unit, best.x - frame.width / 2, best.y - frame.height / 2];
"""


def click_tile(driver: Any, chart_id: str, attempts: int = 3) -> str:
    """Point at the middle of the biggest tile of an ECharts treemap, as a person does, and
    click; returns the unit of that tile. Asked of ECharts' own layout, so a tile's border or a
    gap between tiles is never what gets clicked; clicked again (as a person would) when the
    page did not move, e.g. because the layout shifted under the pointer."""
    from selenium.webdriver.common.action_chains import ActionChains

    script = f"return (() => {{{TILE_CENTRE}}})()".replace("arguments[0]", repr(chart_id))
    before = driver.execute_script("return document.body.dataset.drawn")
    unit = ""
    for _ in range(attempts):
        unit, dx, dy = wait_until(driver, script, f"the tiles of #{chart_id}")
        for alert in driver.find_elements("css selector", "#alert"):
            if alert.is_displayed():  # an incident's alert across the screen: dismissed first
                alert.click()
        canvas = driver.find_element("css selector", f"#{chart_id}")
        chain = ActionChains(driver).move_to_element_with_offset(canvas, int(dx), int(dy))
        chain.pause(0.3).click().perform()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if driver.execute_script("return document.body.dataset.drawn") != before:
                return str(unit)
            time.sleep(0.05)
    return str(unit)


def screenshot(driver: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


# Text-bearing elements that stick out of their panel, or are cut short without the full text
# on hover. Each entry: [panel id, element, text, why].
OVERFLOWING = """
const out = [];
const visible = (el) => el.getClientRects().length && !el.closest('[hidden]') &&
  getComputedStyle(el).visibility !== 'hidden';
const ownText = (el) => [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
for (const panel of document.querySelectorAll('#board .panel, #board .kpi, header.top')) {
  if (!visible(panel)) continue;
  const box = panel.getBoundingClientRect();
  for (const el of panel.querySelectorAll('*')) {
    if (!visible(el) || !(ownText(el) || el.tagName === 'CANVAS')) continue;
    const r = el.getBoundingClientRect();
    const name = panel.id || panel.className;
    if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 ||
        r.bottom > box.bottom + 1) {
      out.push([name, el.tagName, el.textContent.trim().slice(0, 60), 'outside its panel']);
    }
    const style = getComputedStyle(el);
    if (style.overflow !== 'visible' && el.scrollWidth > el.clientWidth + 1 &&
        !el.closest('[title]')) {
      out.push([name, el.tagName, el.textContent.trim().slice(0, 60), 'cut without hover text']);
    }
  }
}
return out;
"""

SCROLL = (
    "const d = document.documentElement;"
    "return [d.scrollWidth - innerWidth, d.scrollHeight - innerHeight]"
)

# The texts of the visible elements that contain `arguments[0]`; in wall mode also on screen.
VISIBLE_TEXT = """
const wanted = arguments[0];
const hits = [];
for (const el of document.querySelectorAll('body *')) {
  if (!el.getClientRects().length || el.closest('[hidden]') || el.tagName === 'SCRIPT') continue;
  const own = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join('');
  if (!own.includes(wanted)) continue;
  const r = el.getBoundingClientRect();
  const onScreen = r.bottom <= innerHeight + 1 && r.right <= innerWidth + 1;
  if (document.body.dataset.mode !== 'wall' || onScreen) hits.push(own.trim());
}
return hits;
"""
