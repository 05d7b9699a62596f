"""An installation's configuration: checked against the plugin's JSON Schema, its secret fields stored encrypted."""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from chalicelib.domain.errors import InvalidConfigError
from chalicelib.domain.models import Installation, PluginVersion
from chalicelib.ports import SecretBox
from chalicelib.services.secret_config import decrypt_secret_config, secret_context

__all__ = ["apply_config", "secret_fields", "validate_config"]


def validate_config(schema: dict[str, Any], config: dict[str, Any]) -> None:
    """Raise InvalidConfigError listing every way ``config`` breaks ``schema``."""
    validator_cls = jsonschema.validators.validator_for(schema)
    errors = sorted(validator_cls(schema).iter_errors(config), key=lambda e: list(e.path))
    if errors:
        raise InvalidConfigError(
            "The configuration does not match the plugin's config schema.",
            errors=[{"loc": "/".join(str(p) for p in e.path) or "(root)", "msg": e.message} for e in errors],
        )


def secret_fields(schema: dict[str, Any]) -> list[str]:
    """Top-level config fields marked ``"x-plugyard-secret": true`` or ``"writeOnly": true``."""
    props = schema.get("properties") or {}
    return sorted(
        name
        for name, spec in props.items()
        if isinstance(spec, dict) and (spec.get("x-plugyard-secret") is True or spec.get("writeOnly") is True)
    )


def apply_config(box: SecretBox, inst: Installation, version: PluginVersion, config: dict[str, Any]) -> None:
    """Store ``config`` on the installation: public fields in clear, secret ones encrypted; secret fields left
    out keep their stored values. InvalidConfigError unless the result matches the version's schema."""
    schema = version.manifest.config_schema
    secret = secret_fields(schema)
    kept = {k: v for k, v in decrypt_secret_config(box, inst).items() if k in secret and k not in config}
    full = {**config, **kept}
    validate_config(schema, full)
    secrets = {k: v for k, v in full.items() if k in secret}
    inst.config = {k: v for k, v in full.items() if k not in secret}
    inst.secret_fields = sorted(secrets)
    inst.secret_config_ciphertext = box.encrypt(json.dumps(secrets), context=secret_context(inst)) if secrets else None
