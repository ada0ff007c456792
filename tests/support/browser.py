"""Headless Chromium driven by Selenium, for the browser tests (tests/browser/).

Debian's chromium and chromedriver only: the driver is given explicitly, so
Selenium Manager never looks for (or downloads) one, and the browser runs with
a fresh profile and without its background network traffic. `check_browser()`
skips a test in one line without Chromium (fails it when
COURIER_REQUIRE_BROWSER=1), and fails it without selenium, a declared
dependency whose absence is a broken venv; `chromium(...)` is one browser session whose
`Browser` waits for elements (Odoo's web client is a JS app: elements appear
after the page has loaded) and numbers its screenshots.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pytest

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement

T = TypeVar("T")
MISSING_CHROMIUM = "chromium/chromedriver not found: apt install chromium chromium-driver"
MISSING_SELENIUM = "selenium, a dev dependency, does not import: .venv/bin/pip install -e '.[dev]'"
REQUIRE_BROWSER = "COURIER_REQUIRE_BROWSER"
CHROME_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
)


def chromium_paths() -> tuple[Path, Path] | None:
    """(chromium, chromedriver) from PATH or /usr/bin, or None if either is missing."""
    found = []
    for name in ("chromium", "chromedriver"):
        path = shutil.which(name) or shutil.which(name, path="/usr/bin")
        if path is None:
            return None
        found.append(Path(path))
    return found[0], found[1]


def check_browser() -> None:
    """Return when a browser test can run here; else skip or fail it in one line.

    Without selenium it fails (the venv lacks a declared dependency); without
    Chromium it skips, or fails when COURIER_REQUIRE_BROWSER=1.
    """
    try:
        import selenium  # noqa: F401
    except ImportError as exc:
        pytest.fail(f"{MISSING_SELENIUM} ({exc})", pytrace=False)
    if chromium_paths() is None:
        if os.environ.get(REQUIRE_BROWSER) == "1":
            pytest.fail(f"{MISSING_CHROMIUM}; {REQUIRE_BROWSER}=1 requires it", pytrace=False)
        pytest.skip(MISSING_CHROMIUM)


class Screenshots:
    """NN-step.png files in one folder, numbered in the order taken (across browsers)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.taken: list[Path] = []
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.png"):
            old.unlink()

    def take(self, driver: WebDriver, step: str) -> Path:
        path = self.folder / f"{len(self.taken) + 1:02d}-{step}.png"
        driver.save_screenshot(str(path))
        self.taken.append(path)
        return path


class Browser:
    """One Chromium window: waits for elements, and saves numbered screenshots."""

    def __init__(self, driver: WebDriver, shots: Screenshots, timeout: float) -> None:
        self.driver = driver
        self.shots = shots
        self.timeout = timeout

    def open(self, url: str) -> None:
        self.driver.get(url)

    def wait(self, probe: Callable[[WebDriver], T], what: str, timeout: float | None = None) -> T:
        """`probe`'s first truthy value, retried while elements are missing or stale."""
        from selenium.common.exceptions import TimeoutException, WebDriverException
        from selenium.webdriver.support.ui import WebDriverWait

        try:
            return WebDriverWait(
                self.driver, timeout or self.timeout, ignored_exceptions=(WebDriverException,)
            ).until(probe)
        except TimeoutException:
            shot = self.screenshot("timeout")
            raise AssertionError(
                f"gave up waiting for {what} at {self.driver.current_url} (screenshot: {shot})"
            ) from None

    def element(self, css: str, timeout: float | None = None) -> WebElement:
        """The first visible element matching `css`."""

        return self._first(css, lambda e: True, f"a visible {css!r}", timeout)

    def element_with_text(self, css: str, text: str) -> WebElement:
        """The first visible element matching `css` whose text contains `text`."""
        return self._first(css, lambda e: text in e.text, f"{css!r} showing {text!r}")

    def _first(
        self,
        css: str,
        accept: Callable[[WebElement], bool],
        what: str,
        timeout: float | None = None,
    ) -> WebElement:
        def probe(driver: WebDriver) -> WebElement | None:
            for found in driver.find_elements("css selector", css):
                if found.is_displayed() and accept(found):
                    return found
            return None

        return self.wait(probe, what, timeout)

    def gone(self, css: str) -> None:
        """Wait until nothing visible matches `css` (a dialog closed)."""
        self.wait(
            lambda d: not any(e.is_displayed() for e in d.find_elements("css selector", css)),
            f"{css!r} to close",
        )

    def click(self, css: str) -> WebElement:
        """Click the first visible, enabled match of `css`; returns it."""
        target = self._first(css, lambda e: e.is_enabled(), f"{css!r} to be clickable")
        target.click()
        return target

    def type_into(self, css: str, text: str, *, clear: bool = True) -> WebElement:
        field = self.element(css)
        if clear:
            field.clear()
        field.send_keys(text)
        return field

    def texts(self, css: str) -> list[str]:
        return [e.text for e in self.driver.find_elements("css selector", css) if e.is_displayed()]

    def screenshot(self, step: str) -> Path:
        return self.shots.take(self.driver, step)

    def poll(
        self,
        read: Callable[[], T],
        done: Callable[[T], bool],
        timeout: float,
        what: str,
        *,
        interval: float = 1.0,
    ) -> T:
        """Call `read` (which may reload the page) until `done` accepts what it read."""
        deadline = time.monotonic() + timeout
        while True:
            value = read()
            if done(value):
                return value
            if time.monotonic() > deadline:
                shot = self.screenshot("timeout")
                raise AssertionError(
                    f"gave up after {timeout:.0f}s waiting for {what}; last seen: {value!r}"
                    f" (screenshot: {shot})"
                )
            time.sleep(interval)


@contextmanager
def chromium(shots: Screenshots, *, timeout: float = 30) -> Iterator[Browser]:
    """A headless Chromium with a fresh profile (no cookies: a logged-out visitor)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    paths = chromium_paths()
    if paths is None:
        raise RuntimeError(MISSING_CHROMIUM)
    binary, driver_path = paths
    with tempfile.TemporaryDirectory(prefix="courier-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = str(binary)
        for argument in (*CHROME_ARGS, f"--user-data-dir={profile}"):
            options.add_argument(argument)
        driver = webdriver.Chrome(service=Service(str(driver_path)), options=options)
        try:
            yield Browser(driver, shots, timeout)
        finally:
            driver.quit()
