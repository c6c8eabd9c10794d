"""Who is told what: the notices a project's new events give, each addressed by role and binding
(docs/notifications.md, "Who is told what").

Pure, like every rule: `notices(project, events)` reads the project as it stands after the events
and says, per event, what kind of notice goes to whom. The publish activity resolves the
audiences to users and writes one notification per user in the same transaction as the events
(activities/publish.py), so a notification exists exactly when its event does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from domain.access import LADDER, Actor, Role
from domain.catalog import DEPARTMENT_NAMES
from domain.project.state import Event, ProjectState, Step
from domain.status import DEPARTMENT_HOLDS

NoticeKind = Literal[
    "submitted",
    "resubmitted",
    "inspection_opened",
    "verification_due",
    "returned",
    "inspection_failed",
    "rejected",
    "revoked",
    "step_yellow",
    "step_red",
    "overdue",
    "problem_raised",
    "problem_escalated",
    "problem_reminder",
    "bad_rating",
    "rectification_answered",
    "completed",
    "digest",
]
# Free text carried into a notice (a comment, a summary) is cut to this many characters.
QUOTE_LIMIT = 200


class Audience(BaseModel):
    """Every active user of `role` bound as given (a field left None binds nothing)."""

    model_config = ConfigDict(frozen=True)

    role: Role
    username: str | None = None
    department: str | None = None
    stage: str | None = None
    organisation: str | None = None

    def includes(self, user: Actor) -> bool:
        """Whether this user is one of the audience."""
        bound = {
            "username": user.username,
            "department": user.department,
            "stage": user.stage.value if user.stage else None,
            "organisation": user.organisation,
        }
        wanted = self.model_dump(exclude={"role"}, exclude_none=True)
        return user.role == self.role and all(bound[field] == value for field, value in wanted.items())


class Notice(BaseModel):
    """What one event tells, and to whom; the event's actor is never told of its own act."""

    kind: NoticeKind
    seq: int | None  # the event told of (none for the digest)
    at: datetime
    step: str | None
    params: dict[str, Any]
    audiences: list[Audience]
    actor: str


def reviewers(department: str) -> Audience:
    return Audience(role="reviewer", department=department)


def owner(project: ProjectState) -> Audience:
    """The owner: every user of its organisation."""
    return Audience(role="owner", organisation=project.owner_org)


def deputy(project: ProjectState) -> Audience:
    return Audience(role="agent", username=project.agent)


def section_chief(stage: str) -> Audience:
    return Audience(role="section_chief", stage=stage)


OFFICE = Audience(role="office")
LEADERS = Audience(role="leader")


def level_holders(project: ProjectState, level: int, stage: str) -> Audience:
    """Who holds a problem's level (domain/access.py, LADDER): the deputy, the stage's section
    chief, the office, the leaders."""
    role = LADDER[level]
    if role == "agent":
        return deputy(project)
    if role == "section_chief":
        return section_chief(stage)
    return Audience(role=role)


# ---- the rule, one row per event action ------------------------------------------------------

Addressed = tuple[NoticeKind, list[Audience]]
Rule = Callable[[ProjectState, Event, list[Event]], Addressed | None]


def _waiting(kind: NoticeKind) -> Rule:
    """The step now waits on its department: its reviewers."""
    return lambda project, event, _: (kind, [reviewers(_step(project, event).department)])


def _to_applicant(kind: NoticeKind) -> Rule:
    """The step went back to the owner: the owner and the deputy."""
    return lambda project, _event, _batch: (kind, [owner(project), deputy(project)])


def _inspection_opened(project: ProjectState, event: Event, _: list[Event]) -> Addressed | None:
    step = _step(project, event)
    return ("inspection_opened", [reviewers(step.department)]) if step.inspection else None


def _light(project: ProjectState, event: Event, batch: list[Event]) -> Addressed | None:
    """Yellow or red while the department holds the step: the deputy and the department. Red at the
    deadline is told once, as `overdue`; a revoked step's red is told as `revoked`."""
    step = _step(project, event)
    colour = event.detail.get("to")
    if colour not in ("yellow", "red") or step.status not in DEPARTMENT_HOLDS:
        return None
    if colour == "red" and any(e.step == step.key and e.action in OVERDUE for e in batch):
        return None
    return ("step_yellow" if colour == "yellow" else "step_red", [deputy(project), reviewers(step.department)])


def _overdue(project: ProjectState, event: Event, _: list[Event]) -> Addressed:
    step = _step(project, event)
    return "overdue", [deputy(project), reviewers(step.department), section_chief(step.stage.value)]


