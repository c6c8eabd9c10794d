"""The statuses of projects, steps, problems and rectifications, and the sets the rules reason with.

Every rule, query and page names its statuses through these sets, so that "what the owner holds"
or "what is still live" is decided in one place.
"""

from __future__ import annotations

from typing import Literal

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
ProblemStatus = Literal["open", "resolved"]
RectificationStatus = Literal["open", "answered", "accepted", "escalated"]
Colour = Literal["green", "yellow", "red"]

PROJECT_STATUSES: tuple[ProjectStatus, ...] = ("active", "suspended", "completed", "withdrawn")
# A live project still moves: its steps can be submitted and decided (suspended: only the revoked one).
LIVE: frozenset[str] = frozenset({"active", "suspended"})
ENDED: frozenset[str] = frozenset({"completed", "withdrawn"})

# Done enough for the next steps to open (a granted commitment lets the chain move on).
DONE: frozenset[str] = frozenset({"approved", "granted", "verified"})
# Done for good: a project completes when every step is final.
FINAL: frozenset[str] = frozenset({"approved", "verified"})
# Ended steps the owner may rate.
RATEABLE: frozenset[str] = frozenset({"approved", "granted", "rejected", "verified", "revoked"})
# Waiting on the owner (or the agent on its behalf): the step's clock is paused.
OWNER_HOLDS: frozenset[str] = frozenset({"awaiting_submission", "returned", "rejected", "revoked"})
# Waiting on the department: a decision (in review) or a commitment's verification (granted).
DEPARTMENT_HOLDS: frozenset[str] = frozenset({"in_review", "granted"})
# Steps the department decided after a review, for its on-time rate (granted commitments are not reviewed).
DECIDED: frozenset[str] = frozenset({"approved", "rejected"})
# Steps a withdrawal cancels: everything not yet ended.
CANCELLABLE: frozenset[str] = frozenset({"pending", "awaiting_submission", "in_review", "returned"})

COLOUR_RANK: dict[str, int] = {"green": 0, "yellow": 1, "red": 2}


def worst(*colours: str) -> Colour:
    """The worst of the colours given (green when none)."""
    found: Colour = "green"
    for colour in colours:
        if COLOUR_RANK[colour] > COLOUR_RANK[found]:
            found = colour  # type: ignore[assignment]
    return found
