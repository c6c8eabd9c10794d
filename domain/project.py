"""The project aggregate: the approval chain's state and every rule that changes it.

Pure and deterministic: callers pass `now`; timings that need the calendar arrive through
`apply_timings`. The workflow is a durable shell around this class; the API never mutates it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from domain.catalog import STAGE_ORDER, CategorySpec, OverduePolicy, Stage, StepMode, StepSpec
from domain.clock import ClockQuery, ClockTiming, WorkClock, fingerprint
from domain.errors import ActionRefused, conflict, forbidden
from domain.inputs import (
    Actor,
    AnswerRectification,
    CreateProject,
    Decide,
    JudgeRectification,
    OpenProblem,
    RaiseProblem,
    Rate,
    ResolveProblem,
    Submit,
    Verify,
    Withdraw,
)

ProjectStatus = Literal["active", "suspended", "completed", "withdrawn"]
StepStatus = Literal[
    "pending",
    "awaiting_submission",
    "in_review",
    "returned",
    "approved",
    "rejected",
    "granted",
    "verified",
    "revoked",
    "cancelled",
]
Colour = Literal["green", "yellow", "red"]

DONE: frozenset[str] = frozenset({"approved", "granted", "verified"})
FINAL: frozenset[str] = frozenset({"approved", "verified"})
RATEABLE: frozenset[str] = frozenset({"approved", "granted", "rejected", "verified", "revoked"})
OWNER_HOLDS: frozenset[str] = frozenset({"awaiting_submission", "returned", "rejected", "revoked"})
# Response limits of the ladder, in working days; level 4 has no limit, only reminders.
LEVEL_LIMITS: dict[int, float] = {1: 1, 2: 2, 3: 3, 4: 2}
LEVEL_ROLES: dict[int, str] = {1: "agent", 2: "section_chief", 3: "office", 4: "leader"}
RECTIFICATION_DAYS = 5
RATING_WINDOW_DAYS = 10
SYSTEM = Actor(username="system", role="office")
COLOUR_RANK: dict[str, int] = {"green": 0, "yellow": 1, "red": 2}
# Past this many history events the project workflow continues as new, carrying its state.
HISTORY_LIMIT = 8000


class Event(BaseModel):
    """One line of the audit timeline."""

    seq: int
    at: datetime
    actor: str
    role: str
    on_behalf_of: str | None = None
    action: str
    step: str | None = None
    detail: dict[str, Any] = {}


class Step(BaseModel):
    """One step instance: a catalog step, or one phase or section of it."""

    key: str
    spec_key: str
    name: str
    stage: Stage
    department: str
    mode: StepMode
    limit_working_days: int
    verify_working_days: int | None = None
    overdue: OverduePolicy = "problem"
    joint_role: str | None = None
    phase: int | None = None
    section: str | None = None
    after: list[str] = []
    status: StepStatus = "pending"
    attempt: int = 0
    commitment: bool = False
    clock: WorkClock
    verification: WorkClock | None = None
    overdue_handled: bool = False
    verification_overdue_handled: bool = False
    revocation_open: bool = False
    opened_at: datetime | None = None
    ended_at: datetime | None = None
    rating: int | None = None
    colour: Colour = "green"

    @property
    def open(self) -> bool:
        """Whether the step still needs someone to act."""
        return self.status not in FINAL and self.status not in {"pending", "cancelled"}


class Problem(BaseModel):
    """A coordination problem (协调问题) climbing the ladder."""

    id: str
    step: str | None
    stage: Stage
    summary: str
    origin: Literal["manual", "overdue", "revocation", "rectification"]
    raised_by: str
    level: int
    status: Literal["open", "resolved"] = "open"
    opened_at: datetime
    clock: WorkClock
    reminders: int = 0
    resolution: str | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None


class Rectification(BaseModel):
    """A department's rectification task after a bad rating."""

    id: str
    step: str
    department: str
    score: int
    complaint: str
    status: Literal["open", "answered", "accepted", "escalated"] = "open"
    opened_at: datetime
    clock: WorkClock
    answer: str | None = None


class Section(BaseModel):
    """A declared acceptance section (分期验收)."""

    id: str
    name: str
    accepted_at: datetime | None = None


