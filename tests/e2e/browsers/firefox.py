"""Firefox ESR through Marionette (PyPI marionette_driver), which starts Debian's /usr/bin/firefox-esr headless
with a fresh profile. Scripts run in the page itself (``sandbox=None``), as the other engines run them."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from marionette_driver.errors import NoSuchElementException, StaleElementException
from marionette_driver.marionette import Marionette

from . import KEYS, SCREENSHOTS, Driver, on_a_fresh_element

EXECUTABLE = "/usr/bin/firefox-esr"
ENTER = "\ue007"  # the WebDriver key code of Enter


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FirefoxDriver(Driver):
    engine = "firefox"

    def __init__(self) -> None:
        prefs = {"browser.shell.checkDefaultBrowser": False, "datareporting.policy.dataSubmissionEnabled": False}
        log = SCREENSHOTS.parent / "e2e-firefox-gecko.log"  # Firefox's own log, beside the screenshots (out/)
        log.parent.mkdir(parents=True, exist_ok=True)
        self._m = Marionette(
            bin=EXECUTABLE, port=_free_port(), headless=True, startup_timeout=90, prefs=prefs, gecko_log=str(log)
        )
        try:
            self._m.start_session()
            self._m.timeout.page_load = 30
            self._m.timeout.script = 30
            self._m.set_window_rect(width=1280, height=900)
        except BaseException:
            self._m.cleanup()
            raise

    def goto(self, url: str) -> None:
        self._m.navigate(url)

    def reload(self) -> None:
        self._m.refresh()

    def click(self, css: str) -> None:
        on_a_fresh_element(
            lambda: self._m.find_element("css selector", css).click(), StaleElementException, NoSuchElementException
        )

    def type(self, css: str, text: str, *, enter: bool = False) -> None:
        def act() -> None:
            element = self._m.find_element("css selector", css)
            element.clear()
            element.send_keys(text + (ENTER if enter else ""))

        on_a_fresh_element(act, StaleElementException, NoSuchElementException)

    def set_files(self, css: str, path: Path) -> None:
        self._m.find_element("css selector", css).send_keys(str(path))  # WebDriver's file selection

    def press(self, key: str) -> None:
        self._m.actions.sequence("key", "keyboard").key_down(KEYS[key]).key_up(KEYS[key]).perform()

    def run(self, script: str, *args: Any) -> Any:
        return self._m.execute_script(script, script_args=list(args), sandbox=None, new_sandbox=False)

    def run_async(self, script: str) -> Any:
        body = "const done = arguments[arguments.length - 1];\n" + script
        return self._m.execute_async_script(body, sandbox=None, new_sandbox=False)

    def resize(self, width: int, height: int) -> None:
        # Firefox keeps a window at least ~500 px wide: narrower asks get that minimum.
        self._m.set_window_rect(width=width, height=height)

    def screenshot(self, path: Path) -> None:
        path.write_bytes(self._m.screenshot(format="binary", full=True))

    def close(self) -> None:
        try:
            self._m.delete_session()
        finally:
            self._m.cleanup()
