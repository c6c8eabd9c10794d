"""Problems on the escalation ladder, and rectifications after bad ratings."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from api.deps import ServicesDep, SessionDep, UserDep, actor_of
from api.queries import list_problems, owning_project
from api.routes.projects import IdempotencyKey, act
from api.schemas import ActionOut, ProblemOut, ProblemRaise, ProblemResolve, RectificationAnswer, RectificationJudgement
from domain.inputs import AnswerRectification, JudgeRectification, RaiseProblem, ResolveProblem
from models.tables import ProblemRow, RectificationRow
from workflows.project import ProjectWorkflow

router = APIRouter(tags=["problems"])
ProblemId = Annotated[str, Path(pattern=r"^[0-9]{4}-[0-9]{6}-[0-9]{2}-[0-9]{2}-[0-9]{5}[0-9X]-P[0-9]{1,4}$")]
RectificationId = Annotated[str, Path(pattern=r"^[0-9]{4}-[0-9]{6}-[0-9]{2}-[0-9]{2}-[0-9]{5}[0-9X]-R[0-9]{1,4}$")]


@router.get("/problems", response_model=list[ProblemOut])
async def get_problems(
    user: UserDep,
    db: SessionDep,
    level: Annotated[int | None, Query(ge=1, le=4)] = None,
    status: Literal["open", "resolved"] | None = None,
) -> list[ProblemOut]:
    """Problems of the projects the caller may see."""
    return await list_problems(db, user, level, status)


@router.post("/problems/{problem_id}/raise", response_model=ActionOut)
async def raise_problem(
    problem_id: ProblemId,
    body: ProblemRaise,
    user: UserDep,
    svc: ServicesDep,
    db: SessionDep,
    key: IdempotencyKey = None,
) -> ActionOut:
    """The current holder (or above) moves the problem up one level."""
    code = await owning_project(db, user, ProblemRow, problem_id)
    inp = RaiseProblem(problem_id=problem_id, actor=actor_of(user), reason=body.reason)
    return await act(svc, db, user, code, ProjectWorkflow.raise_problem, inp, key, None)


@router.post("/problems/{problem_id}/resolve", response_model=ActionOut)
async def resolve_problem(
    problem_id: ProblemId,
    body: ProblemResolve,
    user: UserDep,
    svc: ServicesDep,
    db: SessionDep,
    key: IdempotencyKey = None,
) -> ActionOut:
    """The current holder (or above) resolves the problem in writing."""
    code = await owning_project(db, user, ProblemRow, problem_id)
    inp = ResolveProblem(problem_id=problem_id, actor=actor_of(user), resolution=body.resolution)
    return await act(svc, db, user, code, ProjectWorkflow.resolve_problem, inp, key, None)


@router.post("/rectifications/{rectification_id}/answer", response_model=ActionOut)
async def answer_rectification(
    rectification_id: RectificationId,
    body: RectificationAnswer,
    user: UserDep,
    svc: ServicesDep,
    db: SessionDep,
    key: IdempotencyKey = None,
) -> ActionOut:
    """The department answers a bad rating with what it changed."""
    code = await owning_project(db, user, RectificationRow, rectification_id)
    inp = AnswerRectification(rectification_id=rectification_id, actor=actor_of(user), answer=body.answer)
    return await act(svc, db, user, code, ProjectWorkflow.answer_rectification, inp, key, None)


@router.post("/rectifications/{rectification_id}/judgement", response_model=ActionOut)
async def judge_rectification(
    rectification_id: RectificationId,
    body: RectificationJudgement,
    user: UserDep,
    svc: ServicesDep,
    db: SessionDep,
    key: IdempotencyKey = None,
) -> ActionOut:
    """The owner accepts the answer, or it becomes a level-2 problem."""
    code = await owning_project(db, user, RectificationRow, rectification_id)
    inp = JudgeRectification(
        rectification_id=rectification_id, actor=actor_of(user), accept=body.accept, comment=body.comment
    )
    return await act(svc, db, user, code, ProjectWorkflow.judge_rectification, inp, key, None)
