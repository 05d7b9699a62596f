"""Secret configuration fields: decrypted only for the invocation that needs them, and kept out of every record.

An installation's secret fields (``x-plugyard-secret`` or ``writeOnly`` in the config schema) are stored
as one ciphertext bound to the installation by its encryption context. The invocation path decrypts them
per invocation and hands them to the plugin inside ``ctx.config``; whatever the plugin then echoes back
(its result, its error, its printed log) is redacted before it is recorded, audited or answered.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.domain.execution import InvocationOutcome
from chalicelib.domain.models import Installation
from chalicelib.ports import SecretBox

__all__ = ["REDACTED", "decrypt_secret_config", "effective_config", "redact_outcome", "secret_context"]

REDACTED = "[redacted secret]"
# Shorter values (a flag, a digit) would redact ordinary text; no real credential is this short.
_MIN_SECRET_CHARS = 4


def secret_context(inst: Installation) -> dict[str, str]:
    """The KMS encryption context binding a ciphertext to its installation."""
    return {"workspace_id": inst.workspace_id, "installation_id": inst.installation_id, "purpose": "config"}


def decrypt_secret_config(box: SecretBox, inst: Installation) -> dict[str, Any]:
    """The installation's secret fields in clear ({} when it has none)."""
    if not inst.secret_config_ciphertext:
        return {}
    data: dict[str, Any] = json.loads(box.decrypt(inst.secret_config_ciphertext, context=secret_context(inst)))
    return data


def effective_config(box: SecretBox, inst: Installation) -> dict[str, Any]:
    """The configuration a plugin runs with: public fields plus decrypted secret fields."""
    return {**inst.config, **decrypt_secret_config(box, inst)}


def _secret_strings(secrets: dict[str, Any]) -> list[str]:
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, str):
            if len(value) >= _MIN_SECRET_CHARS:
                found.add(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, int | float) and not isinstance(value, bool) and len(str(value)) >= _MIN_SECRET_CHARS:
            found.add(str(value))

    walk(secrets)
    return sorted(found, key=len, reverse=True)  # longest first, so a secret containing another goes whole


def _scrub(value: Any, needles: list[str]) -> Any:
    if isinstance(value, str):
        for needle in needles:
            value = value.replace(needle, REDACTED)
        return value
    if isinstance(value, dict):
        return {_scrub(k, needles): _scrub(v, needles) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, needles) for v in value]
    if isinstance(value, int | float) and not isinstance(value, bool) and str(value) in needles:
        return REDACTED
    return value


def redact_outcome(outcome: InvocationOutcome, secrets: dict[str, Any]) -> InvocationOutcome:
    """The outcome with every secret value replaced in its result, error and log excerpt."""
    needles = _secret_strings(secrets)
    if not needles:
        return outcome
    return outcome.model_copy(
        update={
            "result": _scrub(outcome.result, needles),
            "error": _scrub(outcome.error, needles),
            "log_excerpt": _scrub(outcome.log_excerpt, needles),
        }
    )
