"""WebKit through WPE WebDriver (Debian's wpewebkit-driver) driving the cog browser headless, with Selenium.

WPE's headless platform has a fixed 800×600 view: resizing is accepted and ignored, so the width checks read
the width the page really has."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.wpewebkit.options import Options
from selenium.webdriver.wpewebkit.service import Service

from . import KEYS, Driver, on_a_fresh_element

DRIVER = "/usr/bin/WPEWebDriver"
BROWSER = "/usr/bin/cog"


class WebKitDriver(Driver):
    engine = "webkit"

    def __init__(self) -> None:
        options = Options()
        options.binary_location = BROWSER
        options.add_argument("--automation")
        options.add_argument("--platform=headless")
        options.set_capability("browserName", "cog")
        self._d = webdriver.WPEWebKit(options=options, service=Service(executable_path=DRIVER))
        self._d.set_page_load_timeout(30)
        self._d.set_script_timeout(30)

    def goto(self, url: str) -> None:
        self._d.get(url)

    def reload(self) -> None:
        self._d.refresh()

    def click(self, css: str) -> None:
        on_a_fresh_element(
            lambda: self._d.find_element(By.CSS_SELECTOR, css).click(),
            StaleElementReferenceException,
            NoSuchElementException,
        )

    def type(self, css: str, text: str, *, enter: bool = False) -> None:
        def act() -> None:
            element = self._d.find_element(By.CSS_SELECTOR, css)
            element.clear()
            if text or enter:  # WPE WebDriver refuses an empty send_keys: clearing was all there was to do
                element.send_keys(text + (Keys.ENTER if enter else ""))

        on_a_fresh_element(act, StaleElementReferenceException, NoSuchElementException)

    def set_files(self, css: str, path: Path) -> None:
        self._d.find_element(By.CSS_SELECTOR, css).send_keys(str(path))  # WebDriver's file selection

    def press(self, key: str) -> None:
        ActionChains(self._d).send_keys(KEYS[key]).perform()

    def run(self, script: str, *args: Any) -> Any:
        return self._d.execute_script(script, *args)

    def run_async(self, script: str) -> Any:
        return self._d.execute_async_script("const done = arguments[arguments.length - 1];\n" + script)

    def resize(self, width: int, height: int) -> None:
        self._d.set_window_size(width, height)

    def screenshot(self, path: Path) -> None:
        # two animation frames first, so the last change is painted
        self._d.execute_async_script(
            "const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));"
        )
        path.write_bytes(self._d.get_screenshot_as_png())

    def close(self) -> None:
        self._d.quit()
