"""A queue handler for the crash test: records each message id to a file, slowly (see test_events_pipeline)."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any


def handle(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    path = os.environ["PLUGYARD_TEST_RECORD_FILE"]
    for record in event.get("Records", []):
        time.sleep(0.15)
        with open(path, "a", encoding="utf-8") as f:
            f.write(record["body"] + "\n")
    return {"batchItemFailures": []}
