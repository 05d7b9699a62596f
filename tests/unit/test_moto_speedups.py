"""The local moto server's memoized per-request work answers exactly what moto computes itself."""

from __future__ import annotations

import importlib

import jsonpath_ng.ext
import moto.backends
import moto.core.responses
from moto.dynamodb.responses import DynamoHandler
from moto.sqs.responses import SQSResponse

from chalicelib.local import moto_speedups


def test_memoized_routing_and_jsonpath_answer_as_moto_does() -> None:
    # What moto computes on every request without the patch, read straight from its own functions.
    modules = sorted(moto.backends.list_of_moto_modules())
    methods = {cls: moto.core.utils.method_names_from_class(cls) for cls in (DynamoHandler, SQSResponse)}
    event = {"detail": {"type": "plugin.installed", "n": [1, 2]}, "id": "e1"}
    expected = [m.value for m in importlib.import_module("jsonpath_ng.ext").parse("$.detail.n[1]").find(event)]

    moto_speedups.install()
    moto_speedups.install()  # idempotent

    assert sorted(moto.backends.list_of_moto_modules()) == modules
    assert "dynamodb" in moto.backends.list_of_moto_modules()
    for cls, names in methods.items():
        got = moto.core.responses.method_names_from_class(cls)
        assert got == names and "receive_message" in methods[SQSResponse]
        got.append("not-a-method")  # a caller changing its list does not change the next answer
        assert moto.core.responses.method_names_from_class(cls) == names
    first = jsonpath_ng.ext.parse("$.detail.n[1]")
    assert jsonpath_ng.ext.parse("$.detail.n[1]") is first  # parsed once
    assert [m.value for m in first.find(event)] == expected == [2]
