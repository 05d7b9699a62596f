"""`make smoke STAGE=… [API=…]`: the main flow over HTTP against a running Plugyard, step by step.

publish (upload, PUT, signed submit) → approve (reviewer) → webhook for the plugin's event → install
(granting ``events:emit``) → invoke (the plugin emits ``plugin.<id>.smoked``) → the event is dispatched →
a signed delivery reaches the webhook → clean up (uninstall, delete the webhook).

Only the public API is used, so the same script checks a deployed stack and the local one (the test in
tests/infra/test_smoke.py runs it against ``make run``'s stack, so it cannot rot). Inputs:

  API                          the API's base URL (default: the EndpointURL output of stack plugyard-<STAGE>)
  PLUGYARD_SMOKE_ADMIN_KEY     an admin key of a publisher workspace
  PLUGYARD_SMOKE_REVIEWER_KEY  a platform reviewer's key
  PLUGYARD_SMOKE_WEBHOOK_URL   a public HTTPS endpoint that answers 2xx (e.g. a request bin)

On AWS, approval deploys the plugin's function asynchronously: install and invoke are retried while the
API answers that the version is not ready yet (409/503), up to ``--timeout`` seconds.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import secrets
import sys
import time
import zipfile
from collections.abc import Callable
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = ["SmokeError", "plugin_zip", "run_smoke"]

HANDLER = """def main(event, ctx):
    ctx.events.emit("plugin.{plugin_id}.smoked", {{"run": event.get("run")}})
    return {{"ok": True, "run": event.get("run")}}
