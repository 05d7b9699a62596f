"""The developer guide's examples are what the platform does: the event envelope a handler receives."""

from __future__ import annotations

import json
import re
from pathlib import Path

from chalicelib.domain.events import data_errors
from chalicelib.domain.models import EventEnvelope

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "plugin-developer-guide.md"


def test_the_guides_event_envelope_is_exactly_the_envelope_handlers_receive() -> None:
    section = GUIDE.read_text().split("### The event a handler receives", 1)[1]
    shown = json.loads(re.search(r"```json\n(.*?)\n```", section, re.S).group(1))  # type: ignore[union-attr]
    envelope = EventEnvelope.model_validate(shown)
    # Same keys as the envelope the dispatcher hands to a plugin (event.model_dump(mode="json")).
    assert set(shown) == set(envelope.model_dump(mode="json"))
    assert data_errors(envelope.type, envelope.data) == []
    assert set(shown["data"]) >= {"task_id", "title", "status", "annotations"}
