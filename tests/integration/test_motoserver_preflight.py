"""The local AWS answers a browser's CORS preflight to a presigned URL as S3 does: by the bucket's rules, unsigned."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import boto3
import httpx
import pytest
import waitress.server
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from chalicelib.local.motoserver import UnsignedPreflights

ORIGIN = "http://127.0.0.1:8000"
ASKS = {"Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "content-type"}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    app = UnsignedPreflights(DomainDispatcherApplication(create_backend_app))
    server = waitress.server.create_server(app, host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()


def test_a_preflight_to_a_presigned_url_follows_the_buckets_cors_rule(endpoint: str) -> None:
    s3 = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
    )
    s3.create_bucket(Bucket="preflight-bucket")
    rule = {"AllowedOrigins": [ORIGIN], "AllowedMethods": ["PUT"], "AllowedHeaders": ["content-type"]}
    s3.put_bucket_cors(Bucket="preflight-bucket", CORSConfiguration={"CORSRules": [rule]})
    params = {"Bucket": "preflight-bucket", "Key": "uploads/a.zip", "ContentType": "application/zip"}
    url = s3.generate_presigned_url("put_object", Params=params, ExpiresIn=60)
    allowed = httpx.options(url, headers={**ASKS, "Origin": ORIGIN})
    assert allowed.status_code == 200 and allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert httpx.options(url, headers={**ASKS, "Origin": "http://evil.example"}).status_code == 403
    put = httpx.put(url, content=b"PK", headers={"Content-Type": "application/zip", "Origin": ORIGIN})
    assert put.status_code == 200 and put.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert s3.get_object(Bucket="preflight-bucket", Key="uploads/a.zip")["Body"].read() == b"PK"
