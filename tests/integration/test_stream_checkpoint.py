"""The local stream reader (the stand-in for Lambda's stream event source mapping) on the moto server: it saves
its position when the stream goes quiet or every ``checkpoint_s``, not after each batch, and a new reader
resumes after the saved position."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from conftest import uid

from chalicelib.local.stack import LocalStack
from chalicelib.local.streams import OutboxStreamReader


def wait_for(fn: Callable[[], Any], timeout_s: float = 20) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := fn():
            return value
        time.sleep(0.02)
    raise AssertionError(f"condition not met within {timeout_s} s")


class Run:
    """One reader on its own thread, with what it handed over and the checkpoints it saved."""

    def __init__(self, stack: LocalStack, table: str, checkpoint_s: float) -> None:
        self.seen: list[str] = []
        self.saves: list[str] = []
        self.stop = threading.Event()
        dynamodb = stack.client("dynamodb")
        put_item = dynamodb.put_item

        def saving(**kwargs: Any) -> Any:  # the real call, counted
            self.saves.append(kwargs["Item"]["doc"]["S"])
            return put_item(**kwargs)

        dynamodb.put_item = saving
        self.reader = OutboxStreamReader(
            dynamodb=dynamodb,
            streams=stack.client("dynamodbstreams"),
            table_name=table,
            meta_table=stack.operator_services().settings.table_name("meta"),
            handler=self.handle,
            stop=self.stop,
            checkpoint_s=checkpoint_s,
        )
        self.thread = threading.Thread(target=self.reader.run, daemon=True)
        self.thread.start()

    def handle(self, event: Mapping[str, Any], context: Any) -> Mapping[str, Any]:
        self.seen.extend(r["dynamodb"]["NewImage"]["id"]["S"] for r in event["Records"])
        return {"batchItemFailures": []}

    def end(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


@pytest.fixture
def table(stack: LocalStack) -> Iterator[str]:
    ddb = stack.client("dynamodb")
    name = uid("stream")
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    yield name
    ddb.delete_table(TableName=name)


def put(stack: LocalStack, table: str, ids: list[str], every_s: float = 0.03) -> None:
    ddb = stack.client("dynamodb")
    for i in ids:
        ddb.put_item(TableName=table, Item={"id": {"S": i}})
        time.sleep(every_s)


def last_sequence(stack: LocalStack, table: str) -> str:
    streams = stack.client("dynamodbstreams")
    arn = stack.client("dynamodb").describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    return str(streams.get_records(ShardIterator=it, Limit=1000)["Records"][-1]["dynamodb"]["SequenceNumber"])


def test_a_busy_stream_saves_its_position_when_quiet_and_a_new_reader_resumes_after_it(
    stack: LocalStack, table: str
) -> None:
    first = Run(stack, table, checkpoint_s=60)
    ids = [f"a{i}" for i in range(6)]
    put(stack, table, ids)
    wait_for(lambda: first.seen == ids)
    wait_for(lambda: first.saves)  # the stream went quiet (an empty read): the position is written down
    # Once for six records read in several batches (twice if a slow put left the stream quiet in between).
    assert len(first.saves) <= 2 and first.saves[-1] == last_sequence(stack, table)
    first.end()

    put(stack, table, ["b0"], every_s=0)
    second = Run(stack, table, checkpoint_s=60)
    try:
        wait_for(lambda: second.seen)
        time.sleep(0.3)
        assert second.seen == ["b0"]  # nothing before the saved position is handed over again
    finally:
        second.end()


def test_with_no_interval_the_position_is_saved_after_every_batch(stack: LocalStack, table: str) -> None:
    run = Run(stack, table, checkpoint_s=0)
    try:
        ids = [f"c{i}" for i in range(3)]
        put(stack, table, ids, every_s=0.2)  # one batch each
        wait_for(lambda: run.seen == ids)
        wait_for(lambda: len(run.saves) == 3)
    finally:
        run.end()
