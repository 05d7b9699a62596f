"""The whole flow through the packaged code: what `make deploy` ships works as a product, end to end.

The session's contract stack (tests/infra/contract_stack.py: the packaged template created on a moto server
that enforces IAM, every function's handler in a warm host under its own role with its template Environment)
is walked once (tests/infra/product_walk.py); this test judges the plugin's part of that walk:
publish -> approve -> the deployer creates the version's function (on moto) -> install -> invoke, where the
plugin's own function code (the zip the deployer built: the plugin's files and ``plugyard_runtime``) runs
through the runtime's Lambda bootstrap (``Handler: plugyard_runtime.lambda_handler``) in a clean
``python -I -S`` with its MemorySize as a memory limit and its Timeout (tests/infra/aws_front.py and
lambda_runner.py: moto cannot execute Lambda code here) -> broker calls over HTTP to the API function (through
the harness's stand-in for API Gateway, tests/infra/api_front.py) -> a plugin event -> the bus rule (played
by the harness) -> dispatcher -> deliverer -> a signed webhook on a loopback receiver, verified with the
``standardwebhooks`` library. A plugin allocating beyond its MemorySize fails as a recorded invocation.
"""

from __future__ import annotations

import json

from standardwebhooks import Webhook

from .product_walk import Contract, Walked


def _runs(contract: Contract, walked: Walked, entrypoint: str) -> list[dict]:
    return [
        {"answer": r.answer, "error": r.function_error, "peak": r.peak_mb, "log": r.log}
        for r in contract.front.ran
        if r.event.get("plugin_id") == walked.plugin_id and r.event.get("entrypoint") == f"handler:{entrypoint}"
    ]


def test_the_plugin_runs_as_its_own_lambda_and_calls_the_broker_over_http(contract: Contract, walked: Walked) -> None:
    (run,) = _runs(contract, walked, "main")
    # The plugin's handler ran from its function's code and made two broker calls over HTTP (put, get).
    assert run["error"] is None, run
    assert run["answer"]["status"] == "succeeded", run
    assert run["answer"]["result"] == {"ok": True, "seen": "yes", "event": {"n": 1}}, run
    assert "Max Memory Used" in run["log"] and run["peak"] <= 128, run
    answered = walked.invoked["main"]
    assert answered["status"] == "succeeded" and answered["result"]["seen"] == "yes", answered
    assert contract.api_front.failures == []
    served = [c for c in contract.hosts["APIHandler#front"].calls if c["action"] == "dynamodb:PutItem"]
    assert served, "the broker (the API function behind the API front) stored nothing for the plugin"


def test_a_plugin_event_reaches_a_webhook_signed(contract: Contract, walked: Walked) -> None:
    # task.completed -> dispatcher -> invoker -> the plugin (at least once: a redelivered event runs it again)
    runs = _runs(contract, walked, "on_completed")
    assert runs and all(r["error"] is None and r["answer"]["status"] == "succeeded" for r in runs), runs
    wanted = f"plugin.{walked.plugin_id}.stored"
    hook = Webhook(walked.webhook_secret)
    received = []
    for request in walked.receiver.requests_to("/hook"):
        headers = {k.lower(): v for k, v in request.headers.items()}
        payload = hook.verify(request.body, headers)  # raises unless signed with the endpoint's secret
        received.append(payload if isinstance(payload, dict) else json.loads(request.body))
    plugin_events = [p for p in received if p["type"] == wanted]
    assert len(plugin_events) >= 1, [p["type"] for p in received]
    event = plugin_events[0]
    assert event["source"] == f"plugyard.plugin.{walked.plugin_id}", event
    assert event["workspace_id"] == walked.workspace_id, event
    assert event["data"] == {"after": "task.completed"}, event


def test_a_plugin_over_its_memory_fails_as_a_recorded_invocation(contract: Contract, walked: Walked) -> None:
    (run,) = _runs(contract, walked, "hog")
    assert run["answer"]["status"] == "memory_exceeded" or run["error"] == "Unhandled", run
    answered = walked.invoked["hog"]
    assert answered["status"] == "memory_exceeded", answered
    recorded = [i for i in walked.invocations if i["invocation_id"] == answered["invocation_id"]]
    assert recorded and recorded[0]["status"] == "memory_exceeded", walked.invocations
