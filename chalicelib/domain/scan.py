"""The scan report made of every artifact at upload: what a reviewer (and the publisher) should look at.

The report always says how the scan went: ``passed`` (nothing found), ``findings`` (something to look at), or
``failed`` with the reason (a Python file that does not parse, a file that cannot be read, the scanner itself
breaking) — a failed scan never reads as a clean one. An embedded private key is a ``blocking`` finding: the
upload is refused, since a key shipped inside an artifact has leaked to everyone who installs it.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, Field

from chalicelib.domain.errors import SecretInArtifactError
from chalicelib.domain.scan_python import blobs_in_text, scan_python

__all__ = [
    "SCANNER_VERSION",
    "FindingKind",
    "ScanFinding",
    "ScanReport",
    "ScanStatus",
    "Severity",
    "blocking_findings",
    "not_scanned",
    "scan_artifact",
    "scan_or_refuse",
]

SCANNER_VERSION = "1"
MAX_FINDINGS = 200
MAX_SCANNED_BYTES = 5 * 1024 * 1024  # per file; a larger text file is reported as not scanned

ScanStatus = Literal["passed", "findings", "failed"]
Severity = Literal["blocking", "high", "medium"]
FindingKind = Literal[
    "private_key",
    "token",
    "process_spawn",
    "native_code",
    "raw_socket",
    "dynamic_code",
    "obfuscated",
    "binary_file",
]

SEVERITY: dict[str, Severity] = {
    "private_key": "blocking",
    "token": "high",
    "process_spawn": "high",
    "native_code": "high",
    "raw_socket": "high",
    "dynamic_code": "medium",
    "obfuscated": "medium",
    "binary_file": "medium",
}

# Data patterns (not code): credentials have fixed, documented shapes.
SECRET_PATTERNS: tuple[tuple[FindingKind, str, re.Pattern[str]], ...] = (
    ("private_key", "a PEM private key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")),
    ("token", "an AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("token", "a GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})\b")),
    ("token", "a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b")),
    ("token", "a Slack webhook URL", re.compile(r"https://hooks\.slack\.com/services/[A-Za-z0-9/]{20,}")),
    ("token", "a Stripe secret key", re.compile(r"\b(?:sk|rk)_live_[A-Za-z0-9]{16,}\b")),
)

BINARY_SUFFIXES = (".so", ".dll", ".dylib", ".pyd", ".pyc", ".pyo", ".exe", ".bin", ".o", ".a", ".wasm", ".jar")
BINARY_MAGIC = {
    b"\x7fELF": "an ELF executable or library",
    b"MZ": "a Windows executable",
    b"\xcf\xfa\xed\xfe": "a Mach-O binary",
    b"\xfe\xed\xfa\xcf": "a Mach-O binary",
    b"\xca\xfe\xba\xbe": "a Mach-O universal binary or Java class",
    b"\x00asm": "a WebAssembly module",
}


class ScanFinding(BaseModel):
    """One thing a reviewer should look at, with where it is."""

    kind: FindingKind
    severity: Severity
    path: str = Field(description="File inside the artifact")
    line: int | None = Field(None, description="1-based line (Python and text files)")
    column: int | None = Field(None, description="1-based column")
    detail: str


class ScanReport(BaseModel):
    """How the scan went and what it found."""

    status: ScanStatus
    reason: str | None = Field(None, description="Why the scan failed (status failed)")
    scanner_version: str = SCANNER_VERSION
    files_scanned: int = 0
    findings: list[ScanFinding] = Field(default_factory=list)
    truncated: bool = Field(False, description=f"More than {MAX_FINDINGS} findings; the first are listed")


def not_scanned(reason: str) -> ScanReport:
    """The report of a version that has none (published before scanning existed)."""
    return ScanReport(status="failed", reason=reason)


def blocking_findings(report: ScanReport) -> list[ScanFinding]:
    """Findings that refuse the upload."""
    return [f for f in report.findings if f.severity == "blocking"]


def scan_artifact(data: bytes) -> ScanReport:
    """Scan every file of a plugin zip. Never raises: a scanner that breaks reports ``failed`` with the reason."""
    try:
        return _scan(data)
    except Exception as exc:  # noqa: BLE001 - the failure itself becomes the report, visible to everyone
        return ScanReport(status="failed", reason=f"The scanner stopped: {type(exc).__name__}: {exc}")


def _scan(data: bytes) -> ScanReport:
    findings: list[ScanFinding] = []
    failures: list[str] = []
    scanned = 0
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            if info.file_size > MAX_SCANNED_BYTES:
                failures.append(
                    f"{info.filename}: {info.file_size} bytes is over the {MAX_SCANNED_BYTES}-byte scan cap"
                )
                continue
            content = archive.read(info)
            scanned += 1
            problem = _scan_file(info.filename, content, findings)
            if problem:
                failures.append(problem)
    findings.sort(key=lambda f: (f.severity != "blocking", f.path, f.line or 0))
    truncated = len(findings) > MAX_FINDINGS
    status: ScanStatus = "failed" if failures else ("findings" if findings else "passed")
    reason = None
    if failures:
        reason = f"{len(failures)} file(s) could not be scanned: " + "; ".join(failures[:5])
    return ScanReport(
        status=status,
        reason=reason,
        files_scanned=scanned,
        findings=findings[:MAX_FINDINGS],
        truncated=truncated,
    )


def _scan_file(path: str, content: bytes, findings: list[ScanFinding]) -> str | None:
    """Add the file's findings; the reason it could not be scanned, if it could not."""

    def add(kind: FindingKind, detail: str, line: int | None = None, column: int | None = None) -> None:
        findings.append(
            ScanFinding(kind=kind, severity=SEVERITY[kind], path=path, line=line, column=column, detail=detail)
        )

    binary = _binary_kind(path, content)
    text = None if binary else _as_text(content)
    if binary or text is None:
        add("binary_file", binary or "a binary file (not UTF-8 text)")
        # Keys and tokens are found in binary files too: they are plain ASCII wherever they sit.
        text = content.decode("latin-1")
        _secrets(text, add, lines=False)
        return None
    _secrets(text, add, lines=True)
    if path.endswith(".py"):
        try:
            for f in scan_python(text, path):
                add(f.kind, f.detail, f.line, f.column)  # type: ignore[arg-type]
        except (SyntaxError, ValueError) as exc:
            where = f" (line {exc.lineno})" if isinstance(exc, SyntaxError) and exc.lineno else ""
            return f"{path}: not valid Python{where}: {getattr(exc, 'msg', str(exc))}"
    else:
        for line, column, length in blobs_in_text(text):
            add("obfuscated", f"a {length}-character encoded-looking run", line, column)
    return None


