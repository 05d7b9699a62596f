"""How long ``provision()`` takes to create the whole stack on a moto server (what `make run` and every test
session that starts a stack pay once).

Each round starts a fresh moto server (not timed) and times ``provision()`` of ``infra/template.yaml`` on it.
The floor, measured on the same server right after, is a CloudFormation stack of one DynamoDB table created
the same way (create_stack, then polled until CREATE_COMPLETE), so the ratio says how many one-resource
stacks the whole stack costs, whatever the machine's speed.

    .venv/bin/python bench/provision.py [ROUNDS]          # target: ≤ 5 s for the whole stack

A report: exits 0 whatever the figures.
"""

from __future__ import annotations

import json
import logging
import statistics
import sys
import time
import warnings
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from chalicelib.local.provision import provision

REGION = "us-east-1"
TARGET_S = 5.0


def one_table_template(name: str) -> str:
    """A template of one on-demand DynamoDB table."""
    table = {
        "Type": "AWS::DynamoDB::Table",
        "Properties": {
            "TableName": name,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        },
    }
    return json.dumps({"Resources": {"Table": table}})


def one_table_stack(endpoint_url: str, name: str) -> float:
    """Seconds to create a one-table stack and see it complete."""
    cfn: Any = boto3.client(
        "cloudformation",
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    started = time.perf_counter()
    cfn.create_stack(StackName=name, TemplateBody=one_table_template(name))
    while cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] != "CREATE_COMPLETE":
        time.sleep(0.01)
    return time.perf_counter() - started


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # moto warns about each template part it does not model (bucket and queue policies); timing is unaffected.
    logging.getLogger("moto").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="moto")
    whole: list[float] = []
    floor: list[float] = []
    for i in range(rounds):
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        try:
            started = time.perf_counter()
            provision(endpoint_url=endpoint, region=REGION, stage="dev")
            whole.append(time.perf_counter() - started)
            floor.append(one_table_stack(endpoint, f"bench-floor-{i}"))
        finally:
            server.stop()

    print(f"{'measure':<36}{'median s':>10}{'max s':>10}")
    print(f"{'provision() of the whole stack':<36}{statistics.median(whole):>10.2f}{max(whole):>10.2f}")
    print(f"{'floor: a one-table stack':<36}{statistics.median(floor):>10.3f}{max(floor):>10.3f}")
    ratio = statistics.median(whole) / statistics.median(floor)
    met = "met" if statistics.median(whole) <= TARGET_S else "NOT met"
    print(f"\n{rounds} rounds; the whole stack costs {ratio:.0f}× the floor; target ≤ {TARGET_S:.0f} s: {met}")


if __name__ == "__main__":
    main()