class Project(BaseModel):
    """The whole state of one project; the workflow's single source of truth."""

    code: str
    name: str
    category: str
    owner_org: str
    agent: str
    region_code: str
    investment_wan: float
    key_project: bool
    created_at: datetime
    created_by: str
    status: ProjectStatus = "active"
    colour: Colour = "green"
    steps: list[Step]
    sections: list[Section] = []
    problems: list[Problem] = []
    rectifications: list[Rectification] = []
    ended_at: datetime | None = None
    window: WorkClock | None = None  # rating window after the project ends
    checked_at: datetime | None = None  # when colours were last computed
    version: int = 0
    event_seq: int = 0
    pending_events: list[Event] = []

    # ---- creation -------------------------------------------------------------------------

    @classmethod
    def create(cls, inp: CreateProject, now: datetime) -> Project:
        """A new project with its steps expanded from the category and the first ones opened."""
        project = cls(
            code=inp.code,
            name=inp.name,
            category=inp.category.key,
            owner_org=inp.owner_org,
            agent=inp.agent,
            region_code=inp.region_code,
            investment_wan=inp.investment_wan,
            key_project=inp.key_project,
            created_at=now,
            created_by=inp.actor.username,
            steps=expand_steps(inp.category, inp.phases, inp.sections),
            sections=[Section(id=f"s{i}", name=n) for i, n in enumerate(inp.sections, 1)],
        )
        project.record(now, inp.actor, "created", detail={"category": inp.category.key, "agent": inp.agent})
        project.open_ready_steps(now)
        project.refresh(now)
        return project

    # ---- queries --------------------------------------------------------------------------

    def step(self, key: str) -> Step:
        """The step with this key, or a 404: what does not exist is not found."""
        for step in self.steps:
            if step.key == key:
                return step
        raise ActionRefused("unknown_step", f"project {self.code} has no step {key!r}", status=404)

    def problem(self, problem_id: str) -> Problem:
        """The problem with this id."""
        for problem in self.problems:
            if problem.id == problem_id:
                return problem
        raise conflict("unknown_problem", f"project {self.code} has no problem {problem_id!r}")

    def rectification(self, rect_id: str) -> Rectification:
        """The rectification with this id."""
        for rect in self.rectifications:
            if rect.id == rect_id:
                return rect
        raise conflict("unknown_rectification", f"project {self.code} has no rectification {rect_id!r}")

    @property
    def current_stage(self) -> Stage:
        """The earliest stage with a step not yet done (the last stage once all are done)."""
        for stage in STAGE_ORDER:
            if any(s.stage == stage and s.status not in DONE | {"cancelled"} for s in self.steps):
                return stage
        return self.steps[-1].stage

    @property
    def finished(self) -> bool:
        """Ended, nothing left open, rating window over: the workflow may close."""
        return (
            self.status in ("completed", "withdrawn")
            and not any(p.status == "open" for p in self.problems)
            and not any(r.status in ("open", "answered") for r in self.rectifications)
            and self.window is not None
            and self.window.used_days >= self.window.limit_days
        )

    def owner_revocation_open(self) -> bool:
        """Whether a revoked commitment of this project still awaits a standard re-application."""
        return any(s.revocation_open for s in self.steps)

    # ---- who may act ----------------------------------------------------------------------

    def _require_applicant(self, actor: Actor) -> None:
        if actor.role == "owner" and actor.organisation == self.owner_org:
            return
        if actor.role == "agent" and actor.username == self.agent:
            return
        raise forbidden("not_applicant", "only the project's owner or its assigned agent may do this")

    def _require_reviewer(self, actor: Actor, step: Step) -> None:
        if actor.role != "reviewer":
            raise forbidden("not_reviewer", "only a reviewer of the step's department may do this")
        if actor.department != step.department:
            raise forbidden(
                "wrong_department",
                f"step {step.key} belongs to department {step.department}, not {actor.department}",
            )

    def _require_active(self, action: str) -> None:
        if self.status in ("completed", "withdrawn"):
            raise conflict("project_ended", f"cannot {action}: the project is {self.status}")

    def _holds_level(self, actor: Actor, problem: Problem) -> bool:
        """The holder of the problem's current level, or anyone above it."""
        rank = {"agent": 1, "section_chief": 2, "office": 3, "leader": 4}.get(actor.role, 0)
        if rank < problem.level:
            return False
        if actor.role == "agent":
            return actor.username == self.agent
        if actor.role == "section_chief":
            return actor.stage == problem.stage
        return True

    # ---- steps ----------------------------------------------------------------------------

    def check_submit(self, inp: Submit) -> Step:
        """Refuse a submission the rules forbid; return the step otherwise."""
        self._require_applicant(inp.actor)
        self._require_active("submit")
        step = self.step(inp.step)
        if self.status == "suspended" and not step.revocation_open:
            raise conflict("project_suspended", "the project is suspended until the revoked step is re-applied")
        if step.joint_role == "inspection" and step.status != "returned":
            raise conflict("not_awaiting_rectification", f"inspection {step.key} is {step.status}")
        if step.status not in OWNER_HOLDS:
            raise conflict("not_awaiting_submission", f"step {step.key} is {step.status}, not awaiting submission")
        if inp.commitment:
            if step.mode != "commitment":
                raise conflict("commitment_not_allowed", f"step {step.key} does not accept a written commitment")
            if step.status == "returned":
                raise conflict("commitment_not_allowed", "a returned application is resubmitted as it was")
            if step.status == "revoked" or self.owner_revocation_open():
                raise conflict(
                    "revocation_unresolved",
                    "the owner has a revoked commitment: apply in standard mode until it is resolved",
                )
        return step

    def submit(self, inp: Submit, now: datetime) -> None:
        """First submission, resubmission after return, or a new attempt after rejection/revocation."""
        step = self.check_submit(inp)
        detail: dict[str, Any] = {"note": inp.note, "documents": inp.documents}
        if step.status == "returned":
            step.status = "in_review"
            step.clock.start(now)
            self.record(now, inp.actor, "resubmitted", step.key, detail)
        else:
            if step.status in ("rejected", "revoked"):
                step.clock = WorkClock(limit_days=step.limit_working_days)
                step.overdue_handled = False
            step.attempt += 1
            step.commitment = inp.commitment
            detail["attempt"] = step.attempt
            if inp.commitment:
                self._grant_commitment(step, inp.actor, now, detail)
            else:
                step.status = "in_review"
                step.clock.start(now)
                self.record(now, inp.actor, "submitted", step.key, detail)
        self.after_change(now)

    def _grant_commitment(self, step: Step, actor: Actor, now: datetime, detail: dict[str, Any]) -> None:
        assert step.verify_working_days is not None
        step.status = "granted"
        step.ended_at = now
        step.verification = WorkClock(limit_days=step.verify_working_days)
        step.verification.start(now)
        self.record(now, actor, "commitment_signed", step.key, detail)
        self.record(now, SYSTEM, "commitment_granted", step.key, {"department": step.department})

    def check_decide(self, inp: Decide) -> Step:
        """Refuse a decision the rules forbid; return the step otherwise."""
        self._require_active("decide")
        step = self.step(inp.step)
        self._require_reviewer(inp.actor, step)
        if step.status != "in_review":
            raise conflict("not_in_review", f"step {step.key} is {step.status}, not in review")
        if self.status == "suspended" and not step.revocation_open:
            raise conflict("project_suspended", "the project is suspended until the revoked step is re-applied")
        if step.joint_role == "inspection" and inp.outcome == "reject":
            raise conflict(
                "inspection_outcome", "an inspection passes (approve) or goes back for rectification (return)"
            )
        if inp.outcome in ("return", "reject") and not inp.comment.strip():
            raise conflict("comment_required", f"a {inp.outcome} needs a comment saying why")
        return step

    def decide(self, inp: Decide, now: datetime) -> None:
        """Approve, return for correction (clock pauses) or reject (a new attempt may follow)."""
        step = self.check_decide(inp)
        step.clock.pause(now)
        detail = {"comment": inp.comment, "attempt": step.attempt}
        if inp.outcome == "approve":
            step.status = "approved"
            step.ended_at = now
            self.record(now, inp.actor, "approved", step.key, detail)
            if step.revocation_open:
                step.revocation_open = False
                self._resume_if_clear(now)
        elif inp.outcome == "return":
            step.status = "returned"
            action = "inspection_failed" if step.joint_role == "inspection" else "returned"
            self.record(now, inp.actor, action, step.key, detail)
        else:
            step.status = "rejected"
            step.ended_at = now
            self.record(now, inp.actor, "rejected", step.key, detail)
        self.after_change(now)

    def check_verify(self, inp: Verify) -> Step:
        """Refuse a verification the rules forbid; return the step otherwise."""
        self._require_active("verify")
        step = self.step(inp.step)
        self._require_reviewer(inp.actor, step)
        if step.status != "granted":
            raise conflict("not_granted", f"step {step.key} is {step.status}: only a granted commitment is verified")
        if inp.outcome == "fail" and not inp.comment.strip():
            raise conflict("comment_required", "a failed verification needs a comment saying why")
        return step

    def verify(self, inp: Verify, now: datetime) -> None:
        """Close a granted commitment: pass keeps the permit, fail revokes it and suspends the project."""
        step = self.check_verify(inp)
        assert step.verification is not None
        step.verification.pause(now)
        detail = {"comment": inp.comment}
        if inp.outcome == "pass":
            step.status = "verified"
            self.record(now, inp.actor, "verified", step.key, detail)
        else:
            step.status = "revoked"
            step.revocation_open = True
            step.ended_at = now
            self.record(now, inp.actor, "revoked", step.key, detail)
            self._suspend(now, f"commitment for {step.key} revoked")
            self._open_problem(
                now,
                SYSTEM,
                f"Commitment for {step.name} failed verification: {inp.comment}",
                step,
                origin="revocation",
                level=2,
            )
        self.after_change(now)

    def check_rate(self, inp: Rate) -> Step:
        """Refuse a rating the rules forbid; return the step otherwise."""
        if inp.actor.role != "owner" or inp.actor.organisation != self.owner_org:
            raise forbidden("not_owner", "only the project's owner rates a step")
        step = self.step(inp.step)
        if step.status not in RATEABLE:
            raise conflict("step_not_ended", f"step {step.key} is {step.status}: only an ended step is rated")
        if step.rating is not None:
            raise conflict("already_rated", f"step {step.key} was already rated {step.rating}")
        if self.finished:
            raise conflict("rating_window_closed", "the rating window for this project has closed")
        return step

    def rate(self, inp: Rate, now: datetime) -> str | None:
        """Record a rating; a bad one (1 or 2) opens a rectification task for the department."""
        step = self.check_rate(inp)
        step.rating = inp.score
        self.record(now, inp.actor, "rated", step.key, {"score": inp.score, "comment": inp.comment})
        rect_id = None
        if inp.score <= 2:
            rect_id = f"{self.code}-R{len(self.rectifications) + 1}"
            clock = WorkClock(limit_days=RECTIFICATION_DAYS)
            clock.start(now)
            self.rectifications.append(
                Rectification(
                    id=rect_id,
                    step=step.key,
                    department=step.department,
                    score=inp.score,
                    complaint=inp.comment,
                    opened_at=now,
                    clock=clock,
                )
            )
            self.record(now, SYSTEM, "rectification_opened", step.key, {"id": rect_id, "department": step.department})
        self.after_change(now)
        return rect_id

    def check_answer(self, inp: AnswerRectification) -> Rectification:
        """Only the department's reviewer answers an open rectification."""
        rect = self.rectification(inp.rectification_id)
        self._require_reviewer(inp.actor, self.step(rect.step))
        if rect.status != "open":
            raise conflict("rectification_not_open", f"rectification {rect.id} is {rect.status}")
        if not inp.answer.strip():
            raise conflict("answer_required", "say what the department changed")
        return rect

    def answer_rectification(self, inp: AnswerRectification, now: datetime) -> None:
        """The department says what it changed; the owner judges it next."""
        rect = self.check_answer(inp)
        rect.status = "answered"
        rect.answer = inp.answer
        rect.clock.pause(now)
        self.record(now, inp.actor, "rectification_answered", rect.step, {"id": rect.id, "answer": inp.answer})
        self.after_change(now)

    def check_judge(self, inp: JudgeRectification) -> Rectification:
        """Only the owner judges an answered rectification."""
        if inp.actor.role != "owner" or inp.actor.organisation != self.owner_org:
            raise forbidden("not_owner", "only the project's owner judges a rectification")
        rect = self.rectification(inp.rectification_id)
        if rect.status != "answered":
            raise conflict("rectification_not_answered", f"rectification {rect.id} is {rect.status}")
        return rect

    def judge_rectification(self, inp: JudgeRectification, now: datetime) -> str | None:
        """Accept the answer, or turn the rectification into a level-2 problem."""
        rect = self.check_judge(inp)
        if inp.accept:
            rect.status = "accepted"
            self.record(now, inp.actor, "rectification_accepted", rect.step, {"id": rect.id})
            self.after_change(now)
            return None
        problem_id = self._escalate_rectification(rect, inp.actor, now, f"Owner rejected the answer: {inp.comment}")
        self.after_change(now)
        return problem_id

    def _escalate_rectification(
        self, rect: Rectification, actor: Actor, now: datetime, why: str, since: datetime | None = None
    ) -> str:
        rect.status = "escalated"
        rect.clock.pause(now)
        self.record(now, actor, "rectification_escalated", rect.step, {"id": rect.id, "reason": why})
        step = self.step(rect.step)
        summary = f"Rectification {rect.id} for {step.name} ({rect.department}): {why}"
        return self._open_problem(now, actor, summary, step, origin="rectification", level=2, since=since)

    def check_withdraw(self, inp: Withdraw) -> None:
        """Only the applicant withdraws a project that has not ended."""
        self._require_applicant(inp.actor)
        self._require_active("withdraw")

    def withdraw(self, inp: Withdraw, now: datetime) -> None:
        """End the project; open steps are cancelled and their problems closed."""
        self.check_withdraw(inp)
        for step in self.steps:
            if step.status in ("pending", "awaiting_submission", "in_review", "returned"):
                step.status = "cancelled"
            step.clock.pause(now)
            if step.verification is not None:
                step.verification.pause(now)
            step.revocation_open = False
        for problem in self.problems:
            if problem.status == "open":
                self._close_problem(problem, SYSTEM, now, "project withdrawn")
        self.status = "withdrawn"
        self.record(now, inp.actor, "withdrawn", detail={"reason": inp.reason})
        self._end(now)
        self.after_change(now)

    # ---- problems and the ladder ----------------------------------------------------------

    def check_open_problem(self, inp: OpenProblem) -> None:
        """Owner, agent or a reviewer of a department the project reached may raise a problem."""
        if self.status == "withdrawn":
            raise conflict("project_ended", "cannot raise a problem: the project is withdrawn")
        if inp.actor.role == "reviewer":
            if not any(s.department == inp.actor.department and s.status != "pending" for s in self.steps):
                raise forbidden("not_involved", "the project has not reached your department")
        else:
            self._require_applicant(inp.actor)
        if inp.step is not None:
            self.step(inp.step)
        if not inp.summary.strip():
            raise conflict("summary_required", "say what the problem is")

    def open_problem(self, inp: OpenProblem, now: datetime) -> str:
        """A problem raised by a person: level 1, or 2 for a key project."""
        self.check_open_problem(inp)
        step = self.step(inp.step) if inp.step else None
        problem_id = self._open_problem(now, inp.actor, inp.summary, step, origin="manual")
        self.after_change(now)
        return problem_id

    def _open_problem(
        self,
        now: datetime,
        actor: Actor,
        summary: str,
        step: Step | None,
        origin: Literal["manual", "overdue", "revocation", "rectification"],
        level: int = 1,
        since: datetime | None = None,
    ) -> str:
        level = max(level, 2 if self.key_project else 1)
        problem_id = f"{self.code}-P{len(self.problems) + 1}"
        clock = WorkClock(limit_days=LEVEL_LIMITS[level])
        clock.start(min(since or now, now))
        self.problems.append(
            Problem(
                id=problem_id,
                step=step.key if step else None,
                stage=step.stage if step else self.current_stage,
                summary=summary,
                origin=origin,
                raised_by=actor.username,
                level=level,
                opened_at=now,
                clock=clock,
            )
        )
        self.record(
            now,
            actor,
            "problem_raised",
            step.key if step else None,
            {"id": problem_id, "level": level, "origin": origin},
        )
        return problem_id

    def check_raise(self, inp: RaiseProblem) -> Problem:
        """Only the current holder or above raises an open problem below level 4."""
        problem = self.problem(inp.problem_id)
        if problem.status != "open":
            raise conflict("problem_resolved", f"problem {problem.id} is already resolved")
        if not self._holds_level(inp.actor, problem):
            raise forbidden("not_holder", f"problem {problem.id} is held at level {problem.level}")
        if problem.level >= 4:
            raise conflict("top_level", "level 4 is the top of the ladder")
        if not inp.reason.strip():
            raise conflict("reason_required", "say why the problem goes up")
        return problem

    def raise_problem(self, inp: RaiseProblem, now: datetime) -> None:
        """Move a problem up one level before its limit."""
        problem = self.check_raise(inp)
        self._climb(problem, inp.actor, now, inp.reason)
        self.after_change(now)

    def _climb(self, problem: Problem, actor: Actor, now: datetime, reason: str) -> None:
        # A climb at the limit starts the next level at the limit itself, so a late wake-up
        # never shifts the rest of the ladder.
        since = problem.clock.deadline if actor is SYSTEM and problem.clock.deadline else now
        problem.level += 1
        problem.clock = WorkClock(limit_days=LEVEL_LIMITS[problem.level])
        problem.clock.start(min(since, now))
        self.record(
            now,
            actor,
            "problem_escalated",
            problem.step,
            {
                "id": problem.id,
                "level": problem.level,
                "holder": LEVEL_ROLES[problem.level],
                "reason": reason,
            },
        )

    def check_resolve(self, inp: ResolveProblem) -> Problem:
        """Only the current holder or above resolves, with a written resolution."""
        problem = self.problem(inp.problem_id)
        if problem.status != "open":
            raise conflict("problem_resolved", f"problem {problem.id} is already resolved")
        if not self._holds_level(inp.actor, problem):
            raise forbidden("not_holder", f"problem {problem.id} is held at level {problem.level}")
        if not inp.resolution.strip():
            raise conflict("resolution_required", "a resolution must be written")
        return problem

    def resolve_problem(self, inp: ResolveProblem, now: datetime) -> None:
        """Close a problem; the climb stops and the colour recovers."""
        problem = self.check_resolve(inp)
        self._close_problem(problem, inp.actor, now, inp.resolution)
        self.after_change(now)

    def _close_problem(self, problem: Problem, actor: Actor, now: datetime, resolution: str) -> None:
        problem.status = "resolved"
        problem.resolution = resolution
        problem.resolved_by = actor.username
        problem.resolved_at = now
        problem.clock.pause(now)
        self.record(
            now,
            actor,
            "problem_resolved",
            problem.step,
            {"id": problem.id, "level": problem.level, "resolution": resolution},
        )

    # ---- the passage of time --------------------------------------------------------------

    def tick(self, now: datetime, verification_overdue: bool = True) -> None:
        """Apply what time alone does: overdue steps and verifications, the ladder, late rectifications."""
        for step in self.steps:
            if step.status == "in_review" and not step.overdue_handled and step.clock.over(now):
                self._overdue(step, now)
            if verification_overdue and self._verification_overdue(step, now):
                step.verification_overdue_handled = True
                self.record(now, SYSTEM, "verification_overdue", step.key, {"department": step.department})
                summary = f"Verification of the commitment for {step.name} is overdue ({step.department})"
                since = step.verification.deadline if step.verification else None
                self._open_problem(now, SYSTEM, summary, step, origin="overdue", since=since)
        for problem in self.problems:
            if problem.status == "open" and problem.clock.over(now):
                if problem.level < 4:
                    self._climb(problem, SYSTEM, now, "response limit passed")
                else:
                    problem.reminders += 1
                    reminder_due = problem.clock.deadline or now
                    problem.clock = WorkClock(limit_days=LEVEL_LIMITS[4])
                    problem.clock.start(min(reminder_due, now))
                    self.record(
                        now,
                        SYSTEM,
                        "problem_reminder",
                        problem.step,
                        {"id": problem.id, "reminder": problem.reminders},
                    )
        for rect in self.rectifications:
            if rect.status == "open" and rect.clock.over(now):
                due = rect.clock.deadline
                self._escalate_rectification(rect, SYSTEM, now, "no answer within the limit", since=due)
        self.after_change(now)

    @staticmethod
    def _verification_overdue(step: Step, now: datetime) -> bool:
        return (
            step.status == "granted"
            and not step.verification_overdue_handled
            and step.verification is not None
            and step.verification.over(now)
        )

    def _overdue(self, step: Step, now: datetime) -> None:
        step.overdue_handled = True
        if step.overdue == "deemed_approval":
            step.clock.pause(now)
            step.status = "approved"
            step.ended_at = now
            self.record(now, SYSTEM, "deemed_approved", step.key, {"responsible_department": step.department})
        else:
            self.record(now, SYSTEM, "overdue", step.key, {"department": step.department})
            summary = f"{step.name} is over its {step.limit_working_days}-working-day limit ({step.department})"
            self._open_problem(now, SYSTEM, summary, step, origin="overdue", since=step.clock.deadline)

    def next_wakeup(self, skip_seen: bool = True) -> datetime | None:
        """The earliest instant at which time alone changes something.

        With `skip_seen`, a colour-only instant (a step's 80 %, a handled verification window)
        counts only while it is later than the last colour check: once seen, it needs no wake-up.
        Without it (projects started before this rule) a passed warning kept the workflow busy.
        """
        moments: list[datetime | None] = []
        seen = self.checked_at if skip_seen else None

        def colour_only(instant: datetime | None) -> datetime | None:
            return None if instant is None or (seen is not None and instant <= seen) else instant

        for step in self.steps:
            if step.status == "in_review" and not step.overdue_handled and step.clock.running:
                moments += [colour_only(step.clock.warn_at), step.clock.deadline]
            if step.status == "granted" and step.verification is not None and step.verification.running:
                deadline = step.verification.deadline
                if skip_seen and step.verification_overdue_handled:
                    deadline = colour_only(deadline)
                moments += [colour_only(step.verification.warn_at), deadline]
        for problem in self.problems:
            if problem.status == "open":
                moments.append(problem.clock.deadline)
        for rect in self.rectifications:
            if rect.status == "open":
                moments.append(rect.clock.deadline)
        if self.window is not None and self.window.running:
            moments.append(self.window.deadline)
        return min((m for m in moments if m is not None), default=None)

    # ---- chain progression ----------------------------------------------------------------

    def after_change(self, now: datetime) -> None:
        """Open what became ready, detect completion, recompute colours."""
        self.open_ready_steps(now)
        self._accept_sections(now)
        if self.status == "active" and all(s.status in FINAL for s in self.steps):
            self.status = "completed"
            self.record(now, SYSTEM, "completed")
            self._end(now)
        if self.window is not None and self.window.running and self.window.over(now):
            self.window.pause(now)
        self.refresh(now)

    def open_ready_steps(self, now: datetime) -> None:
        """Open every pending step whose prerequisites are done."""
        if self.status != "active":
            return
        done = {s.key for s in self.steps if s.status in DONE}
        for step in self.steps:
            if step.status == "pending" and all(dep in done for dep in step.after):
                step.opened_at = now
                if step.joint_role == "inspection":
                    step.status = "in_review"
                    step.attempt = 1
                    step.clock.start(now)
                else:
                    step.status = "awaiting_submission"
                self.record(now, SYSTEM, "step_opened", step.key, {"department": step.department})

    def _accept_sections(self, now: datetime) -> None:
        """Issue the joint acceptance certificate of every section whose inspections all passed."""
        for section in self._acceptance_units():
            if section.accepted_at is not None:
                continue
            inspections = [
                s for s in self.steps if s.joint_role == "inspection" and (s.section or "") == (section.id or "")
            ]
            if inspections and all(s.status == "approved" for s in inspections):
                section.accepted_at = now
                self.record(now, SYSTEM, "joint_acceptance_certificate", detail={"section": section.id or None})

    def _acceptance_units(self) -> list[Section]:
        if not self.sections and any(s.joint_role == "inspection" for s in self.steps):
            self.sections = [Section(id="", name="whole project")]
        return self.sections

    def _suspend(self, now: datetime, why: str) -> None:
        if self.status == "active":
            self.status = "suspended"
            for step in self.steps:
                if step.status == "in_review" and not step.revocation_open:
                    step.clock.pause(now)
            self.record(now, SYSTEM, "suspended", detail={"reason": why})

    def _resume_if_clear(self, now: datetime) -> None:
        if self.status == "suspended" and not self.owner_revocation_open():
            self.status = "active"
            for step in self.steps:
                if step.status == "in_review":
                    step.clock.start(now)
            self.record(now, SYSTEM, "resumed")

    def _end(self, now: datetime) -> None:
        self.ended_at = now
        self.window = WorkClock(limit_days=RATING_WINDOW_DAYS)
        self.window.start(now)

    # ---- colours, timings, events ---------------------------------------------------------

    def refresh(self, now: datetime) -> None:
        """Recompute every open step's colour and the project's colour; record a change."""
        self.checked_at = now
        worst = "green"
        for step in self.steps:
            step.colour = self._step_colour(step, now)  # type: ignore[assignment]
            if step.open or step.status == "granted":
                worst = max(worst, step.colour, key=COLOUR_RANK.__getitem__)
        for problem in self.problems:
            if problem.status == "open":
                worst = max(worst, "red" if problem.level >= 3 else "yellow", key=COLOUR_RANK.__getitem__)
        if self.owner_revocation_open():
            worst = "red"
        if self.status in ("completed", "withdrawn") and not any(p.status == "open" for p in self.problems):
            worst = "green"
        if worst != self.colour:
            self.record(now, SYSTEM, "colour_changed", detail={"from": self.colour, "to": worst})
            self.colour = worst  # type: ignore[assignment]

    @staticmethod
    def _step_colour(step: Step, now: datetime) -> str:
        if step.revocation_open:
            return "red"
        if step.status == "granted" and step.verification is not None:
            return step.verification.colour(now)
        if step.status in ("in_review", "returned"):
            return step.clock.colour(now)
        return "green"

    def clocks(self) -> dict[str, WorkClock]:
        """Every clock of the project by reference."""
        found: dict[str, WorkClock] = {}
        for step in self.steps:
            found[f"step:{step.key}"] = step.clock
            if step.verification is not None:
                found[f"verify:{step.key}"] = step.verification
        for problem in self.problems:
            found[f"problem:{problem.id}"] = problem.clock
        for rect in self.rectifications:
            found[f"rect:{rect.id}"] = rect.clock
        if self.window is not None:
            found["window"] = self.window
        return found

    def stale_clocks(self) -> list[ClockQuery]:
        """The clocks whose timings must be (re)computed by the deadline activity."""
        return [
            ClockQuery(ref=ref, limit_days=c.limit_days, spans=c.spans) for ref, c in self.clocks().items() if c.stale
        ]

    def apply_timings(self, timings: list[ClockTiming], now: datetime) -> None:
        """Store the activity's timings and recompute colours with them."""
        clocks = self.clocks()
        for timing in timings:
            clock = clocks.get(timing.ref)
            if clock is None or fingerprint(clock.spans) != timing.fingerprint:
                continue
            clock.used_days = timing.used_days
            clock.deadline = timing.deadline
            clock.warn_at = timing.warn_at
            clock.provisional = timing.provisional
            clock.stale = False
        self.refresh(now)

    def record(
        self,
        now: datetime,
        actor: Actor,
        action: str,
        step: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append an audit event; the agent acting for an owner is recorded on the owner's behalf."""
        self.event_seq += 1
        on_behalf = self.owner_org if actor.role == "agent" and actor.username == self.agent else None
        self.pending_events.append(
            Event(
                seq=self.event_seq,
                at=now,
                actor=actor.username,
                role=actor.role if actor is not SYSTEM else "system",
                on_behalf_of=on_behalf,
                action=action,
                step=step,
                detail=detail or {},
            )
        )


class ProjectInput(BaseModel):
    """The project workflow's input: start a new project, or carry one over a continue-as-new.

    Defined here, not in the workflow module, so the sandbox does not rebuild the model for
    every new workflow instance.
    """

    create: CreateProject | None = None
    resume: Project | None = None
    history_limit: int = HISTORY_LIMIT


class Opened(BaseModel):
    """Input of the `opened` update sent with the start: wait until the project is visible."""

    requested_by: str


def expand_steps(category: CategorySpec, phases: list[str], sections: list[str]) -> list[Step]:
    """Turn catalog steps into step instances: one per phase of a phased step, per section of a joint one."""
    instances: dict[str, list[Step]] = {}
    for spec in category.steps:
        instances[spec.key] = _instances(spec, phases, sections)
    steps = [s for group in instances.values() for s in group]
    for step in steps:
        spec = next(s for s in category.steps if s.key == step.spec_key)
        deps: list[str] = []
        for earlier in category.steps:
            if STAGE_ORDER.index(earlier.stage) < STAGE_ORDER.index(spec.stage):
                deps += [s.key for s in instances[earlier.key]]
        for dep_key in spec.after:
            deps += [s.key for s in instances[dep_key] if step.section is None or s.section in (None, step.section)]
        if step.phase is not None and step.phase > 1:
            deps.append(f"{spec.key}.{step.phase - 1}")
        step.after = list(dict.fromkeys(deps))
    return steps


def _instances(spec: StepSpec, phases: list[str], sections: list[str]) -> list[Step]:
    base: dict[str, Any] = {
        "spec_key": spec.key,
        "stage": spec.stage,
        "department": spec.department,
        "mode": spec.mode,
        "limit_working_days": spec.limit_working_days,
        "verify_working_days": spec.verify_working_days,
        "overdue": spec.overdue,
        "joint_role": spec.joint_role,
    }
    if spec.mode == "phased":
        names = phases or list(spec.default_phases)
        return [_step(base, key=f"{spec.key}.{i}", name=f"{spec.name} · {n}", phase=i) for i, n in enumerate(names, 1)]
    if spec.mode == "joint" and sections:
        return [
            _step(base, key=f"{spec.key}.s{i}", name=f"{spec.name} · {n}", section=f"s{i}")
            for i, n in enumerate(sections, 1)
        ]
    return [_step(base, key=spec.key, name=spec.name)]


def _step(base: dict[str, Any], **fields: Any) -> Step:
    return Step.model_validate({**base, **fields, "clock": WorkClock(limit_days=base["limit_working_days"])})
