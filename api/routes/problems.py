"""Problems on the escalation ladder, and rectifications after bad ratings."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.actions import ActionRoute, action_route
from api.deps import SessionDep, UserDep, actor_of, on_problem, on_rectification
from api.errors import ON_WORKFLOW
from api.queries import problems_page
from api.schemas import (
    Limit,
    ProblemCursor,
    ProblemPage,
    ProblemRaise,
    ProblemResolve,
    RectificationAnswer,
    RectificationJudgement,
)
from domain.project import AnswerRectification, JudgeRectification, RaiseProblem, ResolveProblem
from workflows.project import ProjectWorkflow

router = APIRouter(tags=["problems"])


@router.get("/problems", response_model=ProblemPage)
async def get_problems(
    user: UserDep,
    db: SessionDep,
    level: Annotated[int | None, Query(ge=1, le=4)] = None,
    status: Annotated[
        Literal["open", "resolved", "all"], Query(description="Open problems unless asked; `all` for every one.")
    ] = "open",
    limit: Limit = 50,
    cursor: ProblemCursor = None,
) -> ProblemPage:
    """Problems of the projects the caller may see, oldest first, a page at a time."""
    wanted = None if status == "all" else status
    items, next_cursor = await problems_page(db, actor_of(user), level, wanted, limit, cursor)
    return ProblemPage(items=items, next_cursor=next_cursor)


W = ProjectWorkflow
for route, resolve in (
    (
        ActionRoute(
            "/problems/{problem_id}/raise",
            ProblemRaise,
            RaiseProblem,
            W.raise_problem,
            ("forbidden_role", "not_holder", "problem_resolved", "top_level", "unknown_problem", *ON_WORKFLOW),
            "The current holder (or above) moves the problem up one level.",
            target="problem_id",
        ),
        on_problem,
    ),
    (
        ActionRoute(
            "/problems/{problem_id}/resolve",
            ProblemResolve,
            ResolveProblem,
            W.resolve_problem,
            ("forbidden_role", "not_holder", "problem_resolved", "unknown_problem", *ON_WORKFLOW),
            "The current holder (or above) resolves the problem in writing.",
            target="problem_id",
        ),
        on_problem,
    ),
    (
        ActionRoute(
            "/rectifications/{rectification_id}/answer",
            RectificationAnswer,
            AnswerRectification,
            W.answer_rectification,
            (
                "forbidden_role",
                "not_reviewer",
                "wrong_department",
                "rectification_not_open",
                "unknown_rectification",
                *ON_WORKFLOW,
            ),
            "The department answers a bad rating with what it changed.",
            target="rectification_id",
        ),
        on_rectification,
    ),
    (
        ActionRoute(
            "/rectifications/{rectification_id}/judgement",
            RectificationJudgement,
            JudgeRectification,
            W.judge_rectification,
            (
                "forbidden_role",
                "not_owner",
                "rectification_not_answered",
                "unknown_rectification",
                "comment_required",
                *ON_WORKFLOW,
            ),
            "The owner accepts the answer, or it becomes a level-2 problem.",
            target="rectification_id",
        ),
        on_rectification,
    ),
):
    action_route(router, route, resolve)
