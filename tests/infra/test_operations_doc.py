"""docs/operations.md documents every Settings field with its env var."""

from __future__ import annotations

from pathlib import Path

from chalicelib.config import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def test_every_setting_is_documented() -> None:
    text = DOC.read_text()
    missing = [n for n in Settings.model_fields if f"| `{n}` | `PLUGYARD_{n.upper()}` |" not in text]
    assert missing == [], f"add these Settings fields to docs/operations.md: {missing}"


def test_rollback_plan_covers_every_layer() -> None:
    text = DOC.read_text()
    for topic in ("Stack", "Function code", "Data", "Configuration", "Communicate", "point-in-time"):
        assert topic in text
