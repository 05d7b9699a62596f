"""Fixtures for the infra tests: one moto server and one provisioned stack per session."""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from moto.server import ThreadedMotoServer

from chalicelib.local.provision import load_template, provision

from .support import REGION, STAGE, Stack, load_deploy, make_client

if TYPE_CHECKING:
    from .product_walk import Contract, Walked


def pytest_configure(config: pytest.Config) -> None:
    # moto warns so for every stack; infra/README.md documents these gaps
    config.addinivalue_line(
        "filterwarnings",
        "ignore:Tried to parse AWS.* not supported by moto:UserWarning",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The first test that needs the package pays for `chalice package` (every dependency is downloaded again
    # whenever the app's code changed: chalice keys its cache on it), minutes on a busy machine.
    for item in items:
        if "packaged" in getattr(item, "fixturenames", ()) and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(900))


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
    outputs = provision(endpoint_url=moto_endpoint, region=REGION, stage=STAGE)
    return Stack(moto_endpoint, outputs, make_client(moto_endpoint))


@pytest.fixture(scope="session")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`make package`'s work (infra.deploy.package: merge + chalice package) into a tmp dir, once."""
    import yaml

    out = tmp_path_factory.mktemp("package") / "out"
    sam = load_deploy().package(STAGE, out)
    return {"path": sam, "zip": out / "deployment.zip", "template": yaml.safe_load(sam.read_text())}


@pytest.fixture(scope="session")
def lambda_dirs(packaged: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The package unzipped (Lambda's /var/task) and a runtime folder with awslambdaric (/var/runtime)."""
    from .lambda_runner import build_runtime_dir

    root = tmp_path_factory.mktemp("lambda")
    with zipfile.ZipFile(packaged["zip"]) as z:
        z.extractall(root / "task")
    return root / "task", build_runtime_dir(root / "runtime")


@pytest.fixture(scope="session")
def expanded(packaged: dict[str, Any]) -> dict[str, Any]:
    """The packaged SAM template expanded to plain CloudFormation by aws-sam-translator."""
    import copy
    import os

    from samtranslator.translator.transform import transform

    template = copy.deepcopy(packaged["template"])
    for res in template["Resources"].values():
        if res["Type"] == "AWS::Serverless::Function":
            res["Properties"]["CodeUri"] = f"s3://{CODE_BUCKET}/{CODE_KEY}"

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    return dict(transform(template, {}, NoManagedPolicies()))


CODE_BUCKET = "plugyard-test-code"
CODE_KEY = "api/deployment.zip"


@pytest.fixture(scope="session")
def contract(
    packaged: dict[str, Any],
    expanded: dict[str, Any],
    lambda_dirs: tuple[Path, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Contract]:
    """The packaged stack on a moto server enforcing IAM, every function warm under its own role (one per session)."""
    from .contract_stack import open_contract

    with open_contract(packaged, expanded, lambda_dirs, tmp_path_factory.mktemp("contract")) as c:
        yield c


@pytest.fixture(scope="session")
def walked(contract: Contract) -> Iterator[Walked]:
    """The product walked once through the contract's functions (tests/infra/product_walk.py)."""
    from chalicelib.local.receiver import Receiver

    from .product_walk import walk_the_product

    with Receiver() as receiver:
        yield walk_the_product(contract, receiver)
