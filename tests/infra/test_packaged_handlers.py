"""Every function of the packaged template loads and answers as Lambda runs it, from the package alone.

`make package`'s code path (infra/deploy.py package, once per session) builds out/deployment.zip; it is
unzipped into a task folder, and for EVERY `AWS::Serverless::Function` of the packaged template a clean
interpreter (`python -I -S`: no site-packages, no PYTHON* variables, no current directory) is given only:
  * the task folder (Lambda's /var/task), and
  * a runtime folder holding `awslambdaric` (the runtime interface client of AWS's Python images, Lambda's
    /var/runtime) and its two dependencies; boto3/botocore come from the package itself,
plus the function's own `Environment` from the template, intrinsic references resolved to the values of
the stack provisioned on a moto server. There it resolves the `Handler` with awslambdaric's own
`_get_handler`, imports every module the package deploys (lazy imports included), and invokes the handler
once with a harmless event of its kind against the moto stack, so the composition root is built too
(the API: GET /health/ready; a queue worker: one unreadable message; a WebSocket handler: a connect
without a key and a disconnect). A function of another kind (added later) is loaded and imported only.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .support import REGION, STAGE, Stack

# Never loaded on Lambda: the local stack (waitress, websockets, moto), the operators' CLI and the publishers'
# `plugyard` CLI (typer, rich, pathspec, watchfiles: clients of the API, installed from requirements-dev.txt).
LOCAL_ONLY = ("chalicelib.local", "chalicelib.cli", "chalicelib.publisher_cli")

PROBE = r"""
import importlib, json, pkgutil, sys
spec = json.loads(sys.stdin.read())
sys.path[:0] = [spec["task"], spec["runtime"]]
from awslambdaric.bootstrap import _get_handler
from awslambdaric.lambda_context import LambdaContext
handler = _get_handler(spec["handler"])
assert callable(handler), spec["handler"] + " is not callable"
if spec["import_all"]:
    import chalicelib
    for info in pkgutil.walk_packages(chalicelib.__path__, "chalicelib."):
        if not info.name.startswith(tuple(spec["local_only"])):
            importlib.import_module(info.name)
outside = sorted(
    name for name, m in sys.modules.items()
    if getattr(m, "__file__", None) and not m.__file__.startswith((spec["task"], spec["runtime"], sys.base_prefix))
)
context = LambdaContext("probe-request", None, None, 2**62, spec["arn"])
result = handler(spec["event"], context) if spec["event"] is not None else None
print(json.dumps({"result": result, "outside": outside}))
"""


def _events(template: dict[str, Any]) -> dict[str, str]:
    """The event source type of each function (SQS, DynamoDB, ...), '' for none."""
    return {
        lid: next(iter(r["Properties"].get("Events", {}).values()), {}).get("Type", "")
        for lid, r in template["Resources"].items()
        if r["Type"] == "AWS::Serverless::Function"
    }


def _resolver(template: dict[str, Any], stack: Stack) -> Any:
    """Intrinsic references -> the moto stack's values (its outputs), else a plausible stand-in."""
    out = stack.outputs
    params = {"Stage": STAGE, "AWS::Region": REGION, "AWS::AccountId": "123456789012", "AWS::Partition": "aws"}
    params |= {k: str(v.get("Default", "")) for k, v in template.get("Parameters", {}).items() if k not in params}

    resources = template["Resources"]

    def ref(name: str) -> str:
        if name in params:
            return params[name]
        if resources.get(name, {}).get("Type") == "AWS::SecretsManager::Secret":
            return _secret(name)
        return out.get(f"{name}Name") or out.get(name) or f"plugyard-{STAGE}-{name.lower()}"

    made: dict[str, str] = {}

    def _secret(name: str) -> str:
        """The stack's generated secrets, created on moto as CloudFormation would (moto's CFN cannot)."""
        if name not in made:
            props = resources[name]["Properties"]
            length = int(props.get("GenerateSecretString", {}).get("PasswordLength", 32))
            sm = stack.client("secretsmanager")
            made[name] = sm.create_secret(Name=resolve(props["Name"]), SecretString=secrets.token_urlsafe(length))[
                "ARN"
            ]
        return made[name]

    def get_att(name: str, attr: str) -> str:
        return out.get(f"{name}{attr}") or f"arn:aws:stand-in:{REGION}:123456789012:{name}/{attr}"

    def resolve(value: Any) -> str:
        if isinstance(value, str):
            return value
        (fn, arg), *rest = value.items()
        assert not rest, value
        if fn == "Ref":
            return ref(arg)
        if fn == "Fn::GetAtt":
            return get_att(*arg)
        if fn == "Fn::Sub":
            text, names = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

            def sub(m: re.Match[str]) -> str:
                key = m.group(1)
                if key in names:
                    return resolve(names[key])
                return get_att(*key.split(".", 1)) if "." in key else ref(key)

            return re.sub(r"\$\{([^}!]+)\}", sub, text)
        if fn == "Fn::If":  # conditions are false in this stand-in stack unless proven otherwise
            return resolve(arg[2])
        raise AssertionError(f"intrinsic {fn} in a function's Environment: teach this test to resolve it")

    return resolve


