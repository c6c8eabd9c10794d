"""Ratings (好差评): the owner rates an ended step once; a bad rating opens a rectification for the
department, which answers; the owner accepts the answer or it becomes a level-2 problem."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from domain.access import SYSTEM, Actor, require_owner, require_reviewer
from domain.errors import conflict, require_text
from domain.project.action import Action
from domain.project.ladder import open_problem
from domain.project.state import ProjectState, Rectification
from domain.status import RATEABLE

# A rating of this or lower is a bad rating; the department has RECTIFICATION_DAYS working days to answer.
BAD_RATING = 2
RECTIFICATION_DAYS = 5


class Rate(Action):
    """The owner rates an ended step once, 1 to 5."""

    step: str
    score: int = Field(ge=1, le=5)
    comment: str = ""

    def check(self, project: ProjectState) -> None:
        require_owner(self.actor, project, "rates a step")
        step = project.step(self.step)
        if step.status not in RATEABLE:
            raise conflict("step_not_ended", f"step {step.key} is {step.status}: only an ended step is rated")
        if step.rating is not None:
            raise conflict("already_rated", f"step {step.key} was already rated {step.rating}")
        if project.finished:
            raise conflict("rating_window_closed", "the rating window for this project has closed")

    def apply(self, project: ProjectState, now: datetime) -> str | None:
        step = project.step(self.step)
        step.rating = self.score
        project.record(now, self.actor, "rated", step.key, {"score": self.score, "comment": self.comment})
        if self.score > BAD_RATING:
            return None
        rect_id = f"{project.code}-R{len(project.rectifications) + 1}"
        project.rectifications.append(
            Rectification(
                id=rect_id,
                step=step.key,
                department=step.department,
                score=self.score,
                complaint=self.comment,
                opened_at=now,
                clock=project.new_clock(RECTIFICATION_DAYS, start=now),
            )
        )
        project.record(now, SYSTEM, "rectification_opened", step.key, {"id": rect_id, "department": step.department})
        return rect_id


class AnswerRectification(Action):
    """The department's reviewer says what it changed; the owner judges the answer next."""

    rectification_id: str
    answer: str

    def check(self, project: ProjectState) -> None:
        rect = project.rectification(self.rectification_id)
        require_reviewer(self.actor, project.step(rect.step))
        if rect.status != "open":
            raise conflict("rectification_not_open", f"rectification {rect.id} is {rect.status}")
        require_text(self.answer, "answer_required", "say what the department changed")

    def apply(self, project: ProjectState, now: datetime) -> str | None:
        rect = project.rectification(self.rectification_id)
        rect.status = "answered"
        rect.answer = self.answer
        rect.clock.pause(now)
        project.record(now, self.actor, "rectification_answered", rect.step, {"id": rect.id, "answer": self.answer})
        return None


class JudgeRectification(Action):
    """The owner accepts the department's answer, or turns the rectification into a level-2 problem."""

    rectification_id: str
    accept: bool
    comment: str = ""

    def check(self, project: ProjectState) -> None:
        require_owner(self.actor, project, "judges a rectification")
        rect = project.rectification(self.rectification_id)
        if rect.status != "answered":
            raise conflict("rectification_not_answered", f"rectification {rect.id} is {rect.status}")

    def apply(self, project: ProjectState, now: datetime) -> str | None:
        rect = project.rectification(self.rectification_id)
        if self.accept:
            rect.status = "accepted"
            project.record(now, self.actor, "rectification_accepted", rect.step, {"id": rect.id})
            return None
        return escalate(project, rect, self.actor, now, f"Owner rejected the answer: {self.comment}")


def escalate(
    project: ProjectState, rect: Rectification, actor: Actor, now: datetime, why: str, since: datetime | None = None
) -> str:
    """The rectification becomes a level-2 problem."""
    rect.status = "escalated"
    rect.clock.pause(now)
    project.record(now, actor, "rectification_escalated", rect.step, {"id": rect.id, "reason": why})
    step = project.step(rect.step)
    summary = f"Rectification {rect.id} for {step.name} ({rect.department}): {why}"
    return open_problem(project, now, actor, summary, step, origin="rectification", level=2, since=since)


def tick_rectifications(project: ProjectState, now: datetime) -> None:
    """An unanswered rectification becomes a level-2 problem at its limit, counted from the limit."""
    for rect in project.rectifications:
        if rect.status == "open" and rect.clock.over(now):
            escalate(project, rect, SYSTEM, now, "no answer within the limit", since=rect.clock.deadline)
