"""Shared helpers of the infra tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import boto3

REGION = "us-east-1"
STAGE = "dev"


@dataclass(frozen=True)
class Stack:
    endpoint_url: str
    outputs: dict[str, str]
    seconds: float  # how long provision() took
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