def _secrets(text: str, add: Callable[..., None], *, lines: bool) -> None:
    for kind, what, pattern in SECRET_PATTERNS:
        for match in pattern.finditer(text):
            line = text.count("\n", 0, match.start()) + 1 if lines else None
            column = match.start() - text.rfind("\n", 0, match.start()) if lines else None
            add(kind, f"{what} ({_redact(match.group(0))})", line, column)


def _redact(secret: str) -> str:
    """Enough of a secret to recognise it, never enough to use it."""
    return secret if secret.startswith("-----") else secret[:6] + "…"


def _binary_kind(path: str, content: bytes) -> str | None:
    for magic, what in BINARY_MAGIC.items():
        if content.startswith(magic) and (magic != b"MZ" or b"This program" in content[:512]):
            return what
    if path.lower().endswith(BINARY_SUFFIXES):
        return f"a compiled or binary file ({path.rsplit('.', 1)[-1]})"
    return None


def _as_text(content: bytes) -> str | None:
    if b"\x00" in content:
        return None
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return None


def scan_or_refuse(data: bytes) -> ScanReport:
    """The upload's scan report; SecretInArtifactError when it embeds a private key (a key shipped is leaked)."""
    scan = scan_artifact(data)
    blocking = blocking_findings(scan)
    if blocking:
        where = ", ".join(f"{f.path}" + (f" line {f.line}" if f.line else "") for f in blocking[:5])
        raise SecretInArtifactError(
            f"The artifact embeds a private key ({where}). Remove it from the zip and treat the key as leaked: "
            "rotate it (a publisher signing key: revoke it with DELETE /api/publisher/keys/{key_id}).",
            findings=[f.model_dump(mode="json") for f in blocking[:5]],
        )
    return scan
