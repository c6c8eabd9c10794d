"""The steps and their modes: submission (standard, commitment, a new attempt, a resubmission),
the department's decision, and the verification of a granted commitment."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from domain.access import SYSTEM, require_applicant, require_reviewer
from domain.errors import conflict, require_text
from domain.project.action import Action
from domain.project.chain import require_not_ended, require_not_suspended_except, resume_if_clear, suspend
from domain.project.ladder import open_problem
from domain.project.state import ProjectState, Step
from domain.status import OWNER_HOLDS


class DocumentRef(BaseModel):
    """An uploaded document a submission names: the audit timeline shows exactly which file it was."""

    id: str
    filename: str
    sha256: str


class Submit(Action):
    """First submission, resubmission after a return, or a new attempt after a rejection or revocation."""

    step: str
    commitment: bool = False
    note: str = ""
    # Uploaded documents (the API resolves their ids); bare names in submissions made before uploads.
    documents: list[DocumentRef | str] = Field(default_factory=list)
    # The owner has a revoked commitment unresolved on another of its projects (the API looks it up).
    revocation_elsewhere: bool = False

    def check(self, project: ProjectState) -> None:
        require_applicant(self.actor, project)
        require_not_ended(project, "submit")
        step = project.step(self.step)
        require_not_suspended_except(project, step)
        if step.inspection and step.status != "returned":
            raise conflict("not_awaiting_rectification", f"inspection {step.key} is {step.status}")
        if step.status not in OWNER_HOLDS:
            raise conflict("not_awaiting_submission", f"step {step.key} is {step.status}, not awaiting submission")
        if self.commitment:
            if step.mode != "commitment":
                raise conflict("commitment_not_allowed", f"step {step.key} does not accept a written commitment")
            if step.status == "returned":
                raise conflict("commitment_not_allowed", "a returned application is resubmitted as it was")
            if step.status == "revoked" or project.revocation_open() or self.revocation_elsewhere:
                raise conflict(
                    "revocation_unresolved",
                    "the owner has a revoked commitment: apply in standard mode until it is resolved",
                )

    def apply(self, project: ProjectState, now: datetime) -> str | None:
        step = project.step(self.step)
        documents = [d.model_dump() if isinstance(d, DocumentRef) else d for d in self.documents]
        detail: dict[str, Any] = {"note": self.note, "documents": documents}
        if step.status == "returned":
            step.status = "in_review"
            step.clock.start(now)
            project.record(now, self.actor, "resubmitted", step.key, detail)
            return None
        if step.status in ("rejected", "revoked"):
            step.clock = project.new_clock(step.limit_working_days)
            step.overdue_handled = False
        step.attempt += 1
        step.commitment = self.commitment
        detail["attempt"] = step.attempt
        if self.commitment:
            _grant_commitment(project, step, self, now, detail)
        else:
            step.status = "in_review"
            step.clock.start(now)
            project.record(now, self.actor, "submitted", step.key, detail)
        return None


def _grant_commitment(project: ProjectState, step: Step, submit: Submit, now: datetime, detail: dict[str, Any]) -> None:
    """告知承诺制: the permit is granted at once and the department's verification window opens."""
    assert step.verify_working_days is not None
    step.status = "granted"
    step.ended_at = now
    step.verification = project.new_clock(step.verify_working_days, start=now)
    project.record(now, submit.actor, "commitment_signed", step.key, detail)
    project.record(now, SYSTEM, "commitment_granted", step.key, {"department": step.department})


class Decide(Action):
    """A reviewer of the step's department approves, returns for correction (clock pauses) or rejects."""

    step: str
    outcome: Literal["approve", "return", "reject"]
    comment: str = ""

    def check(self, project: ProjectState) -> None:
        require_not_ended(project, "decide")
        step = project.step(self.step)
        require_reviewer(self.actor, step)
        if step.status != "in_review":
            raise conflict("not_in_review", f"step {step.key} is {step.status}, not in review")
        require_not_suspended_except(project, step)
        if step.inspection and self.outcome == "reject":
            raise conflict(
                "inspection_outcome", "an inspection passes (approve) or goes back for rectification (return)"
            )
        if self.outcome in ("return", "reject"):
            require_text(self.comment, "comment_required", f"a {self.outcome} needs a comment saying why")

    def apply(self, project: ProjectState, now: datetime) -> str | None:
        step = project.step(self.step)
        step.clock.pause(now)
        detail = {"comment": self.comment, "attempt": step.attempt}
        if self.outcome == "approve":
            step.status = "approved"
            step.ended_at = now
            project.record(now, self.actor, "approved", step.key, detail)
            if step.revocation_open:
                step.revocation_open = False
                resume_if_clear(project, now)
        elif self.outcome == "return":
            step.status = "returned"
            project.record(now, self.actor, "inspection_failed" if step.inspection else "returned", step.key, detail)
        else:
            step.status = "rejected"
            step.ended_at = now
            project.record(now, self.actor, "rejected", step.key, detail)
        return None


class Verify(Action):
    """A reviewer verifies a granted commitment: pass keeps the permit; fail revokes it, suspends
    the project and raises a level-2 problem."""

    step: str
    outcome: Literal["pass", "fail"]
    comment: str = ""

    def check(self, project: ProjectState) -> None:
        require_not_ended(project, "verify")
        step = project.step(self.step)
        require_reviewer(self.actor, step)
        if step.status != "granted":
            raise conflict("not_granted", f"step {step.key} is {step.status}: only a granted commitment is verified")
        if self.outcome == "fail":
            require_text(self.comment, "comment_required", "a failed verification needs a comment saying why")

    def apply(self, project: ProjectState, now: datetime) -> str | None:
        step = project.step(self.step)
        assert step.verification is not None
        step.verification.pause(now)
        detail = {"comment": self.comment}
        if self.outcome == "pass":
            step.status = "verified"
            project.record(now, self.actor, "verified", step.key, detail)
            return None
        step.status = "revoked"
        step.revocation_open = True
        step.ended_at = now
        project.record(now, self.actor, "revoked", step.key, detail)
        suspend(project, now, f"commitment for {step.key} revoked")
        summary = f"Commitment for {step.name} failed verification: {self.comment}"
        open_problem(project, now, SYSTEM, summary, step, origin="revocation", level=2)
        return None
