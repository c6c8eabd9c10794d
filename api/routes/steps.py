"""The steps of a project: submission, the department's decision, verification and rating."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from api.actions import ActionRoute, action_route
from api.commands import CommandsDep
from api.deps import Acting, SessionDep, on_step
from api.documents import submission
from api.errors import ON_WORKFLOW, refusals
from api.schemas import ActionOut, DecisionBody, RatingBody, SubmitBody, VerificationBody
from domain.project import Decide, Rate, Submit, Verify
from workflows.project import ProjectWorkflow

router = APIRouter(tags=["steps"])
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
        "unknown_document",
    ),
)
async def submit(
    body: SubmitBody, acting: Annotated[Acting, on_step(Submit.gate)], send: CommandsDep, db: SessionDep
) -> ActionOut:
    """First submission, resubmission after return, or a new attempt after rejection."""
    action = await submission(db, acting.code, acting.actor, acting.item_id, body)
    return await send.act(acting, ProjectWorkflow.submit, action)


W = ProjectWorkflow
for route in (
    ActionRoute(
        "/projects/{code}/steps/{step}/decision",
        DecisionBody,
        Decide,
        W.decide,
        (
            *ON_STEP,
            "not_reviewer",
            "wrong_department",
            "not_in_review",
            "project_suspended",
            "inspection_outcome",
            "comment_required",
        ),
        "A reviewer of the step's department approves, returns or rejects.",
        target="step",
    ),
    ActionRoute(
        "/projects/{code}/steps/{step}/verification",
        VerificationBody,
        Verify,
        W.verify,
        (*ON_STEP, "not_reviewer", "wrong_department", "not_granted", "comment_required"),
        "A reviewer verifies a granted commitment: pass, or fail (revokes the permit).",
        target="step",
    ),
    ActionRoute(
        "/projects/{code}/steps/{step}/rating",
        RatingBody,
        Rate,
        W.rate,
        (*ON_STEP[:3], *ON_WORKFLOW, "not_owner", "step_not_ended", "already_rated", "rating_window_closed"),
        "The owner rates an ended step once; 1 or 2 opens a rectification for the department.",
        target="step",
    ),
):
    action_route(router, route, on_step)
