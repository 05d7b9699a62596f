"""Local plugin execution in bubblewrap sandboxes (the `executor` port's local adapter).

Never falls back to running a plugin unsandboxed: if bwrap or user namespaces are missing, every
invocation answers status `sandbox_unavailable` and `SandboxExecutor.check()` raises
`SandboxUnavailableError` naming the cause.
"""

from __future__ import annotations

from ._environment import SandboxEnvironment, SandboxUnavailableError
from ._executor import SandboxExecutor, WorkerWanted
from ._worker import WorkerSpec

__all__ = ["SandboxEnvironment", "SandboxExecutor", "SandboxUnavailableError", "WorkerSpec", "WorkerWanted"]