"""
NOT_READY = (409, 503)  # the version's function is still deploying (or the API is warming up)


class SmokeError(RuntimeError):
    """A step of the walk failed; the message names the step and what the API answered."""


def plugin_zip(plugin_id: str, publisher: str) -> bytes:
    """A minimal plugin whose ``main`` emits one event and answers ``ok``."""
    manifest = {
        "id": plugin_id,
        "name": f"Smoke {plugin_id}",
        "version": "1.0.0",
        "publisher": publisher,
        "description": "Deploy smoke test: emits one event per invocation.",
        "categories": ["developer-tools"],
        "entrypoints": {"main": "handler:main"},
        "permissions": ["events:emit"],
        "resources": {"memory_mb": 128, "timeout_s": 10},
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("plugyard.json", json.dumps(manifest))
        zf.writestr("handler.py", HANDLER.format(plugin_id=plugin_id))
    return buf.getvalue()


def _check(resp: httpx.Response, step: str, *ok: int) -> dict[str, Any]:
    if resp.status_code not in ok:
        raise SmokeError(f"{step}: HTTP {resp.status_code} {resp.text[:500]}")
    return dict(resp.json()) if resp.content else {}


def _until(step: str, timeout_s: float, attempt: Callable[[], httpx.Response], *ok: int) -> dict[str, Any]:
    """Retry `attempt` while the API answers not-ready, until `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        resp = attempt()
        if resp.status_code not in NOT_READY or time.monotonic() > deadline:
            return _check(resp, step, *ok)
        time.sleep(2)


def run_smoke(
    api: str,
    *,
    admin_key: str,
    reviewer_key: str,
    webhook_url: str,
    timeout_s: float = 300,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Walk the main flow; returns what was created and the delivery seen. Raises SmokeError on a failed step."""
    started = time.monotonic()

    def step(text: str) -> None:
        say(f"[{time.monotonic() - started:6.1f}s] {text}")

    auth = {"Authorization": f"Bearer {admin_key}"}
    with (
        httpx.Client(base_url=api.rstrip("/"), headers=auth, timeout=60) as admin,
        httpx.Client(base_url=api.rstrip("/"), headers={"Authorization": f"Bearer {reviewer_key}"}, timeout=60) as rev,
    ):
        _until("GET /health/ready", timeout_s, lambda: admin.get("/health/ready"), 200)
        me = _check(admin.get("/api/me"), "GET /api/me", 200)
        publisher = me.get("publisher_id")
        if not publisher:
            raise SmokeError("GET /api/me: the admin key's workspace is not a publisher")
        step(f"workspace {me['workspace_id']}, publisher {publisher}: ready")

        signing = Ed25519PrivateKey.generate()
        public = signing.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        _check(
            admin.post("/api/publisher/keys", json={"public_key": base64.b64encode(public).decode()}),
            "register signing key",
            201,
        )
        plugin_id = f"smoke-{secrets.token_hex(4)}"
        data = plugin_zip(plugin_id, publisher)
        ticket = _check(admin.post("/api/plugins/uploads"), "POST /api/plugins/uploads", 201, 200)
        put = httpx.put(ticket["url"], content=data, headers=ticket.get("headers") or {}, timeout=60)
        if put.status_code >= 300:
            raise SmokeError(f"PUT upload: HTTP {put.status_code} {put.text[:300]}")
        signature = base64.b64encode(signing.sign(hashlib.sha256(data).hexdigest().encode("ascii"))).decode()
        submit = {"upload_id": ticket["upload_id"], "signature": signature}
        _check(admin.post("/api/plugins/versions", json=submit), "submit version", 201)
        step(f"published {plugin_id}@1.0.0 (pending review)")
        _check(rev.post(f"/api/review/{plugin_id}/1.0.0/approve", json={"reason": "smoke"}), "approve", 200)
        step("approved")

        event_type = f"plugin.{plugin_id}.smoked"
        hook = _check(
            admin.post("/api/webhooks/register", json={"url": webhook_url, "event_types": [event_type]}),
            "register webhook",
            201,
        )
        step(f"webhook {hook['webhook_id']} for {event_type}")
        installation_id = None
        try:
            install = {"plugin_id": plugin_id, "version": "1.0.0", "grant": ["events:emit"]}
            inst = _until("install", timeout_s, lambda: admin.post("/api/plugins/install", json=install), 201)
            installation_id = inst["installation_id"]
            step(f"installed: {installation_id}")
            run = secrets.token_hex(6)
            invoke_path = f"/api/installations/{installation_id}/invoke"
            result = _until("invoke", timeout_s, lambda: admin.post(invoke_path, json={"payload": {"run": run}}), 200)
            if result.get("status") != "succeeded" or (result.get("result") or {}).get("run") != run:
                raise SmokeError(f"invoke: the plugin did not succeed: {json.dumps(result)[:500]}")
            step(f"invoked: {result['status']} in {result['duration_ms']:.0f} ms")
            delivery = _delivered(admin, hook["webhook_id"], timeout_s)
            step(f"delivered: {delivery['delivery_id']} after {delivery.get('attempt_count')} attempt(s)")
            return {
                "plugin_id": plugin_id,
                "installation_id": installation_id,
                "delivery": delivery,
                "run": run,
                "webhook_secret": hook.get("secret"),
            }
        finally:
            if installation_id:
                admin.delete(f"/api/installations/{installation_id}")
            admin.delete(f"/api/webhooks/{hook['webhook_id']}")
            step("cleaned up (uninstalled, webhook deleted)")


def _delivered(admin: httpx.Client, webhook_id: str, timeout_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    last: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        page = _check(admin.get(f"/api/webhooks/{webhook_id}/deliveries"), "list deliveries", 200)
        last = list(page.get("items", []))
        done = [d for d in last if d.get("status") == "delivered"]
        if done:
            return done[0]
        time.sleep(1)
    raise SmokeError(f"no delivery reached the webhook within {timeout_s:.0f} s; deliveries: {json.dumps(last)[:500]}")


def _stack_endpoint(stage: str) -> str:
    import boto3

    outputs = boto3.client("cloudformation").describe_stacks(StackName=f"plugyard-{stage}")["Stacks"][0]["Outputs"]
    for o in outputs:
        if o["OutputKey"] == "EndpointURL":
            return str(o["OutputValue"])
    raise SmokeError(f"stack plugyard-{stage} has no EndpointURL output: pass API=<base URL>")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.smoke", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", default=os.environ.get("STAGE", "dev"))
    parser.add_argument("--api", default=os.environ.get("API", ""))
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    missing = [
        v
        for v in ("PLUGYARD_SMOKE_ADMIN_KEY", "PLUGYARD_SMOKE_REVIEWER_KEY", "PLUGYARD_SMOKE_WEBHOOK_URL")
        if not os.environ.get(v)
    ]
    if missing:
        print(f"smoke: set {', '.join(missing)} (see python -m infra.smoke --help)", file=sys.stderr)
        return 2
    try:
        api = args.api or _stack_endpoint(args.stage)
        run_smoke(
            api,
            admin_key=os.environ["PLUGYARD_SMOKE_ADMIN_KEY"],
            reviewer_key=os.environ["PLUGYARD_SMOKE_REVIEWER_KEY"],
            webhook_url=os.environ["PLUGYARD_SMOKE_WEBHOOK_URL"],
            timeout_s=args.timeout,
        )
    except (SmokeError, httpx.HTTPError) as exc:
        print(f"smoke FAILED: {exc}", file=sys.stderr)
        return 1
    print("smoke OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
