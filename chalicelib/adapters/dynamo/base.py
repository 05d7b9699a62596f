"""What every PynamoDB repository shares: the item base and table binding, the meta table, paging tokens,
and the translation of storage errors into domain errors.

The ``…Item`` models never leave ``adapters/``; repositories speak domain objects.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import PynamoDBConnectionError
from pynamodb.models import Model

from chalicelib.adapters.aws import local_credentials
from chalicelib.config import Settings
from chalicelib.domain.errors import DependencyUnavailableError, InvalidRequestError
from chalicelib.domain.pagination import decode_token, encode_token

__all__ = [
    "STORED",
    "DocItem",
    "MetaItem",
    "TableMeta",
    "Translate",
    "bind_models",
    "dump",
    "get_or_none",
    "is_conditional",
    "page_start",
    "page_token",
]


M = TypeVar("M", bound=BaseModel)


class TableMeta:
    table_name = ""
    region = "us-east-1"
    host: str | None = None


class DocItem(Model):
    """Common shape: keys, a few query attributes, and ``doc`` (the domain object as JSON)."""

    doc = UnicodeAttribute()

    def load(self, cls: type[M]) -> M:
        # Stored documents were fully validated when written; skip the costly checks (JSON Schema meta-validation).
        return cls.model_validate_json(self.doc, context=STORED)


class MetaItem(Model):
    """Small platform records: publisher profiles, cache generation counters."""

    class Meta(TableMeta):
        purpose = "meta"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    doc = UnicodeAttribute(null=True)
    gen = NumberAttribute(null=True)


def bind_models(models: tuple[type[Model], ...], settings: Settings, table_names: dict[str, str] | None = None) -> None:
    """Point models at their tables (``plugyard-<stage>-<purpose>``) and endpoint, once per process."""
    for model in models:
        meta: Any = model.Meta
        meta.table_name = (table_names or {}).get(meta.purpose) or settings.table_name(meta.purpose)
        meta.region = settings.region
        meta.host = settings.aws_endpoint_url
        # The local AWS needs some credentials; real ones come from the environment (always on AWS).
        credentials = local_credentials(settings)
        meta.aws_access_key_id = credentials.get("aws_access_key_id")
        meta.aws_secret_access_key = credentials.get("aws_secret_access_key")
        # Re-create the connection so a rebind (tests) takes effect.
        model._connection = None
        for index in getattr(model, "_indexes", {}).values():
            index.Meta.model = model


def page_token(lek: dict[str, dict[str, Any]] | None) -> str | None:
    return encode_token({k: str(next(iter(v.values()))) for k, v in lek.items()} if lek else None)


def page_start(token: str | None) -> dict[str, dict[str, Any]] | None:
    pos = decode_token(token)
    return {k: {"S": v} for k, v in pos.items()} if pos else None


ItemT = TypeVar("ItemT", bound=Model)


def get_or_none(
    model: type[ItemT], hash_key: str, range_key: str | None = None, *, consistent_read: bool = False
) -> ItemT | None:
    try:
        return model.get(hash_key, range_key, consistent_read=consistent_read)
    except model.DoesNotExist:
        return None


STORED = {"stored": True}


def dump(obj: BaseModel) -> str:
    return obj.model_dump_json()


class Translate:
    """Turns a connection failure into DependencyUnavailableError (a 503, not a stack trace)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, et: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if not isinstance(exc, PynamoDBConnectionError):
            return
        code = getattr(exc, "cause_response_code", None)
        if code == "ValidationException":
            # Reads only take caller input through pagination tokens.
            raise InvalidRequestError("next_token does not belong to this listing.") from exc
        if code is None:
            raise DependencyUnavailableError("The database is unreachable; retry shortly.") from exc


def is_conditional(exc: Exception) -> bool:
    cause = getattr(exc, "cause_response_code", None)
    return cause == "ConditionalCheckFailedException"
