"""The local moto server's GetRecords, asked to long-poll, answers as a record arrives and waits only briefly."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from chalicelib.local import moto_streams
from chalicelib.local.stack import free_port


@pytest.fixture
def moto_url() -> Iterator[str]:
    """A moto server in this process (so the patch applies to it), over HTTP like the stack's."""
    moto_streams.install()
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def streamed_table(ddb: Any, streams: Any, name: str) -> str:
    """A new table with a NEW_IMAGE stream; an iterator at the start of its shard."""
    arn = ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    return str(it["ShardIterator"])


def test_get_records_waits_for_the_next_record_and_no_longer(moto_url: str) -> None:
    kw = {"endpoint_url": moto_url, "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    ddb = boto3.client("dynamodb", region_name="us-east-1", **kw)
    streams = boto3.client("dynamodbstreams", region_name="us-east-1", **kw)
    plain = boto3.client("dynamodbstreams", region_name="us-east-1", **kw)  # as DynamoDB answers: at once
    moto_streams.long_poll(streams)
    iterator = streamed_table(ddb, streams, "outbox")

    # Without asking for it, an idle stream is answered at once.
    t0 = time.monotonic()
    assert plain.get_records(ShardIterator=iterator)["Records"] == []
    assert time.monotonic() - t0 < moto_streams.WAIT_S

    # Idle: an empty answer after the wait, with an iterator that still points at the next record.
    t0 = time.monotonic()
    idle = streams.get_records(ShardIterator=iterator)
    assert idle["Records"] == []
    assert moto_streams.WAIT_S <= time.monotonic() - t0 < moto_streams.WAIT_S + 1.0

    # A write during the wait is answered at once, not at the end of the wait.
    writer = threading.Timer(0.1, lambda: ddb.put_item(TableName="outbox", Item={"pk": {"S": "e1"}}))
    writer.start()
    t0 = time.monotonic()
    got = streams.get_records(ShardIterator=idle["NextShardIterator"])
    waited = time.monotonic() - t0
    writer.join()
    assert [r["dynamodb"]["NewImage"]["pk"]["S"] for r in got["Records"]] == ["e1"]
    assert 0.09 <= waited < moto_streams.WAIT_S

    # Records already there are answered without waiting.
    ddb.put_item(TableName="outbox", Item={"pk": {"S": "e2"}})
    t0 = time.monotonic()
    again = streams.get_records(ShardIterator=got["NextShardIterator"])
    assert [r["dynamodb"]["NewImage"]["pk"]["S"] for r in again["Records"]] == ["e2"]
    assert time.monotonic() - t0 < moto_streams.WAIT_S


def test_a_transactions_records_wake_a_held_read_when_it_commits(moto_url: str) -> None:
    from chalicelib.local import moto_transactions

    moto_transactions.install()  # holds a transaction's records back until its commit, then adds them
    kw = {"endpoint_url": moto_url, "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    ddb = boto3.client("dynamodb", region_name="us-east-1", **kw)
    streams = boto3.client("dynamodbstreams", region_name="us-east-1", **kw)
    moto_streams.long_poll(streams)
    iterator = streamed_table(ddb, streams, "tx-outbox")
    items = [{"Put": {"TableName": "tx-outbox", "Item": {"pk": {"S": f"t{i}"}}}} for i in range(2)]
    writer = threading.Timer(0.1, lambda: ddb.transact_write_items(TransactItems=items))
    writer.start()
    t0 = time.monotonic()
    got = streams.get_records(ShardIterator=iterator)
    waited = time.monotonic() - t0
    writer.join()
    assert [r["dynamodb"]["NewImage"]["pk"]["S"] for r in got["Records"]] == ["t0", "t1"]
    assert 0.09 <= waited < moto_streams.WAIT_S  # woken by the commit, not by the end of the wait
