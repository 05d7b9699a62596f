"""The deliverer decrypts an endpoint's signing keys beside the delivery record's write, not after it."""

from __future__ import annotations

import threading
from typing import Any

from standardwebhooks.webhooks import Webhook as StandardWebhook

from unit.delivery_harness import Harness, h

__all__ = ["h"]  # the fixture, imported for pytest


def test_the_first_delivery_decrypts_the_signing_key_while_its_record_is_written(h: Harness, monkeypatch) -> None:
    hook = h.register()
    decrypted = threading.Event()
    seen_by_the_write: list[bool] = []
    signing_keys = h.services.webhooks.signing_keys
    create = h.services.adapters.deliveries.create

    def decrypting(*args: Any) -> list[str]:
        decrypted.set()
        return signing_keys(*args)

    def writing(delivery: Any) -> bool:
        # Sequential code would decrypt only after this write returns: the wait would run out, unset.
        seen_by_the_write.append(decrypted.wait(timeout=10))
        return create(delivery)

    monkeypatch.setattr(h.services.webhooks, "signing_keys", decrypting)
    monkeypatch.setattr(h.services.adapters.deliveries, "create", writing)
    event = h.dispatch(hook.webhook_id, h.event(task_id="t1"))
    h.pump()
    assert seen_by_the_write == [True]
    [sent] = h.sender.sent
    assert StandardWebhook(hook.secret).verify(sent.body, sent.headers)["id"] == event.id
    assert h.svc.get(h.caller, hook.webhook_id, event.id).status == "delivered"


def test_a_disabled_endpoints_secret_is_not_decrypted(h: Harness, monkeypatch) -> None:
    hook = h.register()
    h.services.webhooks.disable(h.caller, hook.webhook_id)
    calls: list[object] = []
    monkeypatch.setattr(h.services.webhooks, "signing_keys", lambda *args: calls.append(args) or [])
    event = h.dispatch(hook.webhook_id)
    h.pump()
    assert calls == [] and h.sender.sent == []
    assert h.svc.get(h.caller, hook.webhook_id, event.id).status == "failed"
