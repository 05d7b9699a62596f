"""docs/troubleshooting.md lists every problem type the API can answer, and only those.

The codes come from the code itself: the ``code`` of every error class under ``PlugyardError`` (rendered by
``chalicelib/api/problems.py``), plus the codes written literally where a route, the gateway or the error
middleware builds a problem itself (``problem(status, "<code>", …)``). A new error without a line in the
publisher's table fails here, and so does a line for a code that no longer exists.
"""

from __future__ import annotations

import re
from pathlib import Path

import app  # noqa: F401 - imports every route module, so every error class is defined
from chalicelib.api.errors_middleware import _CODES
from chalicelib.domain.errors import PlugyardError

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "troubleshooting.md").read_text()
SECTION = DOC.split("## Publishing and running a plugin", 1)[1]
# problem(404, "route-not-found", …), _refusal(403, "capability-denied", …), self._problem(404, "…", …)
_LITERAL = re.compile(r"""(?:problem|_refusal)\(\s*[\w.]+,\s*["']([a-z]+(?:-[a-z]+)*)["']""")
_DEFAULT = re.compile(r"""_CODES\.get\(\s*\w+,\s*["']([a-z-]+)["']\)""")


def _error_codes() -> set[str]:
    codes, todo = set(), [PlugyardError]
    while todo:
        cls = todo.pop()
        codes.add(cls.code)
        todo += cls.__subclasses__()
    return codes


def api_codes() -> set[str]:
    """Every problem ``type`` code the API, the local gateway and the middleware can answer with."""
    codes = _error_codes() | set(_CODES.values())
    for path in (ROOT / "chalicelib").rglob("*.py"):
        text = path.read_text()
        codes |= set(_LITERAL.findall(text)) | set(_DEFAULT.findall(text))
    return codes


def _table(title: str) -> str:
    return SECTION.split(f"### {title}", 1)[1].split("\n### ", 1)[0]


def test_every_problem_type_is_explained_once_and_none_is_stale() -> None:
    rows = re.findall(r"^\| `([a-z-]+)` \|", _table("Every problem type"), re.M)
    assert len(rows) == len(set(rows)), "a code has two rows"
    documented, real = set(rows), api_codes()
    assert real - documented == set(), "codes the API answers with but docs/troubleshooting.md does not explain"
    assert documented - real == set(), "codes docs/troubleshooting.md explains but the API never answers with"


def test_the_per_step_table_names_only_real_codes() -> None:
    named = set(re.findall(r"`([a-z]+(?:-[a-z]+)+|forbidden|conflict)`", _table("Which codes each step answers")))
    assert named and named <= api_codes(), named - api_codes()


def test_the_literal_scan_sees_the_codes_built_outside_the_error_tree() -> None:
    # If these moved into the error tree the scan is still right; if the scan broke, this says so.
    assert {"route-not-found", "capability-denied", "not-ready", "method-not-allowed"} <= api_codes()
