"""The whole local stack in one command: moto server, resources, API, workers, seed. Ctrl-C stops it all.

The stack supervises its processes: the API, the live-events server and the workers are restarted when they
exit (a crash, an OOM kill, a ``kill -9``), after a short back-off if they keep failing. Nothing accepted is
lost across a restart: events wait in the outbox stream and the queues on moto (a message a killed worker
held comes back after its visibility timeout). Only the moto server holds state; if it exits, the stack stops.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from chalicelib.container import Services

__all__ = ["LocalStack", "free_port", "main"]

ROOT = Path(__file__).resolve().parents[2]
MOTO_MODULE = "chalicelib.local.motoserver"
# What makes coverage measure a Python subprocess (coverage's `patch = ["subprocess"]`, which `make test` uses).
_COVERAGE_VARS = ("COVERAGE_PROCESS_START", "COVERAGE_PROCESS_CONFIG")


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        # As the servers bind: a port left in TIME_WAIT by a stack that just stopped is free to them.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait_http(url: str, timeout_s: float, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode} before serving {url}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout_s} s")


@dataclass
class Child:
    """A process of the stack and what to do when it exits."""

    name: str
    cmd: list[str]
    quiet: bool
    restart: bool  # False: the stack cannot go on without it (moto holds every table and queue)
    proc: subprocess.Popen[bytes]
    started_at: float = field(default_factory=time.monotonic)
    restarts: int = 0


@dataclass
class LocalStack:
    """A moto server and the API as child processes, the stack's resources created on moto."""

    api_port: int
    moto_port: int
    stage: str = "dev"
    extra_env: dict[str, str] = field(default_factory=dict)
    children: list[Child] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    # Set by the supervisor when a process the stack cannot restart has exited.
    fatal: str | None = None
    log: Callable[[str], None] = field(default=lambda line: print(line, file=sys.stderr, flush=True))
    workers: bool = True  # start chalicelib.local.workers (the queue consumers) with the API
    worker_args: list[str] = field(default_factory=list)  # e.g. ["--visibility-s", "3"]
    # HMAC key of capability tokens, fresh per stack; tests mint tokens with it (e.g. expired ones).
    capability_key: str = field(default_factory=lambda: secrets.token_hex(32))
    # The local WebSocket API (chalicelib.local.live): clients on live_port, pushes on a loopback control port.
    live: bool = True
    live_port: int = field(default_factory=free_port)
    live_control_port: int = field(default_factory=free_port)
    live_secret: str = field(default_factory=lambda: secrets.token_hex(32))
    # Unpacked plugin code, private to this stack and removed when it stops (all state is the stack's own).
    code_dir: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="plugyard-code-"))
    _stopping: threading.Event = field(default_factory=threading.Event, repr=False)
    _supervisor: threading.Thread | None = field(default=None, repr=False)

    @property
    def moto_url(self) -> str:
        return f"http://127.0.0.1:{self.moto_port}"

    def client(self, service: str) -> Any:
        """A boto3 client of this stack's moto server (placeholder keys): raw reads and writes, as an operator."""
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.moto_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's placeholder, not a secret
        )

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def live_url(self) -> str:
        """Where clients connect for live events (``?ticket=`` from ``POST /api/live/tickets``, or a key header)."""
        return f"ws://127.0.0.1:{self.live_port}"

    @property
    def live_control_url(self) -> str:
        return f"http://127.0.0.1:{self.live_control_port}"

    def env(self) -> dict[str, str]:
        """The environment the API (and anything talking to this stack) runs with."""
        env = {
            **os.environ,
            "PLUGYARD_STAGE": self.stage,
            "PLUGYARD_CAPABILITY_KEY": self.capability_key,
            "PLUGYARD_BROKER_URL": self.api_url,
            "PLUGYARD_CODE_CACHE_DIR": self.code_dir,
            "PLUGYARD_AWS_ENDPOINT_URL": self.moto_url,
            # The local stack is where `plugyard dev` runs unpublished folders; PLUGYARD_DEV_INSTALLATIONS=false
            # tries it the way a deployed stage answers.
            "PLUGYARD_DEV_INSTALLATIONS": os.environ.get("PLUGYARD_DEV_INSTALLATIONS", "true"),
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "POWERTOOLS_SERVICE_NAME": "plugyard",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_NAMESPACE": "Plugyard",
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugin-runtime")]),
            **(
                {
                    "PLUGYARD_LIVE_EVENTS_URL": self.live_control_url,
                    "PLUGYARD_LIVE_SECRET": self.live_secret,
                    "PLUGYARD_LIVE_PUBLIC_URL": self.live_url + "/",
                }
                if self.live
                else {}
            ),
            **self.extra_env,
        }
        if self.outputs.get("ArtifactsBucketName"):
            env["PLUGYARD_ARTIFACTS_BUCKET"] = self.outputs["ArtifactsBucketName"]
        return env

    @property
    def procs(self) -> list[subprocess.Popen[bytes]]:
        """The processes running now, in start order."""
        return [c.proc for c in self.children]

    def child(self, name: str) -> Child:
        """The process named ``moto``, ``api``, ``live`` or ``workers``."""
        return next(c for c in self.children if c.name == name)

    def start(self, *, quiet_api: bool = False) -> None:
        """Start moto, create the resources, start the API and workers under supervision; raise if a step fails."""
        from chalicelib.local.provision import provision

        moto = self._spawn("moto", [sys.executable, "-m", MOTO_MODULE, "--port", str(self.moto_port)], restart=False)
        _wait_http(f"{self.moto_url}/moto-api/", 15, moto)
        # moto cannot run Lambda code without docker; its docker-less mode keeps the Lambda API usable.
        httpx.post(f"{self.moto_url}/moto-api/config", json={"lambda": {"use_docker": False}})
        # The console is served by the API: its origins may PUT uploads to the artifact bucket (CORS).
        origins = (self.api_url, f"http://localhost:{self.api_port}")
        self.outputs = provision(endpoint_url=self.moto_url, stage=self.stage, console_origins=origins)
        # The API, the live server and the workers start side by side (each spends seconds importing); the
        # workers only poll queues on moto, which exist by now.
        api = self._spawn(
            "api", [sys.executable, "-m", "chalicelib.local.gateway", "--port", str(self.api_port)], quiet=quiet_api
        )
        live = None
        if self.live:
            # The WebSocket API's stand-in: the same $connect/$default/$disconnect handlers as on AWS.
            live = self._spawn(
                "live",
                [
                    sys.executable,
                    "-m",
                    "chalicelib.local.live",
                    "--port",
                    str(self.live_port),
                    "--control-port",
                    str(self.live_control_port),
                ],
                quiet=quiet_api,
            )
        if self.workers:
            # The queue workers (dispatcher, invoker, deliverer), long-polling the queues on moto.
            self._spawn(
                "workers", [sys.executable, "-m", "chalicelib.local.workers", *self.worker_args], quiet=quiet_api
            )
        _wait_http(f"{self.api_url}/health/ready", 30, api)
        if live is not None:
            _wait_http(f"{self.live_control_url}/health", 30, live)
        self._stopping.clear()
        self._supervisor = threading.Thread(target=self._supervise, name="stack-supervisor", daemon=True)
        self._supervisor.start()

    def _spawn(self, name: str, cmd: list[str], quiet: bool = False, restart: bool = True) -> subprocess.Popen[bytes]:
        proc = self._popen(cmd, quiet)
        self.children.append(Child(name, cmd, quiet, restart, proc))
        return proc

    def child_env(self, cmd: list[str]) -> dict[str, str]:
        """The environment one of the stack's processes starts with."""
        env = self.env()
        if MOTO_MODULE in cmd:
            # No code coverage measures runs in the moto server (chalicelib/local/moto*.py are omitted), and
            # coverage's tracer makes moto answer about half as fast, which every test on the stack waits for.
            for var in _COVERAGE_VARS:
                env.pop(var, None)
        return env

    def _popen(self, cmd: list[str], quiet: bool) -> subprocess.Popen[bytes]:
        # Our own interpreter and modules (moto server, gateway, workers); no shell.
        return subprocess.Popen(  # noqa: S603
            cmd,
            cwd=ROOT,
            env=self.child_env(cmd),
            stdout=subprocess.DEVNULL if quiet else None,
            stderr=subprocess.DEVNULL if quiet else None,
            start_new_session=True,  # its own group: stopping it stops its children too
        )

    def _supervise(self) -> None:
        """Restart what exits; a process that keeps dying young is restarted after a growing pause."""
        while not self._stopping.wait(0.2):
            for c in list(self.children):
                code = c.proc.poll()
                if code is None:
                    continue
                if not c.restart:
                    self.fatal = f"{c.name} exited with {code}"
                    return
                young = time.monotonic() - c.started_at < 10
                pause = min(5.0, 0.5 * 2**c.restarts) if young else 0.0
                c.restarts = c.restarts + 1 if young else 0
                self.log(f"{c.name} exited with {code}; restarting" + (f" in {pause:.1f} s" if pause else ""))
                if pause and self._stopping.wait(pause):
                    return
                # Reap the rest of its group (a dead worker's sandboxes) before its replacement starts.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(c.proc.pid, signal.SIGKILL)
                c.proc = self._popen(c.cmd, c.quiet)
                c.started_at = time.monotonic()

    def stop(self) -> None:
        """Terminate every process this stack started (and their children)."""
        self._stopping.set()
        if self._supervisor is not None and self._supervisor is not threading.current_thread():
            self._supervisor.join(timeout=5)
        # The API, live server and workers first, gracefully (SIGTERM: a worker finishes its batch), while moto
        # still answers their last requests; then moto, killed: it holds only the in-memory state that stopping
        # discards, and a graceful moto shutdown takes seconds during which those requests would hang.
        _end([c.proc for c in self.children if c.name != "moto"], signal.SIGTERM)
        _end([c.proc for c in self.children if c.name == "moto"], signal.SIGKILL)
        self.procs.clear()
        _remove_tree(self.code_dir)
        self.children.clear()

    def operator_services(self) -> Services:
        """Services bound to this stack, for operator actions (seed, tests)."""
        from chalicelib.config import Settings
        from chalicelib.container import aws_adapters, build_services

        env = self.env()
        settings = Settings(
            stage=self.stage,
            aws_endpoint_url=self.moto_url,
            artifacts_bucket=env.get("PLUGYARD_ARTIFACTS_BUCKET"),
            capability_key=self.capability_key,
        )
        return build_services(settings, aws_adapters(settings))


