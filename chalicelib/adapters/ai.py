"""``ai.complete`` backends: a deterministic echo (local stack, tests), Bedrock (Converse), OpenAI-compatible."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx

from chalicelib.domain.errors import AiUnavailableError

__all__ = ["AiUnavailableError", "BedrockAiProvider", "EchoAiProvider", "NoAiProvider", "OpenAiCompatibleProvider"]


class EchoAiProvider:
    """Not a model: echoes the prompt's first words with a digest, the same prompt always the same text.

    Offline and deterministic, for the local stack and tests; a deployed stack never falls back to it
    (Settings.ai_backend).
    """

    def complete(self, prompt: str, *, max_tokens: int, system: str | None) -> dict[str, Any]:
        digest = hashlib.sha256(f"{system or ''}\n{prompt}".encode()).hexdigest()[:12]
        words = prompt.split()
        text = f"[echo {digest}] " + " ".join(words[: max(1, min(max_tokens, 32))])
        return {"text": text, "model": "plugyard-echo", "provider": "echo", "usage": {"output_tokens": len(words)}}


class NoAiProvider:
    """AI is switched off for this deployment."""

    def complete(self, prompt: str, *, max_tokens: int, system: str | None) -> dict[str, Any]:
        raise AiUnavailableError("AI completion is not configured on this platform (PLUGYARD_AI_PROVIDER=none).")


class BedrockAiProvider:
    """Amazon Bedrock through the Converse API (``bedrock-runtime``)."""

    def __init__(self, client: Any, model_id: str | None) -> None:
        self._client = client
        self._model = model_id

    def complete(self, prompt: str, *, max_tokens: int, system: str | None) -> dict[str, Any]:
        if not self._model:
            raise AiUnavailableError("Bedrock is selected but PLUGYARD_AI_MODEL (the model id) is not set.")
        kwargs: dict[str, Any] = {
            "modelId": self._model,
            "messages": [{"role": "user", "content": [{"text": prompt}]}],
            "inferenceConfig": {"maxTokens": max_tokens},
        }
        if system:
            kwargs["system"] = [{"text": system}]
        try:
            out = self._client.converse(**kwargs)
        except Exception as exc:
            raise AiUnavailableError(f"Bedrock could not complete the prompt: {type(exc).__name__}.") from exc
        parts = out.get("output", {}).get("message", {}).get("content", [])
        text = "".join(p.get("text", "") for p in parts if isinstance(p, dict))
        usage = out.get("usage", {})
        return {"text": text, "model": self._model, "provider": "bedrock", "usage": usage}


class OpenAiCompatibleProvider:
    """Any OpenAI-compatible ``/chat/completions`` endpoint (base URL and key from Settings)."""

    def __init__(
        self, base_url: str | None, api_key: str | None, model: str | None, *, client: httpx.Client | None = None
    ) -> None:
        self._base = (base_url or "").rstrip("/")
        self._key = api_key
        self._model = model
        self._client = client or httpx.Client(timeout=30)

    def complete(self, prompt: str, *, max_tokens: int, system: str | None) -> dict[str, Any]:
        if not self._base or not self._model:
            raise AiUnavailableError("The OpenAI-compatible provider needs PLUGYARD_AI_BASE_URL and PLUGYARD_AI_MODEL.")
        messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        try:
            resp = self._client.post(
                f"{self._base}/chat/completions",
                json={"model": self._model, "messages": messages, "max_tokens": max_tokens},
                headers=headers,
            )
            resp.raise_for_status()
            data = resp.json()
            text = str(data["choices"][0]["message"]["content"])
        except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as exc:
            raise AiUnavailableError(f"The AI endpoint could not complete the prompt: {type(exc).__name__}.") from exc
        return {"text": text, "model": self._model, "provider": "openai", "usage": data.get("usage", {})}
