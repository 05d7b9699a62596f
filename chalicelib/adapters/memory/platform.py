"""Platform services: the artifact store, the secret box, idempotency, cache generations."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from chalicelib.domain.errors import IdempotencyKeyReusedError

__all__ = ["InMemoryArtifactStore", "InMemoryGenerationStore", "InMemoryIdempotencyStore", "InMemorySecretBox"]


class InMemoryArtifactStore:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    # A URL of a reserved, never-resolving name (RFC 6761), shaped as the S3 store's are.
    PREFIX = "https://artifacts.memory.invalid/"

    def upload_prefix(self) -> str:
        return self.PREFIX

    def presign_put(self, key: str, *, expires_s: int) -> tuple[str, dict[str, str]]:
        return f"{self.PREFIX}{key}", {}

    def read(self, key: str, *, max_bytes: int) -> bytes | None:
        data = self.objects.get(key)
        if data is not None and len(data) > max_bytes:
            from chalicelib.domain.errors import InvalidArtifactError

            raise InvalidArtifactError(f"The artifact is {len(data)} bytes; the limit is {max_bytes}.")
        return data

    def put(self, key: str, data: bytes) -> None:
        self.objects[key] = data

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)

    def exists(self, key: str) -> bool:
        return key in self.objects


class InMemorySecretBox:
    """Reversible but not plaintext, so tests can tell a stored secret from a returned one."""

    def encrypt(self, plaintext: str, *, context: dict[str, str]) -> str:
        return "mem:" + plaintext[::-1] + "|" + ",".join(f"{k}={v}" for k, v in sorted(context.items()))

    def decrypt(self, ciphertext: str, *, context: dict[str, str]) -> str:
        body, _, ctx = ciphertext.removeprefix("mem:").rpartition("|")
        if ctx != ",".join(f"{k}={v}" for k, v in sorted(context.items())):
            raise ValueError("encryption context mismatch")
        return body[::-1]


class InMemoryIdempotencyStore:
    def __init__(self) -> None:
        self._done: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def run(self, key: str, payload: dict[str, Any], fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        with self._lock:
            if key in self._done:
                seen, result = self._done[key]
                if seen != payload:
                    raise IdempotencyKeyReusedError("This Idempotency-Key was used with a different request.")
                return result
            result = fn()
            self._done[key] = (payload, result)
            return result


class InMemoryGenerationStore:
    def __init__(self) -> None:
        self.items: dict[str, int] = {}

    def get(self, name: str) -> int:
        return self.items.get(name, 0)

    def bump(self, name: str) -> int:
        self.items[name] = self.items.get(name, 0) + 1
        return self.items[name]
