"""Plugin zip inspection: refuse unsafe archives before anything is stored."""

from __future__ import annotations

import hashlib
import io
import stat
import zipfile
from dataclasses import dataclass

from chalicelib.domain.errors import InvalidArtifactError, InvalidManifestError
from chalicelib.domain.manifest import MANIFEST_NAME, Manifest, PlatformCaps, parse_manifest

__all__ = ["ArtifactLimits", "InspectedArtifact", "inspect_artifact"]


@dataclass(frozen=True)
class ArtifactLimits:
    """Caps on what a plugin zip may contain."""

    max_files: int = 500
    max_uncompressed_bytes: int = 50 * 1024 * 1024
    max_ratio: float = 100.0


@dataclass(frozen=True)
class InspectedArtifact:
    """A zip that passed every check, with its digest and manifest."""

    sha256: str
    size_bytes: int
    manifest: Manifest


def inspect_artifact(data: bytes, caps: PlatformCaps, limits: ArtifactLimits | None = None) -> InspectedArtifact:
    """Check a plugin zip and read its manifest; InvalidArtifactError/InvalidManifestError say why not."""
    limits = limits or ArtifactLimits()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise InvalidArtifactError("The artifact is not a zip file.") from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.max_files:
            raise InvalidArtifactError(f"The zip holds {len(infos)} entries; the limit is {limits.max_files}.")
        total = 0
        for info in infos:
            _check_entry(info)
            total += info.file_size
            if info.compress_size and info.file_size / info.compress_size > limits.max_ratio:
                raise InvalidArtifactError(
                    f"'{info.filename}' expands more than {limits.max_ratio:.0f}× (a decompression bomb?).",
                    entry=info.filename,
                )
        if total > limits.max_uncompressed_bytes:
            raise InvalidArtifactError(
                f"The zip expands to {total} bytes; the limit is {limits.max_uncompressed_bytes}."
            )
        try:
            raw = archive.read(MANIFEST_NAME)
        except KeyError as exc:
            raise InvalidManifestError(f"The zip has no {MANIFEST_NAME} at its root.") from exc
    manifest = parse_manifest(raw, caps)
    return InspectedArtifact(sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data), manifest=manifest)


def _check_entry(info: zipfile.ZipInfo) -> None:
    name = info.filename
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in parts:
        raise InvalidArtifactError(f"Unsafe path in zip: '{name}'.", entry=name)
    mode = info.external_attr >> 16
    # A mode without file-type bits (e.g. Python's ZipFile.writestr: 0o600) is a plain file.
    if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        kind = "link" if stat.S_ISLNK(mode) else "special file"
        raise InvalidArtifactError(f"The zip holds a {kind}: '{name}'.", entry=name)
