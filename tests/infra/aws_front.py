"""A loopback stand-in for AWS's endpoints in front of the moto server, adding what moto cannot do here:
run a Lambda function's code.

Every request is forwarded to moto unchanged (method, path, query, body, and every header, the Host header
included), so moto verifies the caller's SigV4 signature and evaluates its IAM policy exactly as if it had
been called directly, and answers. Two Lambda calls get more, once moto has accepted them:
  * ``CreateFunction``: the front keeps the function's zip (moto keeps the code but cannot hand it back:
    GetFunction's ``Code.Location`` is a URL of AWS's own);
  * ``Invoke``: moto's answer (its docker-less Lambda echoes the payload) proves the caller may invoke the
    function and that it exists; the front then runs the function as Lambda would (tests/infra/lambda_runner.py)
    with the configuration moto holds (GetFunction: Handler, MemorySize, Timeout, Environment, Role, and
    CodeSha256, checked against the zip kept) and answers with the run's result in Invoke's shape.
Only ``RequestResponse`` invocations are run; the platform makes no other kind.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import io
import json
import re
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from . import lambda_runner
from .function_stack import client
from .support import REGION

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "content-length"}
CREATE = re.compile(r"^/2015-03-31/functions/?$")
INVOKE = re.compile(r"^/2015-03-31/functions/([^/]+)/invocations$")


@dataclass
class Ran:
    """One invocation the front ran."""

    function: str
    event: Any
    answer: Any
    function_error: str | None
    peak_mb: int
    log: str


@dataclass
class AwsFront:
    """The front's state: moto's address, the code of the functions created through it, what it ran."""

    moto: str
    operator: dict[str, str]
    work: Path
    runtime: Path  # Lambda's /var/runtime (awslambdaric)
    url: str = ""
    code: dict[str, bytes] = field(default_factory=dict)
    ran: list[Ran] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def forward(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes) -> tuple[int, Any, bytes]:
        moto = urlsplit(self.moto)
        conn = http.client.HTTPConnection(moto.hostname or "127.0.0.1", moto.port, timeout=120)
        try:
            conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                if name.lower() not in HOP_BY_HOP:
                    conn.putheader(name, value)
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            resp = conn.getresponse()
            return resp.status, resp.getheaders(), resp.read()
        finally:
            conn.close()

    def created(self, body: bytes) -> None:
        spec = json.loads(body)
        if "ZipFile" in spec.get("Code", {}):
            with self.lock:
                self.code[spec["FunctionName"].rsplit(":", 1)[-1]] = base64.b64decode(spec["Code"]["ZipFile"])

    def invoke(self, name: str, event: Any) -> lambda_runner.Invocation:
        """Run the function moto holds under ``name`` on ``event``."""
        name = unquote(name).rsplit(":function:", 1)[-1].split(":", 1)[0]
        config = client(self.moto, "lambda", self.operator).get_function(FunctionName=name)["Configuration"]
        with self.lock:
            code = self.code.get(name)
        if code is None:
            raise LookupError(f"{name} was not created through this front: its code is unknown")
        sha = base64.b64encode(hashlib.sha256(code).digest()).decode()
        assert sha == config["CodeSha256"], f"{name}: the code kept is not the code moto holds"
        task = self.work / "functions" / hashlib.sha256(code).hexdigest()[:16]
        if not task.exists():
            with zipfile.ZipFile(io.BytesIO(code)) as z:
                z.extractall(task)
        self._trust_the_operator(config["Role"])
        creds = client(self.moto, "sts", self.operator).assume_role(RoleArn=config["Role"], RoleSessionName=name[-60:])[
            "Credentials"
        ]
        env_creds = {
            "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
            "AWS_SESSION_TOKEN": creds["SessionToken"],
        }
        done = lambda_runner.run(
            task=task, runtime=self.runtime, config=config, event=event, credentials=env_creds, region=REGION
        )
        with self.lock:
            self.ran.append(Ran(name, event, json.loads(done.payload), done.function_error, done.peak_mb, done.log))
        return done

    def _trust_the_operator(self, role_arn: str) -> None:
        """Let the operator (playing the Lambda service) assume the function's role, beside the service.

        moto checks the role's trust policy on AssumeRole, and fails with a 500 (TypeError in
        ``_check_principal``) when its Principal names only a Service.
        """
        name = role_arn.rsplit("/", 1)[1]
        iam = client(self.moto, "iam", self.operator)
        doc = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
        doc = json.loads(unquote(doc)) if isinstance(doc, str) else doc
        operator = iam.get_user()["User"]["Arn"]
        for statement in doc["Statement"]:
            statement["Principal"] = {**statement.get("Principal", {}), "AWS": operator}
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(doc))

    def runs_of(self, prefix: str) -> list[Ran]:
        with self.lock:
            return [r for r in self.ran if r.function.startswith(prefix)]


class _Handler(BaseHTTPRequestHandler):
    front: AwsFront
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _answer(self, status: int, headers: Any, body: bytes) -> None:
        self.send_response(status)
        length = str(len(body))
        for name, value in headers:
            if name.lower() == "content-length" and self.command == "HEAD":
                length = value  # the length of what a GET would answer
            elif name.lower() not in HOP_BY_HOP and name.lower() not in ("server", "date"):
                self.send_header(name, value)
        self.send_header("Content-Length", length)
        self.end_headers()
        self.wfile.write(body)

    def _any(self) -> None:
        body = self._body()
        path = urlsplit(self.path).path
        status, headers, answer = self.front.forward(self.command, self.path, list(self.headers.items()), body)
        if self.command == "POST" and status < 300 and CREATE.match(path):
            self.front.created(body)
        invoke = INVOKE.match(path)
        if self.command == "POST" and status < 300 and invoke:
            kind = self.headers.get("X-Amz-Invocation-Type", "RequestResponse")
            assert kind == "RequestResponse", f"the platform makes no {kind} invocation"
            event = json.loads(body) if body else {}
            try:
                done = self.front.invoke(invoke.group(1), event)
            except LookupError as exc:
                self._answer(404, [("Content-Type", "application/json")], json.dumps(
                    {"Type": "User", "Message": str(exc)}).encode())  # fmt: skip
                return
            headers = [("Content-Type", "application/json"), *done.headers.items()]
            if self.headers.get("X-Amz-Log-Type") != "Tail":
                headers = [h for h in headers if h[0] != "X-Amz-Log-Result"]
            self._answer(200, headers, done.payload)
            return
        self._answer(status, headers, answer)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _any


@contextmanager
def serve(moto: str, operator: dict[str, str], work: Path, runtime: Path) -> Iterator[AwsFront]:
    """The front on a free loopback port for the duration of the block."""
    front = AwsFront(moto, operator, work, runtime)
    handler = type("Handler", (_Handler,), {"front": front})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    front.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield front
    finally:
        server.shutdown()
        server.server_close()
