"""`/docs` and `/redoc` load in a real headless Chromium with every address but loopback cut
off (issue 17: the page was blank on a closed network, its assets came from a CDN)."""

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from node.app import create_app
from node.settings import Settings

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data: Path = tmp_path_factory.mktemp("docs")
    app = create_app(Settings(code="632322101", data_dir=data), run_replicator=False)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    served = uvicorn.Server(config)
    thread = threading.Thread(target=served.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not served.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{served.servers[0].sockets[0].getsockname()[1]}"
    served.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def offline_browser() -> Iterator[Any]:
    """Chromium whose only way out is a proxy that does not exist: anything but loopback fails."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("selenium is not installed")
    if not CHROMIUM or not CHROMEDRIVER:
        problem = "chromium or chromedriver not found (apt-get install chromium chromium-driver)"
        if os.environ.get("CI") == "true":
            pytest.fail(problem)
        pytest.skip(problem)
    os.environ.setdefault("SE_OFFLINE", "true")  # never let selenium fetch a driver
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--proxy-server=http://127.0.0.1:9",  # nothing listens there: the network is off
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def wait_until(check: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def fetched(driver: Any) -> list[str]:
    urls: list[str] = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    return urls


def test_swagger_ui_renders_every_operation_offline(server: str, offline_browser: Any) -> None:
    offline_browser.get(server + "/docs")
    count = wait_until(
        lambda: offline_browser.execute_script(
            "return document.querySelectorAll('.opblock').length"
        ),
        "Swagger UI to list the operations",
    )
    assert count >= 30
    assert "Create a record" in offline_browser.page_source
    assert all(url.startswith(server) for url in fetched(offline_browser)), fetched(offline_browser)


def test_redoc_renders_offline(server: str, offline_browser: Any) -> None:
    offline_browser.get(server + "/redoc")
    wait_until(
        lambda: (
            "Create a record" in offline_browser.execute_script("return document.body.innerText")
        ),
        "ReDoc to render the operations",
    )
    outside = [url for url in fetched(offline_browser) if not url.startswith((server, "blob:"))]
    assert not outside, outside
