"""Every curl example in README.md and docs/ is valid shell, calls a route the API has, and runs for real.

Each block is run by bash with ``curl`` replaced by a function that prints its arguments, so quoting is
judged by bash itself: a ``$VAR`` left unexpanded (inside single quotes) or a path the OpenAPI document
does not have fails here. Every curl block is also marked to run against `make run`'s stack
(tests/e2e/test_docs.py), unless it is in NOT_RUN below with the reason the document gives.
"""

from __future__ import annotations

import functools
import re
import subprocess
from pathlib import Path

import pytest

import app  # noqa: F401 - registers every blueprint, so the OpenAPI document lists every route
from chalicelib.api.openapi import openapi_document
from tests.e2e.doc_runner import extract

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FAKE_API = "http://api.invalid"

# curl prints one JSON line of its arguments; every variable a document uses has a value.
PRELUDE = f"""
curl() {{ {{ printf 'CURL'; printf '\\0%s' "$@"; printf '\\n'; }} >&3; echo '{{}}'; }}
openssl() {{ echo fake; }}
sha256sum() {{ echo "0000 $1"; }}
field() {{ echo value; }}
API={FAKE_API} KEY=pyk_k REVIEWER=pyk_r H="Authorization: Bearer pyk_k" PUB=pub SIG=sig UPLOAD=up UPLOAD_ID=up
IID=inst ID=wh INSTALLATION=inst WEBHOOK=wh DELIVERY=dl KEY_ID=kid TASK=task FAILING=task2 SIGNING_KEY_ID=sk
TRIGGER_SECRET=s CAPABILITY_TOKEN=t NEXT=n
"""

# Curl blocks that cannot run against the local stack, each with the reason its document gives in its marker
# (``<!-- doc-test: skip <reason> -->``): (document, first line of the block) → reason.
NOT_RUN: dict[tuple[str, str], str] = {}


def _blocks() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        for block in re.findall(r"```bash\n(.*?)```", doc.read_text(), re.S):
            if "curl " in block:
                found.append((f"{doc.name}:{block.splitlines()[0][:60]}", block))
    return found


@functools.cache
def _operations() -> list[tuple[str, re.Pattern[str]]]:
    ops = []
    for path, item in openapi_document()["paths"].items():
        pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$")
        ops += [(method.upper(), pattern) for method in item]
    return ops


def _calls(block: str, scratch: Path) -> list[list[str]]:
    # The stub writes each call's arguments to fd 3 (a pipe after curl cannot swallow them) and answers {}.
    calls = scratch / "calls"
    script = f'exec 3>"{calls}"\ncd "{scratch}"\n' + PRELUDE + block
    subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30, check=False)
    return [line.split("\0")[1:] for line in calls.read_text().split("\n") if line.startswith("CURL")]


@pytest.mark.parametrize(("where", "block"), _blocks(), ids=[w for w, _ in _blocks()])
def test_curl_examples_are_valid_shell_and_real_routes(where: str, block: str, tmp_path: Path) -> None:
    syntax = subprocess.run(["bash", "-n"], input=block, capture_output=True, text=True, check=False)
    assert syntax.returncode == 0, syntax.stderr
    calls = _calls(block, tmp_path)
    assert calls, "no curl ran"
    operations = _operations()
    for args in calls:
        unexpanded = [a for a in args if re.search(r"\$[A-Z_]{2,}", a)]
        assert not unexpanded, f"a variable is not expanded (inside single quotes?): {unexpanded}"
        urls = [a for a in args if a.startswith(FAKE_API)]
        if not urls:
            continue  # the presigned upload URL
        path = urls[0][len(FAKE_API) :].split("?", 1)[0]
        method = args[args.index("-X") + 1] if "-X" in args else ("POST" if "-d" in args else "GET")
        assert any(m == method and p.match(path) for m, p in operations), f"{method} {path} is not a route"


def test_every_curl_block_runs_against_the_stack_or_says_why_not() -> None:
    unmarked, skipped = [], {}
    for doc in DOCS:
        text = doc.read_text()
        marked = {b.source.strip() for b in extract(text, with_skipped=True)}
        for block in extract(text, with_skipped=True):
            if block.skip is not None and "curl " in block.source:
                skipped[(doc.name, block.source.strip().splitlines()[0])] = block.skip
        for fence in re.findall(r"^( *)```bash\n(.*?)^ *```", text, re.S | re.M):
            body = "\n".join(line[len(fence[0]) :] for line in fence[1].splitlines()).strip()
            if "curl " in body and body not in marked:
                unmarked.append(f"{doc.name}: {body.splitlines()[0]}")
    assert unmarked == [], "mark these blocks <!-- doc-test --> (or skip them, saying why)"
    assert skipped == NOT_RUN
