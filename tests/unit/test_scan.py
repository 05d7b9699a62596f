"""The upload scan: each kind of finding with its location, failures that stay visible, a clean plugin passing."""

from __future__ import annotations

import io
import json
import os
import zipfile

import pytest

from chalicelib.domain.scan import ScanReport, blocking_findings, scan_artifact

MANIFEST = json.dumps({"id": "clean", "name": "Clean", "version": "1.0.0", "publisher": "acme"})
CLEAN = "def handler(event, ctx):\n    ctx.log.info('hello')\n    return {'ok': True}\n"


def zip_of(files: dict[str, str | bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("plugyard.json", MANIFEST)
        for name, content in files.items():
            z.writestr(name, content)
    return buf.getvalue()


def kinds(report: ScanReport) -> set[tuple[str, str, int | None]]:
    return {(f.kind, f.path, f.line) for f in report.findings}


def test_a_clean_plugin_passes() -> None:
    report = scan_artifact(zip_of({"main.py": CLEAN, "README.md": "A plugin that says hello.\n"}))
    assert report.status == "passed"
    assert report.findings == []
    assert report.files_scanned == 3


@pytest.mark.parametrize(
    ("source", "kind", "line"),
    [
        ("import subprocess\n", "process_spawn", 1),
        ("x = 1\nfrom subprocess import run as go\n", "process_spawn", 2),
        ("import os as o\n\n\no.system('ls')\n", "process_spawn", 4),
        ("import os\nos.execv('/bin/sh', [])\n", "process_spawn", 2),
        ("import ctypes\n", "native_code", 1),
        ("from cffi import FFI\n", "native_code", 1),
        ("import socket\n", "raw_socket", 1),
        ("x = 2\ny = eval('1+1')\n", "dynamic_code", 2),
        ("exec('print(1)')\n", "dynamic_code", 1),
        ("code = compile('1', 'f', 'eval')\n", "dynamic_code", 1),
        ("m = __import__('os')\n", "dynamic_code", 1),
        ("import importlib\n", "dynamic_code", 1),
        ("import marshal\n", "dynamic_code", 1),
        ("from pickle import loads\n", "dynamic_code", 1),
        ("BLOB = '" + os.urandom(300).hex() + "'\n", "obfuscated", 1),
    ],
)
def test_each_python_finding_kind_is_found_with_its_location(source: str, kind: str, line: int) -> None:
    report = scan_artifact(zip_of({"main.py": CLEAN, "pkg/mod.py": source}))
    assert report.status == "findings"
    assert (kind, "pkg/mod.py", line) in kinds(report)
    found = next(f for f in report.findings if f.kind == kind)
    assert found.column is not None and found.column >= 1
    assert found.severity in {"high", "medium"}


def test_a_call_through_an_alias_is_located_at_the_call() -> None:
    report = scan_artifact(zip_of({"main.py": "from subprocess import run as go\n\n\ngo(['ls'])\n"}))
    details = {(f.line, f.detail) for f in report.findings}
    assert (1, "imports subprocess.run") in details
    assert (4, "calls subprocess.run()") in details


def test_words_in_strings_and_comments_are_not_code() -> None:
    source = "# we never call eval() here\nHELP = 'use subprocess at your own risk'\n"
    assert scan_artifact(zip_of({"main.py": source})).status == "passed"


@pytest.mark.parametrize(
    ("name", "content", "what"),
    [
        ("lib/native.so", b"\x7fELF\x02\x01\x01" + b"\x00" * 64, "ELF"),
        ("cache/main.cpython-311.pyc", b"\xa7\r\r\n" + b"\x00" * 16, "pyc"),
        ("data.bin", bytes(range(256)), "bin"),
        ("tool.exe", b"MZ\x90\x00This program cannot be run in DOS mode", "Windows"),
    ],
)
def test_binary_files_are_reported(name: str, content: bytes, what: str) -> None:
    report = scan_artifact(zip_of({"main.py": CLEAN, name: content}))
    found = [f for f in report.findings if f.kind == "binary_file" and f.path == name]
    assert found and what in found[0].detail


def test_a_long_encoded_blob_in_a_data_file_is_obfuscation() -> None:
    import base64

    blob = base64.b64encode(os.urandom(600)).decode()
    report = scan_artifact(zip_of({"main.py": CLEAN, "assets/payload.txt": f"header\n  data={blob}\n"}))
    assert ("obfuscated", "assets/payload.txt", 2) in kinds(report)


@pytest.mark.parametrize(
    ("content", "kind", "what"),
    [
        ("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n", "private_key", "PEM"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaA==\n", "private_key", "PEM"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n", "private_key", "PEM"),
        ("AWS_KEY = 'AKIAIOSFODNN7EXAMPLE'\n", "token", "AWS"),
        ("TOKEN = 'ghp_" + "a1B2" * 9 + "'\n", "token", "GitHub"),
        ("SLACK = 'xoxb-1234567890-abcdefghij'\n", "token", "Slack"),
    ],
)
def test_embedded_keys_and_tokens_are_found_and_redacted(content: str, kind: str, what: str) -> None:
    report = scan_artifact(zip_of({"main.py": CLEAN, "config/secrets.py": content}))
    found = [f for f in report.findings if f.kind == kind]
    assert found and found[0].path == "config/secrets.py" and found[0].line == 1
    assert what in found[0].detail
    if kind == "token":
        assert "AKIAIOSFODNN7EXAMPLE" not in found[0].detail and "a1B2a1B2a1B2" not in found[0].detail
    assert bool(blocking_findings(report)) is (kind == "private_key")


def test_a_private_key_inside_a_binary_file_is_still_found() -> None:
    content = b"\x00\x01" + b"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n" + b"\x00"
    report = scan_artifact(zip_of({"main.py": CLEAN, "keys.der": content}))
    assert {f.kind for f in report.findings} >= {"binary_file", "private_key"}


def test_a_python_file_it_cannot_parse_fails_the_scan_visibly() -> None:
    report = scan_artifact(zip_of({"main.py": CLEAN, "legacy.py": "print 'python 2'\n", "x.py": "import ctypes\n"}))
    assert report.status == "failed"
    assert report.reason is not None and "legacy.py" in report.reason and "line 1" in report.reason
    # What it could read is still reported.
    assert ("native_code", "x.py", 1) in kinds(report)


def test_a_scanner_that_breaks_reports_failed_with_the_reason() -> None:
    report = scan_artifact(b"not a zip at all")
    assert report.status == "failed"
    assert report.reason is not None and "BadZipFile" in report.reason
