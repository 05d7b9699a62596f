"""Rate-limit windows in the meta table: one conditional UpdateItem per admitted call, forgotten by TTL.

Item ``pk=rate#<scope>``, ``sk=<window>``; one number attribute per counter (``c:<name>``), all incremented by
the same ``ADD`` under a condition that none is at its cap, so every process shares the same counts and a
refused call counts nothing. ``expires_at`` is the meta table's TTL attribute.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain.errors import DependencyUnavailableError

__all__ = ["DynamoRateCounters"]


class DynamoRateCounters:
    def __init__(self, client: Any, table_name: str) -> None:
        self._ddb = client
        self._table = table_name

    def take(self, scope: str, window: int, caps: dict[str, int], *, expires_at: int) -> bool:
        names: dict[str, str] = {"#exp": "expires_at"}
        values: dict[str, Any] = {":one": {"N": "1"}, ":exp": {"N": str(expires_at)}}
        adds, conditions = [], []
        for i, (name, cap) in enumerate(sorted(caps.items())):
            names[f"#c{i}"] = f"c:{name}"
            values[f":cap{i}"] = {"N": str(cap)}
            adds.append(f"#c{i} :one")
            conditions.append(f"(attribute_not_exists(#c{i}) OR #c{i} < :cap{i})")
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key={"pk": {"S": f"rate#{scope}"}, "sk": {"S": str(window)}},
                UpdateExpression=f"ADD {', '.join(adds)} SET #exp = :exp",
                ConditionExpression=" AND ".join(conditions),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise DependencyUnavailableError("The rate limiter's table is unavailable; retry shortly.") from exc
        except BotoCoreError as exc:
            raise DependencyUnavailableError("The database is unreachable; retry shortly.") from exc
        return True