def _end(procs: list[subprocess.Popen[bytes]], sig: signal.Signals) -> None:
    """Send ``sig`` to each process's group; whatever has not exited 5 s later is killed."""
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
    for proc in procs:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _remove_tree(path: str) -> None:
    """Remove a directory tree, including the read-only folders the code cache makes."""
    for root, dirs, _ in os.walk(path):
        for d in dirs:
            os.chmod(os.path.join(root, d), 0o700)
    shutil.rmtree(path, ignore_errors=True)


def main() -> None:
    """``make run``: start everything, seed the demo marketplace, print where to go."""
    from chalicelib.local.seed import seed_demo

    api_port = int(os.environ.get("PLUGYARD_PORT", "8000"))
    if not _port_free(api_port):
        sys.exit(f"Port {api_port} is in use; set PLUGYARD_PORT to another port.")
    moto_port = int(os.environ.get("PLUGYARD_MOTO_PORT", "0")) or (4566 if _port_free(4566) else free_port())
    if not _port_free(moto_port):
        # Otherwise the stack would provision against whatever already answers there (another stack's moto).
        sys.exit(f"Port {moto_port} is in use; set PLUGYARD_MOTO_PORT to another port.")
    live_port = int(os.environ.get("PLUGYARD_LIVE_PORT", "0")) or (8001 if _port_free(8001) else free_port())
    stack = LocalStack(api_port=api_port, moto_port=moto_port, live_port=live_port)
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        if not stopping:
            stopping = True
            print("\nStopping the Plugyard stack…", flush=True)
            stack.stop()
            sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        t0 = time.monotonic()
        stack.start()
        result = seed_demo(stack.operator_services().auth, stack.api_url, os.environ.get("PLUGYARD_DEV_API_KEY"))
    except Exception as exc:  # noqa: BLE001 — any failure: stop children, say why
        stack.stop()
        sys.exit(f"The local stack failed to start: {exc}")
    print(
        f"""
Plugyard is running (started in {time.monotonic() - t0:.1f} s). State is in memory: stopping loses it.

  Console        {stack.api_url}/console  (sign in with a key below)
  API            {stack.api_url}  (every route is under /api: export API={stack.api_url})
  OpenAPI        {stack.api_url}/api/openapi.json
  Health         {stack.api_url}/health/ready
  Live events    {stack.live_url}/?ticket=<POST /api/live/tickets>  (WebSocket; docs/events.md "Live events")
  Local AWS      {stack.moto_url}  (moto server)

  Workspace      {result.workspace_id}  (publisher plugyard-labs)
  Admin API key  {result.admin_key}
  Reviewer key   {result.reviewer_key}  (workspace platform: approves submitted versions)
  Demo plugins   {", ".join(result.plugins)}

Try:
  curl -s -H 'Authorization: Bearer {result.admin_key}' {stack.api_url}/api/plugins/list
  make workspace WORKSPACE=acme NAME=Acme PUBLISHER=acme ENDPOINT={stack.moto_url}   (another workspace and its key)

A crashed API, live server or worker is restarted; its queued work waits in moto meanwhile.
Ctrl-C stops every process this started.
""",
        flush=True,
    )
    while True:
        if stack.fatal:
            print(f"The {stack.fatal}, and the stack's state with it; stopping.", flush=True)
            stop()
        time.sleep(0.5)


if __name__ == "__main__":
    main()