def _problem(kind: NoticeKind) -> Rule:
    """A problem at a new level: the holders of that level."""

    def addressed(project: ProjectState, event: Event, _: list[Event]) -> Addressed:
        problem = project.problem(event.detail["id"])
        return kind, [level_holders(project, int(event.detail["level"]), problem.stage.value)]

    return addressed


def _bad_rating(project: ProjectState, event: Event, _: list[Event]) -> Addressed:
    return "bad_rating", [reviewers(event.detail["department"])]


OVERDUE = frozenset({"overdue", "verification_overdue"})
RULES: dict[str, Rule] = {
    "submitted": _waiting("submitted"),
    "resubmitted": _waiting("resubmitted"),
    "step_opened": _inspection_opened,
    "commitment_granted": _waiting("verification_due"),
    "returned": _to_applicant("returned"),
    "inspection_failed": _to_applicant("inspection_failed"),
    "rejected": _to_applicant("rejected"),
    "revoked": _to_applicant("revoked"),
    "step_colour_changed": _light,
    "overdue": _overdue,
    "verification_overdue": _overdue,
    "problem_raised": _problem("problem_raised"),
    "problem_escalated": _problem("problem_escalated"),
    "problem_reminder": lambda project, _event, _batch: ("problem_reminder", [LEADERS]),
    "rectification_opened": _bad_rating,
    "rectification_answered": lambda project, _event, _batch: ("rectification_answered", [owner(project)]),
    "completed": lambda project, _event, _batch: ("completed", [owner(project), deputy(project)]),
}


def notices(project: ProjectState, events: list[Event]) -> list[Notice]:
    """The notices these events of the project give, in event order."""
    found = []
    for event in events:
        rule = RULES.get(event.action)
        addressed = rule(project, event, events) if rule else None
        if addressed is None:
            continue
        kind, audiences = addressed
        found.append(
            Notice(
                kind=kind,
                seq=event.seq,
                at=event.at,
                step=event.step,
                params=notice_params(project, event),
                audiences=audiences,
                actor=event.actor,
            )
        )
    return found


def _step(project: ProjectState, event: Event) -> Step:
    assert event.step is not None, event
    return project.step(event.step)


def quoted(text: str) -> str:
    """Free text as a notice quotes it: on one line, at most QUOTE_LIMIT characters."""
    line = " ".join(text.split())
    return line if len(line) <= QUOTE_LIMIT else line[: QUOTE_LIMIT - 1] + "…"


def notice_params(project: ProjectState, event: Event) -> dict[str, Any]:
    """What the texts of a notice name: the project, the step and its department, and the event's own
    details (a comment, a problem's level and summary, a score)."""
    params: dict[str, Any] = {"project": project.name, "code": project.code}
    if event.step is not None:
        step = project.step(event.step)
        department = DEPARTMENT_NAMES.get(step.department)
        params |= {
            "step_zh": step.name_zh,
            "step_en": step.name_en,
            "department_zh": department.zh if department else step.department,
            "department_en": department.en if department else step.department,
            "limit": step.limit_working_days,
        }
    detail = event.detail
    for field in ("comment", "answer"):
        if detail.get(field):
            params[field] = quoted(str(detail[field]))
    if "id" in detail and event.action.startswith("problem_"):
        problem = project.problem(detail["id"])
        params |= {
            "problem": problem.id,
            "level": detail.get("level", problem.level),
            "summary": quoted(problem.summary),
        }
        params["reminders"] = detail.get("reminder", problem.reminders)
    if event.action == "rectification_opened":
        rect = project.rectification(detail["id"])
        params |= {"score": rect.score, "comment": quoted(rect.complaint)}
    return params


# ---- the office's daily digest -----------------------------------------------------------------


class DigestItem(BaseModel):
    """One line of the digest: a red project, or an open problem at level 3 or 4."""

    code: str
    name: str
    problem: str | None = None
    level: int | None = None
    summary: str | None = None


class Digest(BaseModel):
    """The daily digest for the office and the leaders (docs/notifications.md, "The daily digest")."""

    day: date
    red: list[DigestItem]
    problems: list[DigestItem]

    @property
    def empty(self) -> bool:
        return not self.red and not self.problems

    def notice(self, at: datetime) -> Notice:
        """The digest as a notice to the office and the leaders."""
        params = {"day": self.day.isoformat(), **self.model_dump(mode="json", include={"red", "problems"})}
        return Notice(
            kind="digest", seq=None, at=at, step=None, params=params, audiences=[OFFICE, LEADERS], actor="system"
        )
