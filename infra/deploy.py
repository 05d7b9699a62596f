"""Package and deploy Plugyard's stack: `python -m infra.deploy package|deploy` (see infra/infra.mk).

package: deep-merge infra/app.yaml over infra/template.yaml (chalice's own merge semantics),
then `chalice package --stage <stage> --merge-template <merged> <out>` -> <out>/sam.yaml + deployment.zip.
deploy: check credentials (STS, fast timeouts), upload the zip and the template to a bucket,
create and execute a change set for stack plugyard-<stage>; stages differ only by parameters.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any, cast

import yaml

__all__ = [
    "ROLE_PLACEHOLDER",
    "add_runtime",
    "change_set_type",
    "deep_merge",
    "merged_template",
    "package",
    "stack_parameters",
    "stage_project",
]

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "infra" / "template.yaml"
APP_OVERLAY = REPO / "infra" / "app.yaml"
# .chalice/config.json's iam_role_arn: chalice must not manage the role; app.yaml replaces it.
ROLE_PLACEHOLDER = "arn:aws:iam::000000000000:role/replaced-by-infra-app-yaml"
DEFAULT_AI_MODEL = "amazon.nova-micro-v1:0"  # infra/app.yaml AiModel's default
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]


class DeployError(RuntimeError):
    """Packaging or deployment could not proceed; the message says why in one line."""


def deep_merge(top: Any, base: Any) -> Any:
    """chalice's TemplateDeepMerger: maps merge key by key, anything else from `top` wins."""
    if isinstance(top, dict) and isinstance(base, dict):
        merged = dict(base)
        for key, value in top.items():
            merged[key] = deep_merge(value, base.get(key))
        return merged
    return top


def _load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as f:
        return cast(dict[str, Any], yaml.safe_load(f))


def merged_template() -> dict[str, Any]:
    """infra/template.yaml with infra/app.yaml merged over it (the --merge-template given to chalice)."""
    base, overlay = _load(TEMPLATE), _load(APP_OVERLAY)
    clash = {k for k, v in overlay["Resources"].items() if "Type" in v} & set(base["Resources"])
    if clash:
        raise DeployError(f"infra/app.yaml redefines resources of infra/template.yaml: {sorted(clash)}")
    return cast(dict[str, Any], deep_merge(overlay, base))


def _chalice() -> str:
    local = Path(sys.executable).parent / "chalice"
    return str(local) if local.exists() else (shutil.which("chalice") or "chalice")


# What the deployment package holds besides requirements.txt's dependencies: the app, and the plugin
# runtime (chalicelib builds plugin functions and the sandbox from it) at the zip's root. The runtime is
# added to the zip after `chalice package` rather than through chalice's vendor/ directory: vendor/ is
# part of the key of chalice's dependency cache, so every runtime change would re-download every wheel.
APP_FILES = ("app.py", "chalicelib", "requirements.txt", ".chalice/config.json")
RUNTIME = REPO / "plugin-runtime" / "plugyard_runtime"


def stage_project(dest: Path) -> Path:
    """A chalice project in `dest` holding only the app's files (nothing else of the repo is packaged)."""
    for name in APP_FILES:
        src, target = REPO / name, dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(src, target)
    # chalice caches the dependency zip here (keyed by requirements.txt): share the repo's cache
    cache = REPO / ".chalice" / "deployments"
    cache.mkdir(parents=True, exist_ok=True)
    (dest / ".chalice" / "deployments").symlink_to(cache, target_is_directory=True)
    return dest


