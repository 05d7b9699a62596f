"""Parse untrusted JSON bodies within fixed bounds: nesting depth first, then the parser.

CPython's ``json`` recurses once per nesting level, so a 2 KB body of ``[[[[…`` reaches the interpreter's
recursion limit. The depth is measured on the raw text (string literals removed) before anything is
parsed, so no input can make the parser recurse deeper than ``max_depth``.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

from chalicelib.domain.errors import InvalidRequestError

__all__ = ["MAX_JSON_DEPTH", "json_depth", "parse_json"]

MAX_JSON_DEPTH = 64

# A JSON string literal (escapes included); brackets inside strings do not nest.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DELTA = {"[": 1, "{": 1, "]": -1, "}": -1}


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in ``text`` (0 for a scalar)."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub('""', text))
    return max(accumulate(map(_DELTA.__getitem__, brackets)), default=0)


def parse_json(raw: bytes | str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The JSON value of ``raw``; InvalidRequestError when it is not UTF-8 JSON or nests too deep."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise InvalidRequestError("The body is not UTF-8 encoded JSON.") from exc
    depth = json_depth(text)
    if depth > max_depth:
        raise InvalidRequestError(
            f"The body nests {depth} levels deep; at most {max_depth} are accepted.", max_depth=max_depth
        )
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRequestError(f"The body is not valid JSON: {exc}.") from exc
    except RecursionError as exc:  # unreachable past the depth check; kept so no input can yield a 500
        raise InvalidRequestError("The body nests too deep.", max_depth=max_depth) from exc
