"""`plugyard package` and `plugyard validate`: reproducible zips that leave secrets out, and the API's own checks
offline (units on the pure parts, then the real executable)."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from chalicelib.domain.artifact import inspect_artifact
from chalicelib.domain.errors import InvalidManifestError
from chalicelib.domain.manifest import PlatformCaps
from chalicelib.publisher_cli.bundle import collect
from chalicelib.publisher_cli.checks import check_zip

from .conftest import Plugyard

ROOT = Path(__file__).resolve().parents[2]
HELLO = ROOT / "examples" / "plugins" / "hello-world"
PEM = Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """hello-world plus everything that must never be packaged, and a .plugyardignore."""
    f = tmp_path / "plugin"
    f.mkdir()
    shutil.copy(HELLO / "plugyard.json", f / "plugyard.json")
    (f / "handler.py").write_text("def main(event, ctx):\n    return {'ok': True}\n")
    (f / ".git").mkdir()
    (f / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (f / "__pycache__").mkdir()
    (f / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"\0")
    (f / ".env").write_text("TOKEN=secret\n")
    (f / ".env.local").write_text("TOKEN=secret\n")
    (f / "publisher.pem").write_bytes(PEM)
    (f / "signing.key").write_text("whatever\n")
    (f / "lib").mkdir()
    (f / "lib" / "util.py").write_text("X = 1\n")
    (f / "lib" / "embedded.txt").write_bytes(b"config\n" + PEM)
    (f / "docs").mkdir()
    (f / "docs" / "notes.md").write_text("n\n")
    (f / "draft.tmp").write_text("t\n")
    (f / ".plugyardignore").write_text("# notes stay out\ndocs/\n*.tmp\n")
    return f


def test_only_the_plugin_goes_in_and_every_exclusion_has_a_reason(folder: Path) -> None:
    bundle = collect(folder)
    assert bundle.files == ["handler.py", "lib/util.py", "plugyard.json"]
    reasons = {e.path: e.reason for e in bundle.excluded}
    assert reasons == {
        ".env": "environment file (secrets)",
        ".env.local": "environment file (secrets)",
        ".git/": "version control folder",
        ".plugyardignore": "the ignore file itself",
        "__pycache__/": "cache or virtualenv",
        "docs/": "matched .plugyardignore",
        "draft.tmp": "matched .plugyardignore",
        "lib/embedded.txt": "holds a PEM private key",
        "publisher.pem": "key file (*.pem / *.key)",
        "signing.key": "key file (*.pem / *.key)",
    }


def test_the_zip_is_reproducible_byte_for_byte(folder: Path, tmp_path: Path) -> None:
    first = collect(folder).zip_bytes()
    # The same files, copied later (new mtimes, other modes), give the same bytes.
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    (copy / "handler.py").chmod(0o755)
    (copy / "lib" / "util.py").touch()
    assert collect(copy).zip_bytes() == first
    with zipfile.ZipFile(io.BytesIO(first)) as zf:
        infos = zf.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}


def test_a_valid_folder_passes_exactly_as_the_server_parses_it(folder: Path) -> None:
    data = collect(folder).zip_bytes()
    verdict = check_zip(data)
    assert verdict.ok and verdict.issues == []
    server = inspect_artifact(data, PlatformCaps())
    assert verdict.manifest == server.manifest and verdict.sha256 == server.sha256


def test_manifest_errors_carry_json_pointers_and_hints(tmp_path: Path) -> None:
    f = tmp_path / "bad"
    f.mkdir()
    man = {
        "id": "Bad_Id",
        "name": "x",
        "version": "1.0",
        "publisher": "acme",
        "entrypoints": {"main": "handler:main"},
        "colour": "red",
        "resources": {"memory_mb": 64, "timeout_s": 5},
    }
    (f / "plugyard.json").write_text(json.dumps(man))
    data = collect(f).zip_bytes()
    verdict = check_zip(data)
    assert not verdict.ok
    found = {i.pointer: i for i in verdict.issues}
    assert set(found) == {"/id", "/version", "/colour"}
    assert "lower-case letters" in found["/id"].hint
    assert "semantic version" in found["/version"].hint
    assert "no such field" in found["/colour"].hint
    # The same problems the server reports, one for one.
    with pytest.raises(InvalidManifestError) as server:
        inspect_artifact(data, PlatformCaps())
    assert [e["msg"] for e in server.value.extensions["errors"]] == [i.message for i in verdict.issues]


def test_platform_limits_are_checked_with_the_pointer_of_the_field(tmp_path: Path) -> None:
    f = tmp_path / "big"
    shutil.copytree(HELLO, f)
    man = json.loads((f / "plugyard.json").read_text())
    man["resources"]["memory_mb"] = 4096
    (f / "plugyard.json").write_text(json.dumps(man))
    [issue] = check_zip(collect(f).zip_bytes()).issues
    assert issue.pointer == "/resources/memory_mb" and "between 64 and 1024" in issue.message


def test_an_unsafe_zip_is_refused_with_the_entry(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("plugyard.json", (HELLO / "plugyard.json").read_text())
        zf.writestr("../escape.py", "x")
    [issue] = check_zip(buf.getvalue()).issues
    assert issue.pointer == "zip:../escape.py" and "Unsafe path" in issue.message


def test_package_writes_the_zip_and_says_what_it_left_out(plugyard: Plugyard, folder: Path, tmp_path: Path) -> None:
    done = plugyard("package", str(folder), "-o", str(tmp_path / "a.zip"))
    assert done.code == 0, done.err
    assert "left out publisher.pem — key file (*.pem / *.key)" in done.err
    assert "left out lib/embedded.txt — holds a PEM private key" in done.err
    again = plugyard("package", str(folder), "-o", str(tmp_path / "b.zip"), "--json")
    info = json.loads(again.out)
    data = (tmp_path / "a.zip").read_bytes()
    assert data == (tmp_path / "b.zip").read_bytes()
    assert info["sha256"] == hashlib.sha256(data).hexdigest()
    assert info["files"] == ["handler.py", "lib/util.py", "plugyard.json"]
    assert (info["plugin_id"], info["version"]) == ("hello-world", "1.0.0")


def test_validate_exits_4_with_pointers_and_hints(plugyard: Plugyard, tmp_path: Path) -> None:
    f = tmp_path / "bad"
    shutil.copytree(HELLO, f)
    man = json.loads((f / "plugyard.json").read_text())
    man["permissions"] = ["storage:rw"]
    (f / "plugyard.json").write_text(json.dumps(man))
    done = plugyard("validate", str(f))
    assert done.code == 4
    assert "error /permissions: Value error, unknown permission scopes ['storage:rw']" in done.err
    assert "hint: known scopes: storage:read" in done.err
    as_json = json.loads(plugyard("validate", str(f), "--json").out)
    assert as_json["ok"] is False and as_json["errors"][0]["pointer"] == "/permissions"
    # A zip is checked as it is.
    zipped = tmp_path / "hello.zip"
    assert plugyard("package", str(HELLO), "-o", str(zipped)).code == 0
    ok = plugyard("validate", str(zipped))
    assert ok.code == 0 and "hello-world@1.0.0 passes the API's checks" in ok.err
    # A package that the API would refuse is not written.
    assert plugyard("package", str(f), "-o", str(tmp_path / "no.zip")).code == 4
    assert not (tmp_path / "no.zip").exists()
