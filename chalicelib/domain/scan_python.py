"""What the upload scan looks for in Python source, read with ``ast`` (never regexes on code).

Each finding carries the line and column of the import or call that raised it, so a reviewer can go straight to
it. Names are resolved through the module's own imports: ``from subprocess import run as go; go(...)`` is found,
and so is ``import os as o; o.system(...)``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["PythonFinding", "long_blob", "scan_python"]

# Modules whose import alone is worth a reviewer's look, by finding kind.
MODULE_KINDS: dict[str, str] = {
    "subprocess": "process_spawn",
    "pty": "process_spawn",
    "multiprocessing": "process_spawn",
    "ctypes": "native_code",
    "_ctypes": "native_code",
    "cffi": "native_code",
    "socket": "raw_socket",
    "_socket": "raw_socket",
    "importlib": "dynamic_code",
    "marshal": "dynamic_code",
    "pickle": "dynamic_code",
    "_pickle": "dynamic_code",
    "cPickle": "dynamic_code",
    "dill": "dynamic_code",
    "runpy": "dynamic_code",
}

# Calls that spawn processes or load code, as fully qualified names.
CALL_KINDS: dict[str, str] = {
    **{f"os.{name}": "process_spawn" for name in ("system", "popen", "fork", "forkpty", "posix_spawn", "posix_spawnp")},
    **{f"os.exec{s}": "process_spawn" for s in ("l", "le", "lp", "lpe", "v", "ve", "vp", "vpe")},
    **{f"os.spawn{s}": "process_spawn" for s in ("l", "le", "lp", "lpe", "v", "ve", "vp", "vpe")},
    "builtins.eval": "dynamic_code",
    "builtins.exec": "dynamic_code",
    "builtins.compile": "dynamic_code",
    "builtins.__import__": "dynamic_code",
}

# A string constant this long with no whitespace and this much entropy is an encoded blob, not text.
BLOB_MIN_CHARS = 256
BLOB_MIN_ENTROPY = 3.5


@dataclass(frozen=True)
class PythonFinding:
    """One thing found in a Python file."""

    kind: str
    line: int
    column: int
    detail: str


def scan_python(source: str, filename: str) -> list[PythonFinding]:
    """Findings in one module; SyntaxError (or ValueError for NUL bytes) when it does not parse."""
    tree = ast.parse(source, filename=filename)
    visitor = _Visitor()
    visitor.visit(tree)
    return visitor.findings


class _Visitor(ast.NodeVisitor):
    def __init__(self) -> None:
        self.findings: list[PythonFinding] = []
        # Local name → the qualified name it stands for (from the module's imports).
        self._aliases: dict[str, str] = {}

    def _add(self, node: ast.expr | ast.stmt, kind: str, detail: str) -> None:
        self.findings.append(PythonFinding(kind, node.lineno, node.col_offset + 1, detail))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._aliases[alias.asname or alias.name.split(".")[0]] = (
                alias.name if alias.asname else alias.name.split(".")[0]
            )
            kind = MODULE_KINDS.get(alias.name.split(".")[0])
            if kind:
                self._add(node, kind, f"imports {alias.name}")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        root = module.split(".")[0]
        for alias in node.names:
            qualified = f"{module}.{alias.name}" if module else alias.name
            self._aliases[alias.asname or alias.name] = qualified
            kind = MODULE_KINDS.get(root) if node.level == 0 else None
            kind = kind or CALL_KINDS.get(qualified)
            if kind:
                self._add(node, kind, f"imports {qualified}")

    def visit_Call(self, node: ast.Call) -> None:
        name = self._qualified(node.func)
        if name is not None:
            kind = CALL_KINDS.get(name)
            root = name.split(".")[0]
            if kind is None and root in MODULE_KINDS and "." in name:
                kind = MODULE_KINDS[root]
            if kind:
                self._add(node, kind, f"calls {name.removeprefix('builtins.')}()")
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        value = node.value
        text = value.decode("latin-1") if isinstance(value, bytes) else value
        if isinstance(text, str) and long_blob(text):
            self._add(node, "obfuscated", f"a {len(text)}-character encoded-looking string literal")

    def _qualified(self, func: ast.expr) -> str | None:
        """``a.b.c`` with ``a`` resolved through the imports; builtins for bare names not imported."""
        parts: list[str] = []
        while isinstance(func, ast.Attribute):
            parts.append(func.attr)
            func = func.value
        if not isinstance(func, ast.Name):
            return None
        head = self._aliases.get(func.id)
        if head is None:
            head = f"builtins.{func.id}" if not parts else func.id
        return ".".join([head, *reversed(parts)])


def long_blob(text: str) -> bool:
    """True for long runs without whitespace whose character entropy says 'encoded data'."""
    return len(text) >= BLOB_MIN_CHARS and not any(c.isspace() for c in text) and _entropy(text) >= BLOB_MIN_ENTROPY


def _entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    import math
    from collections import Counter

    counts = Counter(text)
    total = len(text)
    return -sum(n / total * math.log2(n / total) for n in counts.values())


def blobs_in_text(text: str) -> Iterator[tuple[int, int, int]]:
    """(line, column, length) of every encoded-looking run in a non-Python text file."""
    for number, line in enumerate(text.splitlines(), start=1):
        for word_start, word in _words(line):
            if long_blob(word):
                yield number, word_start + 1, len(word)


def _words(line: str) -> Iterator[tuple[int, str]]:
    start = None
    for i, c in enumerate(line + " "):
        if c.isspace() or c in "\"'`,;()[]{}<>":
            if start is not None:
                yield start, line[start:i]
                start = None
        elif start is None:
            start = i
