"""Run the shell examples of a Markdown document against a live stack and check what they print.

A fenced ```bash block runs when the line before it is ``<!-- doc-test -->``; the blocks of one document
run in order in one bash session (variables carry over). Each ``curl`` in them is followed in the document by
its expected answer as comments: ``# 201 {"plugin_id":"hello-world",…}`` (a status, then the body) or
``# {"ok":true,…}`` (any 2xx). The answer's body must contain every piece of the comment between ``…``
(whitespace ignored), in the order the API returns its fields; a curl with no comment must answer 2xx.
A curl whose answer sets a variable (``TASK=$(curl … | field task_id)``) counts as a curl too, so later steps
use ids from earlier answers. A block marked ``<!-- doc-test: env -->`` runs too, then the runner re-exports
the variables it is given (the stack's real URL and keys), since the document shows the default port. A block
marked ``<!-- doc-test: skip <reason> -->`` does not run; tests/unit/test_docs_curl.py holds the one list of
those and requires every other curl block of the docs to be marked ``doc-test``. Fences may be indented
(a block inside a list item).

A ``plugyard`` command (also after ``VAR=$(``, a pipe, or ``NAME=value`` prefixes) runs the CLI on the PATH the
runner is given; it must exit 0, and every piece of its comment (split at ``…``) must be in what it printed
(stdout and stderr), e.g. ``# published my-counter@0.1.0 … pending``.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Block", "Expectation", "check_answers", "extract", "run_document"]

MARKER = re.compile(r"^<!-- doc-test(?:: (env|skip)\b ?(.*?))? -->$")
# A command that is a curl: ``curl …`` or ``NAME=$(curl …``.
_CURL = re.compile(r"\s*(?:[A-Za-z_][A-Za-z0-9_]*=\$\()?curl\s")
_STATUS = re.compile(r"^(\d{3})\b\s*(.*)$", re.S)
# A command that runs the CLI: ``plugyard …``, ``X=$(plugyard …``, ``… | plugyard …``, ``NAME=value plugyard …``.
_PLUGYARD = re.compile(r"(?:^|[|;&]|\$\()\s*(?:[A-Za-z_][A-Za-z0-9_]*=\S+\s+)*plugyard\s")


@dataclass
class Expectation:
    """One curl of the document and what it should answer."""

    command: str
    status: int | None  # None: any 2xx
    pieces: list[str] = field(default_factory=list)


@dataclass
class Block:
    source: str
    env: bool
    curls: list[Expectation]
    skip: str | None = None  # why the block cannot run here (``<!-- doc-test: skip … -->``)
    plugyards: list[Expectation] = field(default_factory=list)  # its ``plugyard`` commands


def _commands(lines: list[str]) -> list[tuple[str, list[str]]]:
    """Split a block into commands (continuation lines and multi-line quotes joined) and their comments."""
    out: list[tuple[str, list[str]]] = []
    current: list[str] = []
    for line in lines:
        stripped = line.strip()
        if current and (current[-1].endswith("\\") or _open_quote(current)):
            current.append(line)
            continue
        if current:
            out.append((" ".join(current), []))
            current = []
        if stripped.startswith("#"):
            if out:
                out[-1][1].append(stripped.lstrip("#").strip())
            continue
        if stripped:
            current.append(line)
    if current:
        out.append((" ".join(current), []))
    return out


def _open_quote(lines: list[str]) -> bool:
    text = "\n".join(lines)
    return text.count("'") % 2 == 1


def _expectation(command: str, comments: list[str]) -> Expectation:
    text = " ".join(comments)
    status = None
    match = _STATUS.match(text)
    if match:
        status, text = int(match.group(1)), match.group(2)
    # Commas at the cut are the document's punctuation, not content: "a",…,"b" matches "a","b" too.
    pieces = [re.sub(r"\s+", "", p).strip(",") for p in re.split(r"…|\.\.\.", text)]
    return Expectation(command, status, [p for p in pieces if len(p) >= 3])


def extract(markdown: str, *, with_skipped: bool = False) -> list[Block]:
    """The marked bash blocks of a document, with the expectations of their curls (skipped ones on request)."""
    blocks: list[Block] = []
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        marker = MARKER.match(lines[i].strip())
        if marker and i + 1 < len(lines) and lines[i + 1].strip() == "```bash":
            indent = len(lines[i + 1]) - len(lines[i + 1].lstrip())
            end = next(j for j in range(i + 2, len(lines)) if lines[j].strip() == "```")
            body = [line[indent:] if not line[:indent].strip() else line.lstrip() for line in lines[i + 2 : end]]
            commands = _commands(body)
            curls = [_expectation(cmd, comments) for cmd, comments in commands if _CURL.match(cmd)]
            cli = [_expectation(cmd, comments) for cmd, comments in commands if _PLUGYARD.search(cmd)]
            kind, reason = marker.group(1), marker.group(2)
            skip = (reason or "?") if kind == "skip" else None
            block = Block("\n".join(body), kind == "env", curls, skip=skip, plugyards=cli)
            if block.skip is None or with_skipped:
                blocks.append(block)
            i = end
        i += 1
    return blocks


# Every curl records its status and body (still printing the body, so redirections work as written).
_PRELUDE = """
set -euo pipefail
curl() {
  # A counter in a file, not a variable: a curl in a pipeline runs in a subshell.
  local n=$(( $(cat "$DOC_OUT/count" 2>/dev/null || echo 0) + 1 ))
  echo "$n" > "$DOC_OUT/count"
  command curl -o "$DOC_OUT/$n.body" -w '%{http_code}' "$@" > "$DOC_OUT/$n.status"
  cat "$DOC_OUT/$n.body"
}
plugyard() {
  local n=$(( $(cat "$DOC_OUT/cli-count" 2>/dev/null || echo 0) + 1 )) rc=0
  echo "$n" > "$DOC_OUT/cli-count"
  command plugyard "$@" > "$DOC_OUT/cli-$n.stdout" 2> "$DOC_OUT/cli-$n.stderr" || rc=$?
  echo "$rc" > "$DOC_OUT/cli-$n.rc"
  cat "$DOC_OUT/cli-$n.stdout"
  cat "$DOC_OUT/cli-$n.stderr" >&2
  return "$rc"
}
"""


def run_document(
    markdown: str, *, cwd: Path, out: Path, env: dict[str, str], overrides: dict[str, str], timeout_s: float = 300
) -> list[str]:
    """Run the document's marked blocks; returns the list of mismatches (empty when the document is true)."""
    blocks = extract(markdown)
    script = [_PRELUDE]
    for block in blocks:
        script.append(block.source)
        if block.env:
            script.append("export " + " ".join(f"{k}='{v}'" for k, v in overrides.items()))
    done = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=cwd,
        env={**env, "DOC_OUT": str(out)},
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    problems = []
    if done.returncode != 0:
        problems.append(f"the script failed ({done.returncode}): {done.stderr[-2000:]}")
    return problems + check_answers(blocks, out) + check_cli_output(blocks, out)


