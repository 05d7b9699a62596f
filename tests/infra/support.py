"""Shared helpers of the infra tests."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import boto3

REGION = "us-east-1"
STAGE = "dev"


@dataclass(frozen=True)
class Stack:
    endpoint_url: str
    outputs: dict[str, str]
    client: Callable[[str], Any]


def make_client(endpoint_url: str) -> Callable[[str], Any]:
    def client(service: str) -> Any:
        return cast(
            Any,
            boto3.client(
                service,
                endpoint_url=endpoint_url,
                region_name=REGION,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            ),
        )

    return client


def load_deploy() -> ModuleType:
    """infra/deploy.py, loaded by path: under pytest the name `infra` is this test package."""
    return load_module("deploy")


def load_module(name: str) -> ModuleType:
    """infra/<name>.py, loaded by path (as plugyard_infra_<name>)."""
    path = Path(__file__).resolve().parents[2] / "infra" / f"{name}.py"
    module = sys.modules.get(f"plugyard_infra_{name}")
    if module is None:
        spec = importlib.util.spec_from_file_location(f"plugyard_infra_{name}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[f"plugyard_infra_{name}"] = module
        spec.loader.exec_module(module)
    return module
