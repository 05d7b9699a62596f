"""Deploy Tracker: an inbound trigger for CI that records which version of each service runs where.

Set up: an admin exposes the trigger ``deployed`` on the installation
(``POST /api/installations/{id}/triggers {"name": "deployed"}``, which answers its secret once); CI then calls
``POST /api/triggers/{installation_id}/deployed`` with the header ``X-Plugyard-Trigger-Secret`` and a body
``{"service": "api", "version": "1.4.2", "environment": "production"}`` (environment defaults to production).

Triggers:
- ``plugin.deploy-tracker.trigger.deployed`` (entry point ``on_trigger_deployed``): stores the deploy under
  ``current/<environment>/<service>`` and emits ``plugin.deploy-tracker.deployed`` with
  ``{"service", "version", "environment", "previous"}``. The same trigger event delivered twice in a row
  (same event id) is recorded and announced once.
- ``POST /api/installations/{id}/invoke`` with ``{"payload": {"environment": "production"}}`` (entry point
  ``main``): answers ``{"environment", "services": {name: {"version", "previous", "at"}}}``.
"""

import re

PLUGIN_ID = "deploy-tracker"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")


def _field(payload, name, default=None):
    value = payload.get(name, default)
    if not isinstance(value, str) or not _NAME.match(value):
        raise ValueError(f"{name} must be 1–100 letters, digits, '_', '.', '@' or '-'; got {value!r}")
    return value


def on_deployed(event, ctx):
    payload = event["data"].get("payload") or {}
    if not isinstance(payload, dict):
        raise ValueError("the trigger body must be a JSON object")
    service = _field(payload, "service")
    version = _field(payload, "version")
    environment = _field(payload, "environment", "production")
    key = f"current/{environment}/{service}"
    before = ctx.storage.get(key) or {}
    if before.get("event_id") == event["id"]:
        return {"service": service, "version": version, "duplicate": True}
    previous = before.get("version")
    ctx.storage.put(key, {"version": version, "previous": previous, "at": event["time"], "event_id": event["id"]})
    ctx.events.emit(
        f"plugin.{PLUGIN_ID}.deployed",
        {"service": service, "version": version, "environment": environment, "previous": previous},
    )
    ctx.log.info("%s %s: %s -> %s", environment, service, previous, version)
    return {"service": service, "version": version, "environment": environment, "previous": previous}


def main(event, ctx):
    environment = _field(event, "environment", "production")
    prefix = f"current/{environment}/"
    services = {}
    for key in ctx.storage.list(prefix):
        record = ctx.storage.get(key) or {}
        services[key[len(prefix) :]] = {k: record.get(k) for k in ("version", "previous", "at")}
    return {"environment": environment, "services": services}
