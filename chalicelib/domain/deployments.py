"""Deployment of an approved version's code to where it runs: states, the deploy message, its errors. Pure.

A version is ``deploying`` from its approval until the deployer reports ``ready`` (or ``failed``, with a
reason). Only a ``ready`` version runs: an invocation of a version that is not ready yet is refused with
VersionNotReadyError (409 with Retry-After) on the API and put back on its queue, delayed, by the invoker,
so nothing is lost and nothing runs anywhere else. With the sandbox executor a version is ready as soon as
its code is unpacked, which the approval does on the spot.

deploy queue   ``{"kind": "deploy", "plugin_id", "version"}`` (``"action": "remove"`` gives a version's
               function and role back once nobody can run it)
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import ConfigDict, Field

from chalicelib.domain.errors import DeploymentFailedError, VersionNotReadyError
from chalicelib.domain.messages import QueueMessage

__all__ = [
    "DEPLOYMENT_STATES",
    "DeployMessage",
    "DeploymentFailedError",
    "DeploymentState",
    "VersionNotReadyError",
]

DeploymentState = Literal["deploying", "ready", "failed"]
DEPLOYMENT_STATES: tuple[str, ...] = ("deploying", "ready", "failed")


class DeployMessage(QueueMessage):
    """Deploy (or remove) the function of one version."""

    model_config = ConfigDict(extra="forbid")
    queue: ClassVar[str] = "deploy"

    kind: Literal["deploy"] = "deploy"
    action: Literal["deploy", "remove"] = "deploy"
    plugin_id: str = Field(min_length=1, max_length=64)
    version: str = Field(min_length=1, max_length=128)
