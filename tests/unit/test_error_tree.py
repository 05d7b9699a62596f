"""One error tree in the package domain/errors/, mapped to HTTP in one table in api/problems.py."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from chalicelib.api.problems import HTTP_STATUS, status_of
from chalicelib.domain import errors

ROOT = Path(__file__).resolve().parents[2] / "chalicelib"
# A private sentinel inside the sandbox worker's read loop: never raised past the function that catches it.
PRIVATE_SIGNALS = {("adapters/sandbox/_worker.py", "_Died")}
# The plugyard CLI is a client of the API: its errors are exit codes, all in its one module.
CLI_ERRORS = "publisher_cli/exits.py"


def _caller_errors() -> list[type[errors.PlugyardError]]:
    return [
        c
        for _, c in inspect.getmembers(errors, inspect.isclass)
        if issubclass(c, errors.PlugyardError) and c.__module__.startswith(f"{errors.__name__}.")
    ]


def test_no_exception_class_is_defined_outside_the_tree() -> None:
    found = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("domain/errors/") or rel == CLI_ERRORS:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and (rel, node.name) not in PRIVATE_SIGNALS:
                bases = {ast.unparse(b) for b in node.bases}
                if node.name.endswith(("Error", "Exception")) or bases & {"Exception", "RuntimeError", "ValueError"}:
                    found.append(f"{rel}:{node.name}")
    assert found == []


def test_every_caller_facing_error_has_a_unique_code_a_title_and_a_status() -> None:
    codes: dict[str, str] = {}
    for cls in _caller_errors():
        assert cls.code and cls.title, cls
        assert codes.setdefault(cls.code, cls.__name__) == cls.__name__ or cls.code == "unsafe-url", (
            f"{cls.__name__} reuses the code of {codes[cls.code]}"
        )
        assert 400 <= status_of(cls) <= 599
    assert len(_caller_errors()) > 30


def test_caller_mistakes_are_4xx_and_only_dependencies_5xx() -> None:
    five_hundreds = {c.__name__ for c in _caller_errors() if status_of(c) >= 500 and c is not errors.PlugyardError}
    assert five_hundreds == {"DependencyUnavailableError", "AiUnavailableError", "NetworkError"}
    assert status_of(errors.UnsupportedMediaTypeError("x")) == 415
    assert status_of(errors.PathParameterEmptyError("x")) == 404
    assert status_of(errors.HostUnresolvableError("x")) == 422
    assert all(issubclass(c, errors.PlugyardError) for c in HTTP_STATUS)
