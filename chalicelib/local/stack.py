"""The whole local stack in one command: moto server, resources, API, seed. Ctrl-C stops it all."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from chalicelib.container import Services

__all__ = ["LocalStack", "free_port", "main"]

ROOT = Path(__file__).resolve().parents[2]


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
class LocalStack:
    """A moto server and the API as child processes, the stack's resources created on moto."""

    api_port: int
    moto_port: int
    stage: str = "dev"
    extra_env: dict[str, str] = field(default_factory=dict)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    workers: bool = True  # start chalicelib.local.workers (the queue consumers) with the API
    # HMAC key of capability tokens, fresh per stack; tests mint tokens with it (e.g. expired ones).
    capability_key: str = field(default_factory=lambda: secrets.token_hex(32))
    # The local WebSocket API (chalicelib.local.live): clients on live_port, pushes on a loopback control port.
    live: bool = True
    live_port: int = field(default_factory=free_port)
    live_control_port: int = field(default_factory=free_port)
    live_secret: str = field(default_factory=lambda: secrets.token_hex(32))
    # Unpacked plugin code, private to this stack and removed when it stops (all state is the stack's own).
    code_dir: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="plugyard-code-"))

    @property
    def moto_url(self) -> str:
        return f"http://127.0.0.1:{self.moto_port}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def live_url(self) -> str:
        """Where clients connect for live events (``?token=<api key>``)."""
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
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "POWERTOOLS_SERVICE_NAME": "plugyard",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_NAMESPACE": "Plugyard",
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugin-runtime")]),
            **(
                {"PLUGYARD_LIVE_EVENTS_URL": self.live_control_url, "PLUGYARD_LIVE_SECRET": self.live_secret}
                if self.live
                else {}
            ),
            **self.extra_env,
        }
        if self.outputs.get("ArtifactsBucketName"):
            env["PLUGYARD_ARTIFACTS_BUCKET"] = self.outputs["ArtifactsBucketName"]
        return env

    def start(self, *, quiet_api: bool = False) -> None:
        """Start moto, create the resources, start the API; raise if any step fails."""
        from chalicelib.local.provision import provision

        moto = self._spawn([sys.executable, "-m", "chalicelib.local.motoserver", "--port", str(self.moto_port)])
        _wait_http(f"{self.moto_url}/moto-api/", 15, moto)
        # moto cannot run Lambda code without docker; its docker-less mode keeps the Lambda API usable.
        httpx.post(f"{self.moto_url}/moto-api/config", json={"lambda": {"use_docker": False}})
        self.outputs = provision(endpoint_url=self.moto_url, stage=self.stage)
        api = self._spawn(
            [sys.executable, "-m", "chalicelib.local.gateway", "--port", str(self.api_port)], quiet=quiet_api
        )
        _wait_http(f"{self.api_url}/health/ready", 30, api)
        if self.live:
            # The WebSocket API's stand-in: the same $connect/$default/$disconnect handlers as on AWS.
            live = self._spawn(
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
            _wait_http(f"{self.live_control_url}/health", 30, live)
        if self.workers:
            # The queue workers (dispatcher, invoker, deliverer), long-polling the queues on moto.
            self._spawn([sys.executable, "-m", "chalicelib.local.workers"], quiet=quiet_api)

    def _spawn(self, cmd: list[str], quiet: bool = False) -> subprocess.Popen[bytes]:
        # Our own interpreter and modules (moto server, gateway, workers); no shell.
        proc = subprocess.Popen(  # noqa: S603
            cmd,
            cwd=ROOT,
            env=self.env(),
            stdout=subprocess.DEVNULL if quiet else None,
            stderr=subprocess.DEVNULL if quiet else None,
            start_new_session=True,  # its own group: stopping it stops its children too
        )
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        """Terminate every process this stack started (and their children)."""
        for proc in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for proc in self.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs.clear()
        _remove_tree(self.code_dir)

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

  API            {stack.api_url}  (every route is under /api: export API={stack.api_url})
  OpenAPI        {stack.api_url}/api/openapi.json
  Health         {stack.api_url}/health/ready
  Live events    {stack.live_url}/?token=<api key>  (WebSocket; docs/events.md "Live events")
  Local AWS      {stack.moto_url}  (moto server)

  Workspace      {result.workspace_id}  (publisher plugyard-labs)
  Admin API key  {result.admin_key}
  Reviewer key   {result.reviewer_key}  (workspace platform: approves submitted versions)
  Demo plugins   {", ".join(result.plugins)}

Try:
  curl -s -H 'Authorization: Bearer {result.admin_key}' {stack.api_url}/api/plugins/list

Ctrl-C stops every process this started.
""",
        flush=True,
    )
    while True:
        for proc in stack.procs:
            if proc.poll() is not None:
                print(f"{proc.args!r} exited with {proc.returncode}; stopping.", flush=True)
                stop()
        time.sleep(0.5)


if __name__ == "__main__":
    main()