def add_runtime(deployment_zip: Path) -> None:
    """Put plugyard_runtime at the root of the deployment package (importable as on the local stack)."""
    with zipfile.ZipFile(deployment_zip, "a", compression=zipfile.ZIP_DEFLATED) as z:
        if any(n.startswith("plugyard_runtime/") for n in z.namelist()):
            raise DeployError("the deployment package already holds a plugyard_runtime: remove the other copy")
        for path in sorted(RUNTIME.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                z.write(path, f"plugyard_runtime/{path.relative_to(RUNTIME).as_posix()}")


def package(stage: str, out: Path) -> Path:
    """Build <out>/sam.yaml and <out>/deployment.zip for `stage`; returns the template's path."""
    out = out.resolve()
    if out.exists():
        shutil.rmtree(out)
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"}
    with tempfile.TemporaryDirectory(prefix="plugyard-package-") as tmp:
        project = stage_project(Path(tmp) / "project")
        merge = Path(tmp) / "merge-template.yaml"
        merge.write_text(yaml.safe_dump(merged_template(), sort_keys=False), encoding="utf-8")
        cmd = [_chalice(), "package", "--stage", stage, "--merge-template", str(merge), str(out)]
        # chalice from this venv with the operator's own stage name; no shell.
        done = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise DeployError(f"chalice package failed: {(done.stderr or done.stdout).strip()}")
    add_runtime(out / "deployment.zip")
    sam = out / "sam.yaml"
    if ROLE_PLACEHOLDER in sam.read_text(encoding="utf-8"):
        raise DeployError("the placeholder role of .chalice/config.json reached the template")
    return sam


def stack_parameters(
    stage: str, alarm_email: str = "", log_level: str = "INFO", ai_model: str = DEFAULT_AI_MODEL
) -> list[dict[str, str]]:
    """The only things that differ between stages."""
    return [
        {"ParameterKey": "Stage", "ParameterValue": stage},
        {"ParameterKey": "AlarmEmail", "ParameterValue": alarm_email},
        {"ParameterKey": "LogLevel", "ParameterValue": log_level},
        {"ParameterKey": "AiModel", "ParameterValue": ai_model},
    ]


def change_set_type(name: str, status: str | None) -> str:
    """CREATE, UPDATE or RECREATE (delete, then create) for stack `name` in `status` (None: no such stack)."""
    if status in (None, "REVIEW_IN_PROGRESS", "DELETE_COMPLETE"):
        return "CREATE"
    if status == "ROLLBACK_COMPLETE":  # a failed first create: CloudFormation refuses to update it
        return "RECREATE"
    if status.endswith("_IN_PROGRESS"):
        raise DeployError(f"{name} is {status}: wait until it settles (CloudFormation console), then deploy again")
    if status == "UPDATE_ROLLBACK_FAILED":
        raise DeployError(
            f"{name} is UPDATE_ROLLBACK_FAILED: run `aws cloudformation continue-update-rollback --stack-name {name}`"
            " (skip the resources it names if they cannot roll back), then deploy again"
        )
    if status in ("ROLLBACK_FAILED", "DELETE_FAILED"):
        raise DeployError(
            f"{name} is {status}: delete it (`aws cloudformation delete-stack --stack-name {name}`, retaining the"
            " resources that fail to delete), then deploy again"
        )
    return "UPDATE"


def first_failure(cfn: Any, name: str) -> str:
    """The reason of the earliest failed resource of the stack's last operation, for the operator."""
    try:
        events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    except Exception:  # noqa: BLE001 - the reason is a courtesy: never hide the real error behind this one
        return "reason unavailable"
    failed = [e for e in events if str(e.get("ResourceStatus", "")).endswith("_FAILED")]
    if not failed:
        return "no resource reported a failure"
    e = failed[-1]  # events are newest first: the last failure listed happened first
    return f"{e.get('LogicalResourceId')}: {e.get('ResourceStatusReason', 'no reason given')}"


def caller_account(region: str) -> str:
    """The AWS account of the current credentials, or DeployError within a few seconds."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    config = Config(connect_timeout=3, read_timeout=3, retries={"max_attempts": 1, "mode": "standard"})
    try:
        sts = boto3.client("sts", region_name=region, config=config)
        return str(sts.get_caller_identity()["Account"])
    except (BotoCoreError, ClientError) as exc:
        raise DeployError(
            f"no usable AWS credentials ({type(exc).__name__}): configure them (AWS_PROFILE, aws sso login, ...)"
            " and run make deploy again"
        ) from exc


def deploy(
    stage: str,
    out: Path,
    *,
    bucket: str,
    region: str,
    alarm_email: str = "",
    log_level: str = "INFO",
    ai_model: str = DEFAULT_AI_MODEL,
) -> None:
    """Package `stage` into `out`, then create or update stack plugyard-<stage> from it."""
    # Credentials first: without them, stop within seconds instead of after packaging.
    account = caller_account(region)
    if not bucket:
        raise DeployError("DEPLOY_BUCKET is not set: name an S3 bucket (same region) for code and templates")
    sam = package(stage, out)
    import boto3
    from botocore.exceptions import ClientError

    s3 = boto3.client("s3", region_name=region)
    cfn = boto3.client("cloudformation", region_name=region)
    code = (out / "deployment.zip").read_bytes()
    code_key = f"plugyard/{stage}/code/{hashlib.sha256(code).hexdigest()}.zip"
    s3.put_object(Bucket=bucket, Key=code_key, Body=code)
    template = _load(sam)
    for res in template["Resources"].values():
        if res["Type"] == "AWS::Serverless::Function":
            res["Properties"]["CodeUri"] = f"s3://{bucket}/{code_key}"
    body = yaml.safe_dump(template, sort_keys=False).encode()
    template_key = f"plugyard/{stage}/templates/{hashlib.sha256(body).hexdigest()}.yaml"
    s3.put_object(Bucket=bucket, Key=template_key, Body=body)
    name = f"plugyard-{stage}"
    try:
        status: str | None = cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
    except ClientError:
        status = None
    kind = change_set_type(name, status)
    if kind == "RECREATE":
        print(
            f"{name} is ROLLBACK_COMPLETE: its first create failed ({first_failure(cfn, name)}); a stack in that"
            " state cannot be updated. Deleting it (resources it created go too: RetainExceptOnCreate) and creating"
            " it again."
        )
        cfn.delete_stack(StackName=name)
        cfn.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig={"Delay": 10, "MaxAttempts": 90})
        kind = "CREATE"
    change_set = f"plugyard-{int(time.time())}"
    cfn.create_change_set(
        StackName=name,
        ChangeSetName=change_set,
        ChangeSetType=kind,
        TemplateURL=f"https://{bucket}.s3.{region}.amazonaws.com/{template_key}",
        Parameters=stack_parameters(stage, alarm_email, log_level, ai_model),
        Capabilities=CAPABILITIES,
        Tags=[{"Key": "plugyard:stage", "Value": stage}],
    )
    print(f"account {account}: change set {change_set} ({kind}) on {name}")
    while True:
        cs = cfn.describe_change_set(StackName=name, ChangeSetName=change_set)
        if cs["Status"] == "CREATE_COMPLETE":
            break
        if cs["Status"] == "FAILED":
            if "didn't contain changes" in cs.get("StatusReason", "") or "No updates" in cs.get("StatusReason", ""):
                print(f"{name}: no changes")
                return
            raise DeployError(f"change set failed: {cs.get('StatusReason')}")
        time.sleep(3)
    cfn.execute_change_set(StackName=name, ChangeSetName=change_set)
    waiter = "stack_create_complete" if kind == "CREATE" else "stack_update_complete"
    from botocore.exceptions import WaiterError

    try:
        cfn.get_waiter(waiter).wait(StackName=name, WaiterConfig={"Delay": 10, "MaxAttempts": 180})
    except WaiterError as exc:
        again = (
            "fix it and run make deploy again (a failed first create is deleted and created again)"
            if kind == "CREATE"
            else "the stack rolled back to its previous version; fix it and run make deploy again"
        )
        raise DeployError(f"{kind.lower()} of {name} failed: {first_failure(cfn, name)}; {again}") from exc
    outputs = cfn.describe_stacks(StackName=name)["Stacks"][0].get("Outputs", [])
    for o in sorted(outputs, key=lambda o: o["OutputKey"]):
        print(f"{o['OutputKey']}\t{o['OutputValue']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.deploy", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("package", "deploy"):
        p = sub.add_parser(name)
        p.add_argument("--stage", required=True)
        p.add_argument("--out", type=Path, default=REPO / "out")
    d = sub.choices["deploy"]
    d.add_argument("--bucket", default=os.environ.get("DEPLOY_BUCKET", ""))
    d.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION") or "us-east-1")
    d.add_argument("--alarm-email", default=os.environ.get("ALARM_EMAIL", ""))
    d.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "INFO"))
    d.add_argument("--ai-model", default=os.environ.get("AI_MODEL") or DEFAULT_AI_MODEL)
    args = parser.parse_args(argv)
    try:
        if args.command == "package":
            print(package(args.stage, args.out))
        else:
            deploy(
                args.stage,
                args.out,
                bucket=args.bucket,
                region=args.region,
                alarm_email=args.alarm_email,
                log_level=args.log_level,
                ai_model=args.ai_model,
            )
    except DeployError as exc:
        print(f"{args.command}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
