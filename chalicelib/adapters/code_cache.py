"""Unpacked plugin code on the host: one read-only directory per artifact digest, reused across invocations."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import tempfile
import threading
import zipfile
from io import BytesIO
from pathlib import Path

from chalicelib.domain.deployments import DeploymentFailedError
from chalicelib.domain.errors import InvalidArtifactError
from chalicelib.domain.models import PluginVersion
from chalicelib.ports import ArtifactStore, CodeCache

__all__ = ["CodeCacheDeployer", "LocalCodeCache"]


class CodeCacheDeployer:
    """The FunctionDeployer of the sandbox executor: deploying a version is unpacking its code, on the spot."""

    synchronous = True

    def __init__(self, code: CodeCache) -> None:
        self._code = code

    def deploy(self, version: PluginVersion) -> str:
        try:
            return self._code.code_dir(version)
        except InvalidArtifactError as exc:
            raise DeploymentFailedError(exc.detail) from exc

    def remove(self, plugin_id: str, version: str) -> None:
        """Nothing to give back: unpacked code is shared by digest and costs no quota."""

    def prime(self, version: PluginVersion, data: bytes) -> str:
        """Deploy from the zip's bytes at hand (a development upload), without reading them back from the store."""
        if not isinstance(self._code, LocalCodeCache):
            return self.deploy(version)
        try:
            return self._code.code_dir(version, data=data)
        except InvalidArtifactError as exc:
            raise DeploymentFailedError(exc.detail) from exc


class LocalCodeCache:
    """``<root>/<sha256>/``: the version's zip unpacked once, then made read-only (0444 files, 0555 dirs).

    Content-addressed like the artifact key, so two versions with the same zip share a directory and a
    directory never changes once it exists (it is built beside it and renamed into place atomically).
    """

    def __init__(self, artifacts: ArtifactStore, root: str, *, max_artifact_bytes: int) -> None:
        self._artifacts = artifacts
        self._root = Path(root)
        self._max = max_artifact_bytes
        self._lock = threading.Lock()

    def code_dir(self, version: PluginVersion, *, data: bytes | None = None) -> str:
        """The directory holding the version's code, unpacking it on first use (from ``data`` when given)."""
        target = self._root / version.artifact_sha256
        if target.is_dir():
            return str(target)
        if data is not None and hashlib.sha256(data).hexdigest() != version.artifact_sha256:
            raise InvalidArtifactError("The bytes given are not this version's artifact.", key=version.artifact_key)
        with self._lock:
            if target.is_dir():
                return str(target)
            if data is None:
                data = self._artifacts.read(version.artifact_key, max_bytes=self._max)
            if data is None:
                raise InvalidArtifactError(
                    f"The artifact of {version.plugin_id}@{version.version} is missing.", key=version.artifact_key
                )
            self._root.mkdir(parents=True, exist_ok=True)
            # The sandbox user (uid 65534) must be able to reach the code through the cache root.
            os.chmod(self._root, 0o755)  # noqa: S103 - readable by the sandbox user, on purpose
            staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=self._root))
            try:
                _unpack(data, staging)
                _make_read_only(staging)
                staging.rename(target)
            except BaseException:
                _make_writable(staging)
                shutil.rmtree(staging, ignore_errors=True)
                raise
        return str(target)


def _unpack(data: bytes, into: Path) -> None:
    # The zip was inspected at publish time; the path checks are repeated because this writes to the host.
    with zipfile.ZipFile(BytesIO(data)) as archive:
        for info in archive.infolist():
            name = info.filename.replace("\\", "/")
            dest = (into / name).resolve()
            if not str(dest).startswith(str(into.resolve()) + os.sep) and dest != into.resolve():
                raise InvalidArtifactError(f"Unsafe path in zip: '{info.filename}'.")
            mode = info.external_attr >> 16
            if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise InvalidArtifactError(f"The zip holds a link or special file: '{info.filename}'.")
            if info.is_dir():
                dest.mkdir(parents=True, exist_ok=True)
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out)


def _make_read_only(root: Path) -> None:
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o444)
        for name in dirnames:
            os.chmod(os.path.join(dirpath, name), 0o555)  # noqa: S103
    os.chmod(root, 0o555)  # noqa: S103


def _make_writable(root: Path) -> None:
    with contextlib.suppress(OSError):
        for dirpath, dirnames, _ in os.walk(root):
            os.chmod(dirpath, 0o755)  # noqa: S103
            for name in dirnames:
                os.chmod(os.path.join(dirpath, name), 0o755)  # noqa: S103