def check_cli_output(blocks: list[Block], out: Path) -> list[str]:
    """Each ``plugyard`` command ran, exited 0, and printed every piece its comment shows."""
    problems = []
    for n, exp in enumerate((e for b in blocks for e in b.plugyards), start=1):
        status_file = out / f"cli-{n}.rc"
        if not status_file.exists():
            problems.append(f"plugyard #{n} never ran: {exp.command[:120]}")
            continue
        printed = (out / f"cli-{n}.stdout").read_text() + (out / f"cli-{n}.stderr").read_text()
        if status_file.read_text().strip() != "0":
            problems.append(
                f"plugyard #{n} exited {status_file.read_text().strip()}: {exp.command[:120]}: {printed[-600:]}"
            )
        flat = re.sub(r"\s+", "", printed)
        problems += [
            f"plugyard #{n} ({exp.command[:80]}…): {piece[:120]!r} not in {printed[:400]!r}"
            for piece in exp.pieces
            if piece not in flat
        ]
    return problems


def check_answers(blocks: list[Block], out: Path) -> list[str]:
    """Compare the recorded answers in ``out`` with what the blocks' comments say."""
    problems = []
    expected = [e for b in blocks for e in b.curls]
    for n, exp in enumerate(expected, start=1):
        status_file, body_file = out / f"{n}.status", out / f"{n}.body"
        if not status_file.exists():
            problems.append(f"curl #{n} never ran: {exp.command[:120]}")
            continue
        status = int(status_file.read_text() or 0)
        body = body_file.read_text() if body_file.exists() else ""
        ok = status == exp.status if exp.status is not None else 200 <= status < 300
        if not ok:
            problems.append(
                f"curl #{n} answered {status}, the document says {exp.status or '2xx'}: {exp.command[:160]}"
            )
        flat, at = re.sub(r"\s+", "", body), 0
        for piece in exp.pieces:
            found = flat.find(piece, at)
            if found < 0:
                problems.append(f"curl #{n} ({exp.command[:80]}…): {piece[:120]!r} not in {body[:400]!r}")
                break
            at = found + len(piece)
    if len(list(out.glob("*.status"))) != len(expected):
        problems.append(f"{len(list(out.glob('*.status')))} curls ran, the document shows {len(expected)}")
    return problems
