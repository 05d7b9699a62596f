"""Where the sandbox comes from: bwrap, the real interpreter, the runtime package, and the bwrap command line."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from chalicelib.domain.errors import SandboxUnavailableError

__all__ = ["SandboxEnvironment", "SandboxUnavailableError"]

MIB = 1024 * 1024

# Runs inside the sandbox: put the runtime on the path and hand over to the worker.
_BOOTSTRAP = "import sys;sys.path.insert(0,'/runtime');from plugyard_runtime._worker import main;main()"


@dataclass(frozen=True)
class SandboxEnvironment:
    """Resolved paths plus the fixed part of the bwrap command line."""

    bwrap: str
    python: str  # the real interpreter binary (symlinks and venvs resolved)
    python_prefix: str  # bound read-only at the same path inside the sandbox
    runtime_package: str  # host dir of plugyard_runtime, bound at /runtime/plugyard_runtime

    @classmethod
    def resolve(cls, python_executable: str | None, runtime_path: str | None) -> SandboxEnvironment:
        """Find bwrap, the real interpreter prefix and the runtime; SandboxUnavailableError if impossible."""
        bwrap = shutil.which("bwrap")
        if bwrap is None:
            raise SandboxUnavailableError(
                "bubblewrap is not installed (no `bwrap` on PATH): apt-get install -y bubblewrap"
            )
        _check_user_namespaces()
        if python_executable is None:
            # A venv or pyenv shim is not an interpreter: bind the real installation.
            python = os.path.realpath(sys.executable)
            prefix = os.path.realpath(sys.base_prefix)
        else:
            python = os.path.realpath(python_executable)
            prefix = str(Path(python).parent.parent)
        if not os.access(python, os.X_OK):
            raise SandboxUnavailableError(f"python interpreter {python} is not executable")
        return cls(bwrap, python, prefix, _runtime_package(runtime_path))

    def command(self, *, code_dir: str, tmpfs_mb: int, extra_fds: dict[str, int]) -> list[str]:
        """The bwrap argv that starts one worker (control fds appended by the caller)."""
        args = [
            self.bwrap,
            "--unshare-all",  # includes a new, empty network namespace: no network at all
            "--unshare-user",
            "--disable-userns",  # no nested user namespaces: they would hand the plugin capabilities again
            "--uid", "65534",
            "--gid", "65534",
            "--cap-drop", "ALL",
            "--die-with-parent",
            "--new-session",  # no TIOCSTI into a controlling terminal
            "--clearenv",
            "--as-pid-1",  # the worker is pid 1: when it dies the kernel kills everything it forked
            "--hostname", "plugyard-sandbox",
            "--ro-bind", "/usr", "/usr",
            "--symlink", "usr/lib", "/lib",
            "--symlink", "usr/lib64", "/lib64",
            "--symlink", "usr/bin", "/bin",
            "--proc", "/proc",
            "--dev", "/dev",
            "--size", str(tmpfs_mb * MIB), "--tmpfs", "/tmp",  # noqa: S108 - the sandbox's own private tmpfs
            "--ro-bind", code_dir, "/plugin",
            "--ro-bind", self.runtime_package, "/runtime/plugyard_runtime",
            "--chdir", "/tmp",  # noqa: S108 - inside the sandbox: its private tmpfs, not the host's /tmp
        ]  # fmt: skip
        if not self.python_prefix.startswith("/usr/") and self.python_prefix != "/usr":
            args += ["--ro-bind", self.python_prefix, self.python_prefix]
        site = self._site_packages()
        if site is not None:
            # The host's installed packages are not the plugin's: hide them behind an empty read-only dir.
            args += ["--size", "4096", "--tmpfs", site, "--remount-ro", site]
        # bwrap's root is a writable tmpfs without a size limit; only /tmp may be written.
        args += ["--remount-ro", "/"]
        for option, fd in extra_fds.items():
            args += [option, str(fd)]
        return [*args, self.python, "-I", "-S", "-B", "-c", _BOOTSTRAP]

    def probe(self) -> None:
        """Start a trivial sandbox once; SandboxUnavailableError with bwrap's own words if it fails."""
        argv = self.command(code_dir="/var/empty" if os.path.isdir("/var/empty") else "/usr", tmpfs_mb=1, extra_fds={})
        argv = [*argv[: argv.index(self.python) + 1], "-I", "-S", "-c", "pass"]
        try:
            # argv is bwrap and the interpreter at absolute paths we resolved; no shell, nothing from callers.
            done = subprocess.run(argv, capture_output=True, timeout=20, env={}, check=False)  # noqa: S603
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SandboxUnavailableError(f"bubblewrap could not start: {exc}") from None
        if done.returncode != 0:
            words = done.stderr.decode(errors="replace").strip() or f"exit status {done.returncode}"
            raise SandboxUnavailableError(
                f"bubblewrap failed to create the sandbox ({words}); user namespaces may be "
                "disabled or restricted on this machine"
            )

    def _site_packages(self) -> str | None:
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        site = os.path.join(self.python_prefix, "lib", version, "site-packages")
        if self.python_prefix.startswith("/usr"):
            return None  # Debian's /usr/lib/python3/dist-packages is system code; leave it
        return site if os.path.isdir(site) else None


def _check_user_namespaces() -> None:
    def read(path: str) -> str | None:
        try:
            return Path(path).read_text().strip()
        except OSError:
            return None

    if read("/proc/sys/user/max_user_namespaces") == "0":
        raise SandboxUnavailableError("user namespaces are disabled (sysctl user.max_user_namespaces=0)")
    if os.geteuid() != 0 and read("/proc/sys/kernel/unprivileged_userns_clone") == "0":
        raise SandboxUnavailableError(
            "unprivileged user namespaces are disabled (sysctl kernel.unprivileged_userns_clone=0)"
        )


def _runtime_package(runtime_path: str | None) -> str:
    """The host directory of the plugyard_runtime package (given the package dir or its parent)."""
    if runtime_path is None:
        import plugyard_runtime

        candidate = Path(plugyard_runtime.__file__).parent
    else:
        candidate = Path(runtime_path)
        if (candidate / "plugyard_runtime").is_dir():
            candidate = candidate / "plugyard_runtime"
    if not (candidate / "_worker.py").is_file():
        raise SandboxUnavailableError(f"plugyard_runtime not found at {candidate}")
    _precompile(candidate)
    return str(candidate.resolve())


def _precompile(package: Path) -> None:
    # The runtime is bound read-only; cached bytecode written here saves every cold start a compile.
    import compileall

    with contextlib.suppress(OSError):
        compileall.compile_dir(str(package), quiet=2, workers=1)