def _event(lid: str, handler: str, kind: str) -> Any:
    if handler == "app.app":
        return {
            "resource": "/health/ready",
            "path": "/health/ready",
            "httpMethod": "GET",
            "headers": {"Host": "probe"},
            "multiValueHeaders": {"Host": ["probe"]},
            "queryStringParameters": None,
            "multiValueQueryStringParameters": None,
            "pathParameters": None,
            "stageVariables": None,
            "requestContext": {"resourcePath": "/health/ready", "httpMethod": "GET", "stage": "api",
                               "requestId": "probe", "identity": {"sourceIp": "127.0.0.1"}},
            "body": None,
            "isBase64Encoded": False,
        }  # fmt: skip
    if kind == "SQS":  # a message no retry can fix: each worker dead-letters it or leaves it to the redrive
        return {"Records": [{
            "messageId": "probe-message", "receiptHandle": "probe", "body": "not a message of this queue",
            "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0", "SenderId": "probe",
                           "ApproximateFirstReceiveTimestamp": "0"},
            "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs", "awsRegion": REGION,
            "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:{lid}",
        }]}  # fmt: skip
    if handler.startswith("app.live_"):
        ctx = {"connectionId": "probe-connection", "requestId": "probe", "domainName": "probe", "stage": "api",
               "apiId": "probe", "eventType": "DISCONNECT", "routeKey": "$disconnect"}  # fmt: skip
        if handler == "app.live_disconnect":
            return {"requestContext": ctx, "body": None, "isBase64Encoded": False}
        if handler == "app.live_connect":  # no key: refused with a problem, after building the services
            return {"requestContext": ctx | {"eventType": "CONNECT", "routeKey": "$connect"}, "headers": {}}
        return None  # $default needs a connection record: loading is what is checked here
    return None


def _expected(handler: str, kind: str, result: Any) -> None:
    if handler == "app.app":
        assert result["statusCode"] == 200, result
        assert json.loads(result["body"])["status"] == "ready", result
    elif kind == "SQS":
        assert set(result) == {"batchItemFailures"}, result
        assert result["batchItemFailures"] in ([], [{"itemIdentifier": "probe-message"}]), result
    elif handler == "app.live_disconnect":
        assert result == {"statusCode": 200}, result
    elif handler == "app.live_connect":
        assert result["statusCode"] == 401, result


def test_every_function_is_a_module_level_handler_of_the_app(packaged: dict[str, Any]) -> None:
    handlers = {r["Properties"]["Handler"] for r in packaged["template"]["Resources"].values()
                if r["Type"] == "AWS::Serverless::Function"}  # fmt: skip
    assert {"app.app", "app.dispatcher", "app.invoker", "app.deliverer", "app.live_connect",
            "app.live_message", "app.live_disconnect"} <= handlers  # fmt: skip


def test_the_plugin_runtime_is_in_the_package(lambda_dirs: tuple[Path, Path]) -> None:
    task, _ = lambda_dirs
    assert (task / "plugyard_runtime" / "lambda_bootstrap.py").is_file()
    assert (task / "plugyard_runtime" / "_worker.py").is_file()
    assert not (task / "tests").exists() and not (task / "infra").exists()


def test_every_packaged_handler_loads_and_answers_from_the_package_alone(
    packaged: dict[str, Any], stack: Stack, lambda_dirs: tuple[Path, Path]
) -> None:
    task, runtime = lambda_dirs
    template = packaged["template"]
    resolve = _resolver(template, stack)
    kinds = _events(template)
    assert len(kinds) >= 7

    # resolved before the probes run in parallel (resolving may create the stack's secrets on moto)
    envs = {
        lid: {k: resolve(v) for k, v in template["Resources"][lid]["Properties"].get("Environment", {})
              .get("Variables", {}).items()}
        for lid in kinds
    }  # fmt: skip

    def probe(lid: str, kind: str) -> str | None:
        props = template["Resources"][lid]["Properties"]
        handler = props["Handler"]
        env = dict(envs[lid])
        name = resolve(props["FunctionName"])
        env |= {
            # what the Lambda service sets in every function (and no more: -I ignores PYTHON*)
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(props.get("MemorySize", 512)),
            "LAMBDA_TASK_ROOT": str(task),
            "_HANDLER": handler,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            # the one addition: the moto server stands in for AWS's endpoints
            "PLUGYARD_AWS_ENDPOINT_URL": stack.endpoint_url,
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        }
        spec = {
            "task": str(task),
            "runtime": str(runtime),
            "handler": handler,
            "local_only": list(LOCAL_ONLY),
            # one package for all functions: every module is imported once, in the API's probe
            "import_all": handler == "app.app",
            "event": _event(lid, handler, kind),
            "arn": f"arn:aws:lambda:{REGION}:123456789012:function:{name}",
        }
        done = subprocess.run(
            [sys.executable, "-I", "-S", "-c", PROBE],
            input=json.dumps(spec),
            env=env,
            cwd=task,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        if done.returncode != 0:
            return f"{lid} ({handler}): {done.stderr.strip().splitlines()[-3:]}"
        report = json.loads(done.stdout.strip().splitlines()[-1])
        if report["outside"]:
            return f"{lid} imported modules from outside the package: {report['outside']}"
        try:
            _expected(handler, kind, report["result"])
        except AssertionError as exc:
            return f"{lid} ({handler}): {exc}"
        return None

    with ThreadPoolExecutor(max_workers=3) as pool:
        failures = [f for f in pool.map(probe, *zip(*sorted(kinds.items()), strict=True)) if f]
    assert failures == []
