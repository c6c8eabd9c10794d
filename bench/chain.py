"""The happy way through a project's chain: what each open step waits for, and who gives it.

The benchmarks and the tests' chain helpers both walk projects with it, so they walk them alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Step statuses that wait for someone: the owner's materials, a decision, a verification.
MOVABLE = ("awaiting_submission", "in_review", "granted")


@dataclass(frozen=True)
class Move:
    """One POST that moves a step forward, and the audit event it writes once it is acknowledged."""

    user: str
    verb: str  # submit, decision or verification
    step: str
    action: str  # submitted, approved or verified
    body: dict[str, Any] = field(default_factory=dict)

    def path(self, code: str) -> str:
        return f"/projects/{code}/steps/{self.step}/{self.verb}"


def steps(project: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every step of a project view by key."""
    return {s["key"]: s for stage in project["stages"] for s in stage["steps"]}


def movable(project: dict[str, Any]) -> list[dict[str, Any]]:
    """The steps of a project view that wait for someone."""
    return [s for s in steps(project).values() if s["status"] in MOVABLE]


def next_move(step: dict[str, Any], owner: str = "owner-a") -> Move | None:
    """What the step waits for, done the happy way; None when it waits for nobody."""
    key, status = step["key"], step["status"]
    reviewer = f"reviewer-{step['department']}"
    if status == "awaiting_submission":
        return Move(owner, "submit", key, "submitted", {"note": "materials attached"})
    if status == "in_review":
        return Move(reviewer, "decision", key, "approved", {"outcome": "approve"})
    if status == "granted":
        return Move(reviewer, "verification", key, "verified", {"outcome": "pass"})
    return None
