"""`HttpTransport`: the Lambda side of capability calls (client only; the broker lives in the host API)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from ._errors import TransportError
from .transport import Transport, raise_for_error

__all__ = ["HttpTransport"]


class HttpTransport(Transport):
    """POSTs `{"name", "args"}` to `<broker_url>/capabilities/<name>` with a Bearer capability token.

    The broker answers 200 `{"ok": true, "result": {...}}` or `{"ok": false, "error": {"type", "message"}}`
    (403 with type PermissionDenied for a scope that was not granted).
    """

    def __init__(self, broker_url: str, token: str, *, timeout_s: float = 10.0) -> None:
        self._url = broker_url.rstrip("/")
        self._token = token
        self._timeout = timeout_s

    def call(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        """Perform one capability call over HTTP."""
        if not self._url.startswith(("http://", "https://")):
            raise TransportError(f"broker URL must be http(s): {self._url!r}")
        body = json.dumps({"name": name, "args": args}).encode()
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            f"{self._url}/capabilities/{name}",
            data=body,
            method="POST",
            headers={
                "Authorization": f"Bearer {self._token}",
                "Content-Type": "application/json",
            },
        )
        try:
            # The scheme is checked above (http/https only).
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                payload = response.read()
        except urllib.error.HTTPError as exc:
            # Error statuses still carry the broker's JSON verdict.
            payload = exc.read()
            if not payload:
                raise TransportError(f"broker answered HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise TransportError(f"broker unreachable: {exc}") from None
        try:
            reply = json.loads(payload)
        except ValueError:
            raise TransportError("broker answered with non-JSON") from None
        if not isinstance(reply, dict):
            raise TransportError("broker answered with a non-object")
        if not reply.get("ok"):
            raise_for_error(reply.get("error") or {})
        result = reply.get("result")
        return result if isinstance(result, dict) else {}
