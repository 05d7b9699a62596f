"""Review decisions on a plugin version: the state each one moves it from, and to."""

from __future__ import annotations

from typing import Literal

from chalicelib.domain.errors import ConflictError, ValidationFailedError

__all__ = ["Decision", "ReviewedState", "reviewed_state"]

Decision = Literal["approve", "reject", "yank"]
ReviewedState = Literal["approved", "rejected", "yanked"]


def reviewed_state(decision: Decision, *, plugin_id: str, version: str, state: str, reason: str) -> ReviewedState:
    """The state ``decision`` moves the version to; ConflictError from the wrong state, ValidationFailedError when
    a reject or yank comes without a reason."""
    allowed_from = {"approve": ("pending",), "reject": ("pending",), "yank": ("approved",)}[decision]
    if state not in allowed_from:
        raise ConflictError(
            f"{plugin_id}@{version} is {state}; only a {' or '.join(allowed_from)} version can be {decision}d.",
            state=state,
        )
    if decision != "approve" and not reason:
        raise ValidationFailedError(f"A reason is required to {decision} a version.")
    new_state: ReviewedState = {
        "approve": "approved",
        "reject": "rejected",
        "yank": "yanked",
    }[decision]  # type: ignore[assignment]
    return new_state
