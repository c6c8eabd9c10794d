"""The words the pages use for statuses, colours, roles and stages (translated in web/locale/)."""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark a message for translation where it is defined; it is translated where it is shown."""
    return message


STEP_STATUS = {
    "pending": N_("Not reached yet"),
    "awaiting_submission": N_("Waiting for the application"),
    "in_review": N_("In review"),
    "returned": N_("Returned for correction"),
    "approved": N_("Approved"),
    "rejected": N_("Rejected"),
    "granted": N_("Granted on commitment"),
    "verified": N_("Commitment verified"),
    "revoked": N_("Permit revoked"),
    "cancelled": N_("Cancelled"),
}
PROJECT_STATUS = {
    "active": N_("In progress"),
    "suspended": N_("Suspended"),
    "completed": N_("Completed"),
    "withdrawn": N_("Withdrawn"),
}
COLOUR = {"green": N_("Green light"), "yellow": N_("Yellow light"), "red": N_("Red light")}
ROLE = {
    "owner": N_("Enterprise"),
    "agent": N_("Deputy"),
    "reviewer": N_("Reviewer"),
    "section_chief": N_("Section chief"),
    "office": N_("Government affairs office"),
    "leader": N_("District leader"),
}
STAGE = {
    "initiation": N_("Project initiation and land-use planning"),
    "engineering": N_("Engineering construction permit"),
    "construction": N_("Construction permit"),
    "acceptance": N_("Completion acceptance"),
}
MODE = {
    "standard": N_("Standard review"),
    "commitment": N_("Commitment allowed"),
    "phased": N_("Phased permit"),
    "joint": N_("Joint acceptance"),
}
PROBLEM_STATUS = {"open": N_("Open"), "resolved": N_("Resolved")}
ORIGIN = {
    "manual": N_("Raised by hand"),
    "overdue": N_("Overdue step"),
    "revocation": N_("Revoked commitment"),
    "rectification": N_("Rectification not accepted"),
}
LEVEL = {
    1: N_("Level 1 · deputy"),
    2: N_("Level 2 · section chief"),
    3: N_("Level 3 · office"),
    4: N_("Level 4 · leader"),
}
# What each line of the audit timeline says happened.
EVENT = {
    "created": N_("Project created"),
    "step_opened": N_("Step opened"),
    "submitted": N_("Application submitted"),
    "resubmitted": N_("Corrected application resubmitted"),
    "commitment_signed": N_("Written commitment signed"),
    "commitment_granted": N_("Permit granted on commitment"),
    "approved": N_("Approved"),
    "returned": N_("Returned for correction"),
    "rejected": N_("Rejected"),
    "inspection_failed": N_("Inspection failed: to be rectified"),
    "verified": N_("Commitment verified"),
    "revoked": N_("Commitment failed verification: permit revoked"),
    "suspended": N_("Project suspended"),
    "resumed": N_("Project resumed"),
    "deemed_approved": N_("Deemed approved at the deadline"),
    "overdue": N_("Step overdue"),
    "verification_overdue": N_("Verification overdue"),
    "joint_acceptance_certificate": N_("Joint acceptance certificate issued"),
    "completed": N_("Project completed"),
    "withdrawn": N_("Project withdrawn"),
    "colour_changed": N_("Light changed"),
    "problem_raised": N_("Problem raised"),
    "problem_escalated": N_("Problem moved up the ladder"),
    "problem_reminder": N_("Reminder to the district leader"),
    "problem_resolved": N_("Problem resolved"),
    "rated": N_("Step rated"),
    "rectification_opened": N_("Rectification opened after a bad rating"),
    "rectification_answered": N_("Department answered the rectification"),
    "rectification_accepted": N_("Owner accepted the answer"),
    "rectification_escalated": N_("Rectification became a problem"),
    "deadline_moved": N_("Deadline moved: the calendar changed"),
}
