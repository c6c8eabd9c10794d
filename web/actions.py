"""Which actions the caller may take right now, asked of the project's own rules.

The page offers an action only if `Project.check` accepts it from this caller in this state,
so the pages never write a rule of their own: the same check refuses the action if it is sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from domain import project as rules
from domain.access import Actor
from domain.errors import ActionRefused

# Text the checks ask for; the form asks the person for the real one.
SOME_TEXT = "…"


@dataclass
class Offer:
    """What the caller may do on one project now."""

    steps: dict[str, list[str]] = field(default_factory=dict)  # step key -> submit, commit, decide, verify, rate
    problems: dict[str, list[str]] = field(default_factory=dict)  # problem id -> raise, resolve
    rectifications: dict[str, list[str]] = field(default_factory=dict)  # rectification id -> answer, judge
    withdraw: bool = False
    open_problem: bool = False

    @property
    def anything(self) -> bool:
        return any(self.steps.values()) or any(self.problems.values()) or any(self.rectifications.values())


def allowed(project: rules.Project, action: rules.Action) -> bool:
    try:
        project.check(action)
    except ActionRefused:
        return False
    return True


def offer(project: rules.Project, actor: Actor, revocation_elsewhere: bool) -> Offer:
    """Every action the rules accept from `actor` on `project` now."""
    found = Offer(
        withdraw=allowed(project, rules.Withdraw(actor=actor)),
        open_problem=allowed(project, rules.OpenProblem(actor=actor, summary=SOME_TEXT)),
    )
    for step in project.steps:
        candidates = {
            "submit": rules.Submit(step=step.key, actor=actor, revocation_elsewhere=revocation_elsewhere),
            "commit": rules.Submit(
                step=step.key, actor=actor, commitment=True, revocation_elsewhere=revocation_elsewhere
            ),
            "decide": rules.Decide(step=step.key, actor=actor, outcome="approve"),
            "verify": rules.Verify(step=step.key, actor=actor, outcome="pass"),
            "rate": rules.Rate(step=step.key, actor=actor, score=5),
        }
        found.steps[step.key] = [name for name, action in candidates.items() if allowed(project, action)]
    for problem in project.problems:
        candidates_p: dict[str, rules.Action] = {
            "raise": rules.RaiseProblem(problem_id=problem.id, actor=actor, reason=SOME_TEXT),
            "resolve": rules.ResolveProblem(problem_id=problem.id, actor=actor, resolution=SOME_TEXT),
        }
        found.problems[problem.id] = [name for name, action in candidates_p.items() if allowed(project, action)]
    for rect in project.rectifications:
        candidates_r: dict[str, rules.Action] = {
            "answer": rules.AnswerRectification(rectification_id=rect.id, actor=actor, answer=SOME_TEXT),
            "judge": rules.JudgeRectification(rectification_id=rect.id, actor=actor, accept=True),
        }
        found.rectifications[rect.id] = [name for name, action in candidates_r.items() if allowed(project, action)]
    return found
