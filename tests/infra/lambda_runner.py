"""Run one Lambda invocation of a deployed function's code as the Python runtime would, in a clean process.

moto cannot execute Lambda code here (no docker), so the harness does what the Lambda service does with
the function moto holds: a fresh ``python -I -S`` (no site-packages, no PYTHON* variables, no current
directory) whose path is only the function's unzipped code (Lambda's /var/task) and a runtime folder with
``awslambdaric`` (AWS's runtime interface client, Lambda's /var/runtime), which resolves the function's
``Handler`` exactly as the runtime does. The function's limits apply: its ``MemorySize`` as the process's
address-space limit (RLIMIT_AS, set by ``prlimit``), its ``Timeout`` as a wall-clock deadline after which
the process is killed.
The environment is the function's ``Environment`` plus what Lambda sets (name, memory, region, handler, task
root, the function role's credentials) and nothing of the harness's.

The answer has the shape of Lambda's ``Invoke`` response: the handler's JSON result, or an error document
with ``X-Amz-Function-Error: Unhandled`` (an exception, a timeout, a process killed or out of memory), and
``X-Amz-Log-Result`` with the tail of the function's log (START/END/REPORT lines as Lambda writes them,
``Max Memory Used`` read from the process's own peak RSS).
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Lambda's /var/runtime: the runtime interface client and what it imports.
RUNTIME_MODULES = ("awslambdaric", "simplejson", "snapshot_restore_py")
LOG_TAIL_BYTES = 4096  # LogType=Tail returns the last 4 KB of the invocation's log

CHILD = r"""
import json, os, sys, traceback
spec = json.loads(sys.stdin.readline())
sys.path[:0] = [spec["task"], spec["runtime"]]
answer = os.fdopen(spec["fd"], "w")
from awslambdaric.bootstrap import _get_handler
from awslambdaric.lambda_context import LambdaContext
try:
    handler = _get_handler(spec["handler"])
    context = LambdaContext(spec["request_id"], None, None, spec["deadline_ms"], spec["arn"])
    out = {"payload": handler(spec["event"], context)}
except MemoryError:
    raise  # as on Lambda: the runtime dies, the service reports it
except BaseException as exc:
    out = {"error": {"errorMessage": str(exc), "errorType": type(exc).__name__,
                     "stackTrace": traceback.format_tb(exc.__traceback__)}}
sys.stdout.flush()
# VmHWM: this program's peak RSS (getrusage's ru_maxrss would count the harness's image before exec)
out["peak_kb"] = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
answer.write(json.dumps(out))
answer.close()
"""


def build_runtime_dir(dest: Path) -> Path:
    """Lambda's /var/runtime for the clean interpreter: awslambdaric and its two dependencies."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in RUNTIME_MODULES:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin is not None, f"{name} (requirements-dev.txt) is not installed"
        origin = Path(spec.origin)
        if origin.name == "__init__.py":
            shutil.copytree(origin.parent, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(origin, dest / origin.name)
    return dest


@dataclass
class Invocation:
    """What Lambda's Invoke answers, and what the harness saw."""

    payload: bytes
    function_error: str | None
    log: str
    peak_mb: int
    duration_ms: float
    headers: dict[str, str] = field(default_factory=dict)


def run(
    *,
    task: Path,
    runtime: Path,
    config: dict[str, Any],
    event: Any,
    credentials: dict[str, str],
    region: str,
) -> Invocation:
    """Run ``config``'s Handler (GetFunction's Configuration) from ``task`` on ``event``."""
    name, memory, timeout = config["FunctionName"], int(config["MemorySize"]), int(config["Timeout"])
    request_id = str(uuid.uuid4())
    env = {
        **config.get("Environment", {}).get("Variables", {}),
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
        "LAMBDA_TASK_ROOT": str(task),
        "LAMBDA_RUNTIME_DIR": str(runtime),
        "_HANDLER": config["Handler"],
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        **credentials,
    }
    read_fd, write_fd = os.pipe()
    spec = {
        "task": str(task),
        "runtime": str(runtime),
        "handler": config["Handler"],
        "event": event,
        "fd": write_fd,
        "request_id": request_id,
        "deadline_ms": int((time.time() + timeout) * 1000),
        "arn": config["FunctionArn"],
    }

    with tempfile.TemporaryFile() as log_file:
        started = time.perf_counter()
        proc = subprocess.Popen(
            # prlimit sets the address-space limit before the interpreter starts (no preexec_fn in this
            # threaded process)
            ["prlimit", f"--as={memory * 1024 * 1024}", sys.executable, "-I", "-S", "-c", CHILD],
            stdin=subprocess.PIPE,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=task,
            pass_fds=(write_fd,),
        )
        os.close(write_fd)
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(spec).encode() + b"\n")
        proc.stdin.close()
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            proc.kill()
            proc.wait()
        duration = (time.perf_counter() - started) * 1000
        with os.fdopen(read_fd, "rb") as answer:
            raw = answer.read()
        log_file.seek(0)
        output = log_file.read().decode(errors="replace")
    result = json.loads(raw) if raw else {}
    peak_mb = int(result.get("peak_kb", memory * 1024) / 1024) if result else memory
    error: dict[str, Any] | None = None
    if timed_out:
        error = {"errorMessage": f"{request_id} Task timed out after {timeout:.2f} seconds"}
    elif "error" in result:
        error = result["error"]
    elif not result:  # the process died before answering: killed, or out of memory
        signal = -proc.returncode if proc.returncode < 0 else None
        why = f"signal: {'killed' if signal == 9 else signal}" if signal else f"exit status {proc.returncode}"
        if "MemoryError" in output:
            why = "signal: killed"  # Lambda's word for a runtime over its memory, whatever killed it
            peak_mb = memory
        message = f"RequestId: {request_id} Error: Runtime exited with error: {why}"
        error = {"errorType": "Runtime.ExitError", "errorMessage": message}
    log = (
        f"START RequestId: {request_id} Version: $LATEST\n{output}END RequestId: {request_id}\n"
        f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\tBilled Duration: {int(duration) + 1} ms\t"
        f"Memory Size: {memory} MB\tMax Memory Used: {peak_mb} MB\t\n"
    )
    payload = json.dumps(error if error is not None else result.get("payload")).encode()
    headers = {
        "X-Amz-Executed-Version": "$LATEST",
        "X-Amz-Log-Result": base64.b64encode(log.encode()[-LOG_TAIL_BYTES:]).decode(),
    }
    if error is not None:
        headers["X-Amz-Function-Error"] = "Unhandled"
    return Invocation(payload, "Unhandled" if error else None, log, peak_mb, duration, headers)
