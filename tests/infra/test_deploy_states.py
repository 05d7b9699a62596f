"""infra/deploy.py picks what to do from the stack's state, and says exactly what to do when it cannot proceed."""

from __future__ import annotations

import pytest

from .support import load_deploy

deploy = load_deploy()


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (None, "CREATE"),
        ("REVIEW_IN_PROGRESS", "CREATE"),
        ("ROLLBACK_COMPLETE", "RECREATE"),  # a failed first create: deleted, then created again
        ("CREATE_COMPLETE", "UPDATE"),
        ("UPDATE_COMPLETE", "UPDATE"),
        ("UPDATE_ROLLBACK_COMPLETE", "UPDATE"),
    ],
)
def test_the_change_set_type_follows_the_stack_state(status: str | None, kind: str) -> None:
    assert deploy.change_set_type("plugyard-dev", status) == kind


@pytest.mark.parametrize(
    ("status", "advice"),
    [
        ("UPDATE_IN_PROGRESS", "wait until it settles"),
        ("UPDATE_ROLLBACK_FAILED", "aws cloudformation continue-update-rollback --stack-name plugyard-dev"),
        ("DELETE_FAILED", "aws cloudformation delete-stack --stack-name plugyard-dev"),
    ],
)
def test_stuck_stacks_stop_with_the_next_step(status: str, advice: str) -> None:
    with pytest.raises(deploy.DeployError, match=advice):
        deploy.change_set_type("plugyard-dev", status)


def test_every_stage_parameter_is_a_template_parameter() -> None:
    names = {p["ParameterKey"] for p in deploy.stack_parameters("dev")}
    assert names == set(deploy.merged_template()["Parameters"])
