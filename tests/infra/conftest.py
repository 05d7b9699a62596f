"""Fixtures for the infra tests: one moto server and one provisioned stack per session."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from chalicelib.local.provision import load_template, provision

from .support import REGION, STAGE, Stack, make_client


def pytest_configure(config: pytest.Config) -> None:
    # moto warns so for every stack; infra/README.md documents these gaps
    config.addinivalue_line(
        "filterwarnings",
        "ignore:Tried to parse AWS.* not supported by moto:UserWarning",
    )


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def stack(moto_endpoint: str) -> Stack:
    started = time.perf_counter()
    outputs = provision(endpoint_url=moto_endpoint, region=REGION, stage=STAGE)
    seconds = time.perf_counter() - started
    return Stack(moto_endpoint, outputs, seconds, make_client(moto_endpoint))
