"""The steps of a project: submission, the department's decision, verification and rating."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.commands import CommandsDep
from api.deps import Acting, SessionDep, on_project
from api.errors import ON_WORKFLOW, refusals
from api.queries import owner_revocation_open
from api.schemas import ActionOut, DecisionBody, RatingBody, SubmitBody, VerificationBody
from domain.project import Decide, Rate, Submit, Verify
from workflows.project import ProjectWorkflow

router = APIRouter(tags=["steps"])
StepPath = Annotated[
    str, Path(pattern=r"^[a-z0-9_.]{1,60}$", description="A step key of the project (404 `unknown_step` otherwise).")
]
# What every step action may meet besides its own rules.
ON_STEP = ("invalid_project_code", "forbidden_role", "unknown_step", "project_ended", *ON_WORKFLOW)


@router.post(
    "/projects/{code}/steps/{step}/submit",
    response_model=ActionOut,
    responses=refusals(
        *ON_STEP,
        "not_applicant",
        "project_suspended",
        "not_awaiting_rectification",
        "not_awaiting_submission",
        "commitment_not_allowed",
        "revocation_unresolved",
    ),
)
async def submit(
    step: StepPath,
    body: SubmitBody,
    acting: Annotated[Acting, on_project(Submit.gate)],
    send: CommandsDep,
    db: SessionDep,
) -> ActionOut:
    """First submission, resubmission after return, or a new attempt after rejection."""
    elsewhere = body.commitment and await owner_revocation_open(db, acting.code)
    action = Submit(step=step, actor=acting.actor, revocation_elsewhere=elsewhere, **body.model_dump())
    return await send.act(acting, ProjectWorkflow.submit, action)


@router.post(
    "/projects/{code}/steps/{step}/decision",
    response_model=ActionOut,
    responses=refusals(
        *ON_STEP,
        "not_reviewer",
        "wrong_department",
        "not_in_review",
        "project_suspended",
        "inspection_outcome",
        "comment_required",
    ),
)
async def decide(
    step: StepPath, body: DecisionBody, acting: Annotated[Acting, on_project(Decide.gate)], send: CommandsDep
) -> ActionOut:
    """A reviewer of the step's department approves, returns or rejects."""
    action = Decide(step=step, actor=acting.actor, **body.model_dump())
    return await send.act(acting, ProjectWorkflow.decide, action)


@router.post(
    "/projects/{code}/steps/{step}/verification",
    response_model=ActionOut,
    responses=refusals(*ON_STEP, "not_reviewer", "wrong_department", "not_granted", "comment_required"),
)
async def verify(
    step: StepPath, body: VerificationBody, acting: Annotated[Acting, on_project(Verify.gate)], send: CommandsDep
) -> ActionOut:
    """A reviewer verifies a granted commitment: pass, or fail (revokes the permit)."""
    action = Verify(step=step, actor=acting.actor, **body.model_dump())
    return await send.act(acting, ProjectWorkflow.verify, action)


@router.post(
    "/projects/{code}/steps/{step}/rating",
    response_model=ActionOut,
    responses=refusals(
        *ON_STEP[:3], *ON_WORKFLOW, "not_owner", "step_not_ended", "already_rated", "rating_window_closed"
    ),
)
async def rate(
    step: StepPath, body: RatingBody, acting: Annotated[Acting, on_project(Rate.gate)], send: CommandsDep
) -> ActionOut:
    """The owner rates an ended step once; 1 or 2 opens a rectification for the department."""
    action = Rate(step=step, actor=acting.actor, **body.model_dump())
    return await send.act(acting, ProjectWorkflow.rate, action)
