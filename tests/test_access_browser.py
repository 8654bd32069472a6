"""The dashboard's sign-in in a real headless Chromium: the page is Chinese first (English one
click away), a wrong password is refused in words, the dashboard sends an unsigned browser to
/login and back, and `next` cannot send it to another site."""

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from node.app import create_app, open_node
from node.settings import Settings
from tests.access_support import PASSWORD, browser_sign_in, grant
from tests.browser import browser
from tests.serving import Served

__all__ = ["browser"]  # the fixture: one Chromium for the module, unsigned at first


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data: Path = tmp_path_factory.mktemp("login")
    settings = Settings(code="632322", name="Jianzha County", data_dir=data)
    ctx = open_node(settings)
    grant(ctx.db, "632322", "viewer", name="screen", password=PASSWORD)
    ctx.db.dispose()
    served = Served(create_app(settings)).start()
    yield served.url
    served.stop()


def wait_text(driver: Any, element_id: str, timeout: float = 15) -> str:
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = str(driver.find_element(By.ID, element_id).text)
        if text:
            return text
        time.sleep(0.05)
    raise AssertionError(f"#{element_id} stayed empty")


def test_sign_in_page_in_chinese_refuses_a_wrong_password(site: str, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.get(site + "/")  # not signed in: the dashboard sends the browser to /login
    deadline = time.monotonic() + 15
    while "/login" not in browser.current_url:
        assert time.monotonic() < deadline, browser.current_url
        time.sleep(0.05)
    assert browser.find_element(By.ID, "submit").text == "登录"
    browser.find_element(By.ID, "name").send_keys("screen")
    browser.find_element(By.ID, "password").send_keys("not the password 1")
    browser.find_element(By.ID, "submit").click()
    assert wait_text(browser, "error") == "用户名或密码错误"
    browser.find_element(By.ID, "lang").click()
    assert browser.find_element(By.ID, "submit").text == "Sign in"
    browser.find_element(By.ID, "lang").click()  # back to Chinese for the next visitor


def test_signed_in_the_dashboard_loads_and_the_cookie_is_httponly(site: str, browser: Any) -> None:
    browser_sign_in(browser, site, "screen", PASSWORD)
    assert browser.current_url.rstrip("/") == site
    deadline = time.monotonic() + 15
    while browser.execute_script("return document.body.dataset.ready") != "1":
        assert time.monotonic() < deadline, "dashboard did not load its figures"
        time.sleep(0.05)
    # The session cookie is out of the page's reach; the CSRF cookie is the script's to echo.
    readable = browser.execute_script("return document.cookie")
    assert "tiersync_csrf=" in readable and "tiersync_session" not in readable
    session = browser.get_cookie("tiersync_session")
    assert session["httpOnly"] and session["sameSite"] == "Strict"


def test_next_cannot_lead_to_another_site(site: str, browser: Any) -> None:
    browser_sign_in(browser, site, "screen", PASSWORD, page="/login?next=//evil.example/")
    assert browser.current_url.startswith(site)
