"""Problems on the escalation ladder, and rectifications after bad ratings."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.commands import CommandsDep
from api.deps import Acting, SessionDep, UserDep, actor_of, on_problem, on_rectification
from api.errors import ON_WORKFLOW, refusals
from api.queries import list_problems
from api.schemas import ActionOut, ProblemOut, ProblemRaise, ProblemResolve, RectificationAnswer, RectificationJudgement
from domain.project import AnswerRectification, JudgeRectification, RaiseProblem, ResolveProblem
from workflows.project import ProjectWorkflow

router = APIRouter(tags=["problems"])


@router.get("/problems", response_model=list[ProblemOut])
async def get_problems(
    user: UserDep,
    db: SessionDep,
    level: Annotated[int | None, Query(ge=1, le=4)] = None,
    status: Literal["open", "resolved"] | None = None,
) -> list[ProblemOut]:
    """Problems of the projects the caller may see."""
    return await list_problems(db, actor_of(user), level, status)


@router.post(
    "/problems/{problem_id}/raise",
    response_model=ActionOut,
    responses=refusals(
        "forbidden_role", "not_holder", "problem_resolved", "top_level", "unknown_problem", *ON_WORKFLOW
    ),
)
async def raise_problem(
    body: ProblemRaise, acting: Annotated[Acting, on_problem(RaiseProblem.gate)], send: CommandsDep
) -> ActionOut:
    """The current holder (or above) moves the problem up one level."""
    action = RaiseProblem(problem_id=acting.item_id, actor=acting.actor, reason=body.reason)
    return await send.act(acting, ProjectWorkflow.raise_problem, action)


@router.post(
    "/problems/{problem_id}/resolve",
    response_model=ActionOut,
    responses=refusals("forbidden_role", "not_holder", "problem_resolved", "unknown_problem", *ON_WORKFLOW),
)
async def resolve_problem(
    body: ProblemResolve, acting: Annotated[Acting, on_problem(ResolveProblem.gate)], send: CommandsDep
) -> ActionOut:
    """The current holder (or above) resolves the problem in writing."""
    action = ResolveProblem(problem_id=acting.item_id, actor=acting.actor, resolution=body.resolution)
    return await send.act(acting, ProjectWorkflow.resolve_problem, action)


@router.post(
    "/rectifications/{rectification_id}/answer",
    response_model=ActionOut,
    responses=refusals(
        "forbidden_role",
        "not_reviewer",
        "wrong_department",
        "rectification_not_open",
        "unknown_rectification",
        *ON_WORKFLOW,
    ),
)
async def answer_rectification(
    body: RectificationAnswer,
    acting: Annotated[Acting, on_rectification(AnswerRectification.gate)],
    send: CommandsDep,
) -> ActionOut:
    """The department answers a bad rating with what it changed."""
    action = AnswerRectification(rectification_id=acting.item_id, actor=acting.actor, answer=body.answer)
    return await send.act(acting, ProjectWorkflow.answer_rectification, action)


@router.post(
    "/rectifications/{rectification_id}/judgement",
    response_model=ActionOut,
    responses=refusals(
        "forbidden_role",
        "not_owner",
        "rectification_not_answered",
        "unknown_rectification",
        "comment_required",
        *ON_WORKFLOW,
    ),
)
async def judge_rectification(
    body: RectificationJudgement,
    acting: Annotated[Acting, on_rectification(JudgeRectification.gate)],
    send: CommandsDep,
) -> ActionOut:
    """The owner accepts the answer, or it becomes a level-2 problem."""
    action = JudgeRectification(
        rectification_id=acting.item_id, actor=acting.actor, accept=body.accept, comment=body.comment
    )
    return await send.act(acting, ProjectWorkflow.judge_rectification, action)
