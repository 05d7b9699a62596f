"""Chromium through Playwright, driving Debian's /usr/bin/chromium (Playwright's own browsers are never installed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

from . import Driver

EXECUTABLE = "/usr/bin/chromium"


class ChromiumDriver(Driver):
    engine = "chromium"

    def __init__(self) -> None:
        self._pw = sync_playwright().start()
        try:
            self._browser = self._pw.chromium.launch(
                executable_path=EXECUTABLE, headless=True, args=["--disable-background-networking"], timeout=30_000
            )
            self._page = self._browser.new_page(viewport={"width": 1280, "height": 900})
            self._page.set_default_timeout(15_000)
        except BaseException:
            self._pw.stop()
            raise

    def goto(self, url: str) -> None:
        self._page.goto(url, wait_until="load")

    def reload(self) -> None:
        self._page.reload(wait_until="load")

    def click(self, css: str) -> None:
        self._page.click(css)

    def type(self, css: str, text: str, *, enter: bool = False) -> None:
        self._page.fill(css, "")
        self._page.type(css, text)
        if enter:
            self._page.press(css, "Enter")

    def set_files(self, css: str, path: Path) -> None:
        self._page.set_input_files(css, str(path))

    def press(self, key: str) -> None:
        self._page.keyboard.press(key)

    def run(self, script: str, *args: Any) -> Any:
        return self._page.evaluate(f"(args) => (function () {{ {script} \n}}).apply(null, args)", list(args))

    def run_async(self, script: str) -> Any:
        return self._page.evaluate(f"() => new Promise((done) => {{ {script} }})")

    def resize(self, width: int, height: int) -> None:
        self._page.set_viewport_size({"width": width, "height": height})

    def screenshot(self, path: Path, *, full_page: bool = True) -> None:
        """The whole page, or with ``full_page=False`` what the view shows (the docs' screenshots)."""
        self._page.screenshot(path=str(path), full_page=full_page)

    def close(self) -> None:
        try:
            self._browser.close()
        finally:
            self._pw.stop()
