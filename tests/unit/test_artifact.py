"""Plugin zips are inspected before anything is stored: unsafe archives never reach the bucket."""

from __future__ import annotations

import hashlib
import io
import stat
import zipfile

import pytest
from conftest import make_zip, manifest

from chalicelib.domain.artifact import ArtifactLimits, inspect_artifact
from chalicelib.domain.errors import InvalidArtifactError, InvalidManifestError
from chalicelib.domain.manifest import PlatformCaps

CAPS = PlatformCaps()
GOOD = manifest("zip-test", "acme")


def entry(name: str, mode: int | None = None) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    if mode is not None:
        info.external_attr = mode << 16
    return info


def test_a_clean_zip_passes_with_its_digest_and_manifest() -> None:
    data = make_zip(GOOD, {"lib/util.py": "X = 1\n"})
    out = inspect_artifact(data, CAPS)
    assert out.sha256 == hashlib.sha256(data).hexdigest()
    assert out.size_bytes == len(data)
    assert out.manifest.id == "zip-test"


@pytest.mark.parametrize("name", ["../x", "lib/../../x", "/etc/passwd", "\\windows\\x", "C:/x", "a\\..\\b"])
def test_unsafe_paths_are_refused(name: str) -> None:
    with pytest.raises(InvalidArtifactError) as exc:
        inspect_artifact(make_zip(GOOD, entries=[entry(name)]), CAPS)
    assert exc.value.extensions["entry"] == name


def test_symlink_entries_are_refused() -> None:
    link = (entry("link", stat.S_IFLNK | 0o777), b"/etc/passwd")
    with pytest.raises(InvalidArtifactError, match="link"):
        inspect_artifact(make_zip(GOOD, entries=[link]), CAPS)


def test_special_files_are_refused() -> None:
    with pytest.raises(InvalidArtifactError, match="special file"):
        inspect_artifact(make_zip(GOOD, entries=[entry("fifo", stat.S_IFIFO | 0o644)]), CAPS)


def test_regular_files_and_directories_with_modes_are_fine() -> None:
    data = make_zip(GOOD, entries=[entry("bin/", stat.S_IFDIR | 0o755), entry("bin/run", stat.S_IFREG | 0o755)])
    assert inspect_artifact(data, CAPS).manifest.id == "zip-test"


def test_decompression_bomb_ratio_is_refused() -> None:
    bomb = make_zip(GOOD, {"zeros.bin": b"\0" * (2 * 1024 * 1024)})
    with pytest.raises(InvalidArtifactError, match="decompression bomb") as exc:
        inspect_artifact(bomb, CAPS)
    assert exc.value.extensions["entry"] == "zeros.bin"


def test_total_uncompressed_size_is_capped() -> None:
    data = make_zip(GOOD, {"a.txt": "a" * 5000})
    with pytest.raises(InvalidArtifactError, match="expands to"):
        inspect_artifact(data, CAPS, ArtifactLimits(max_uncompressed_bytes=4000, max_ratio=10_000))


def test_too_many_files_are_refused() -> None:
    files: dict[str, bytes | str] = {f"f{i}.txt": str(i) for i in range(12)}
    with pytest.raises(InvalidArtifactError, match="entries"):
        inspect_artifact(make_zip(GOOD, files), CAPS, ArtifactLimits(max_files=10))


def test_missing_manifest_is_a_manifest_error() -> None:
    with pytest.raises(InvalidManifestError, match=r"no plugyard\.json"):
        inspect_artifact(make_zip(None), CAPS)


def test_manifest_in_a_subfolder_does_not_count() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("sub/plugyard.json", "{}")
    with pytest.raises(InvalidManifestError):
        inspect_artifact(buf.getvalue(), CAPS)


@pytest.mark.parametrize("data", [b"", b"not a zip at all", b"PK\x03\x04broken"])
def test_garbage_is_not_a_zip(data: bytes) -> None:
    with pytest.raises(InvalidArtifactError, match="not a zip"):
        inspect_artifact(data, CAPS)


def test_invalid_manifest_inside_a_safe_zip_lists_errors() -> None:
    with pytest.raises(InvalidManifestError) as exc:
        inspect_artifact(make_zip(manifest("zip-test", "acme", version="nope")), CAPS)
    assert [e["loc"] for e in exc.value.extensions["errors"]] == ["version"]
