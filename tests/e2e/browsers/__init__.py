"""One small driver interface over three browser engines, so the console's flows are written once.

Each engine has an adapter module (chromium.py: Playwright with Debian's chromium; firefox.py: Marionette with
Debian's firefox-esr; webkit.py: WPE WebDriver with cog, through Selenium). An adapter implements the few
primitives below; waiting, axe-core and screenshots-on-failure are built on them here, once.
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["AXE", "ENGINES", "KEYS", "SCREENSHOTS", "Driver", "launch", "on_a_fresh_element"]

ROOT = Path(__file__).resolve().parents[3]
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"  # `make console-deps`
SCREENSHOTS = ROOT / "out" / "e2e-screenshots"
T = TypeVar("T")
ENGINES = ("chromium", "firefox", "webkit")
# WebDriver's code points of the keys the flows press (Playwright takes the names).
KEYS = {"Tab": "\ue004", "Enter": "\ue007", "Escape": "\ue00c"}

# axe-core's rules for WCAG 2 A/AA; a violation of impact serious or critical fails the view.
_AXE_RUN = """
const only = {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]};
axe.run(document, {runOnly: only, resultTypes: ["violations"]})
  .then((r) => done(JSON.stringify(r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
  })))))
  .catch((e) => done(JSON.stringify([{id: "axe-error", impact: "critical", help: String(e), nodes: []}])));
"""


class Driver(ABC):
    """What a flow needs from a browser. CSS selectors everywhere; scripts are function bodies using ``return``."""

    engine: str

    @abstractmethod
    def goto(self, url: str) -> None: ...

    @abstractmethod
    def reload(self) -> None:
        """Load the current page again (a new navigation: scripts start anew, sessionStorage stays)."""

    @abstractmethod
    def click(self, css: str) -> None:
        """A real click (the engine's input events) on the first element matching ``css``."""

    @abstractmethod
    def type(self, css: str, text: str, *, enter: bool = False) -> None:
        """Clear the field, type ``text`` as keystrokes, then press Enter when asked (submits its form)."""

    @abstractmethod
    def set_files(self, css: str, path: Path) -> None:
        """Choose a file in an <input type=file> through the engine's own file selection (its change event fires)."""

    @abstractmethod
    def press(self, key: str) -> None:
        """Press and release one key (a name of KEYS) on whatever has the focus, as the keyboard does."""

    @abstractmethod
    def run(self, script: str, *args: Any) -> Any:
        """Run a function body in the page (``arguments[i]`` are the args) and return what it returns."""

    @abstractmethod
    def run_async(self, script: str) -> Any:
        """Run a function body that calls ``done(value)``; return that value."""

    @abstractmethod
    def resize(self, width: int, height: int) -> None: ...

    @abstractmethod
    def screenshot(self, path: Path) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    # Built on the primitives, the same for every engine.

    def wait(self, script: str, *args: Any, timeout: float = 15.0, what: str = "") -> Any:
        """Poll a function body until it returns something truthy; that value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.run(script, *args)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"[{self.engine}] timed out after {timeout} s waiting for {what or script}")
            time.sleep(0.05)

    def wait_for(self, css: str, timeout: float = 15.0) -> None:
        self.wait("return !!document.querySelector(arguments[0])", css, timeout=timeout, what=css)

    def text(self, css: str) -> str:
        return str(self.run("const e = document.querySelector(arguments[0]); return e ? e.innerText : null", css))

    def wait_text(self, css: str, contains: str, timeout: float = 15.0) -> str:
        script = (
            "const e = document.querySelector(arguments[0]);"
            "return e && e.innerText.includes(arguments[1]) ? e.innerText : ''"
        )
        return str(self.wait(script, css, contains, timeout=timeout, what=f"{contains!r} in {css}"))

    def select(self, css: str, value: str) -> None:
        """Choose an option of a <select> (a change event, as the user's choice fires)."""
        self.run(
            "const s = document.querySelector(arguments[0]); s.value = arguments[1];"
            "s.dispatchEvent(new Event('change', {bubbles: true}));",
            css,
            value,
        )

    def axe(self) -> list[dict[str, Any]]:
        """axe-core's serious and critical WCAG 2.1 A/AA violations on the page as it is now."""
        if not self.run("return typeof window.axe === 'object'"):
            self.run(AXE.read_text(encoding="utf-8") + "\nreturn true;")
        found = json.loads(str(self.run_async(_AXE_RUN)))
        return [v for v in found if v["impact"] in ("serious", "critical")]

    @contextmanager
    def screenshot_on_failure(self, name: str) -> Iterator[None]:
        try:
            yield
        except BaseException:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            try:
                self.screenshot(SCREENSHOTS / f"{self.engine}-{name}.png")
            except Exception as exc:
                print(f"[{self.engine}] no screenshot: {exc}")
            raise


def on_a_fresh_element(
    act: Callable[[], T], stale: type[Exception], missing: type[Exception], *, tries: int = 5, wait_s: float = 15.0
) -> T:
    """Run ``act`` (find an element, then act on it) again when the page replaced the element in between, as a
    live view does when an update arrives, or when the element is not drawn yet (for up to ``wait_s``, as
    ``Driver.wait``): Playwright's locators do both by themselves; WebDriver's find_element does neither."""
    deadline = time.monotonic() + wait_s
    replaced = 0
    while True:
        try:
            return act()
        except stale:
            replaced += 1
            if replaced == tries:
                raise
        except missing:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.05)


def launch(engine: str) -> Driver:
    """A headless browser of that engine (the adapter modules import their libraries only when used)."""
    if engine == "chromium":
        from .chromium import ChromiumDriver

        return ChromiumDriver()
    if engine == "firefox":
        from .firefox import FirefoxDriver

        return FirefoxDriver()
    if engine == "webkit":
        from .webkit import WebKitDriver

        return WebKitDriver()
    raise ValueError(f"unknown engine {engine!r}; one of {ENGINES}")
