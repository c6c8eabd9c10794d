"""What went wrong, in the caller's language: refusals of the rules by their machine code, and
fields of a form the API's schema did not accept."""

from __future__ import annotations

from fastapi import Request
from pydantic import ValidationError

from web.labels import N_
from web.render import caller_language

# Each refusal of the rules (domain/project/, domain/access.py) as a person would say it.
REFUSALS = {
    "forbidden_role": N_("Your role may not do this."),
    "not_applicant": N_("Only the project's enterprise or its deputy may do this."),
    "not_owner": N_("Only the project's enterprise may do this."),
    "not_reviewer": N_("Only a reviewer of the step's department may do this."),
    "wrong_department": N_("This step belongs to another department."),
    "not_involved": N_("The project has not reached your department."),
    "project_ended": N_("The project has ended."),
    "project_suspended": N_("The project is suspended until the revoked step is applied for again."),
    "unknown_step": N_("There is no such step."),
    "not_awaiting_submission": N_("This step is not waiting for an application."),
    "not_awaiting_rectification": N_("This inspection is not waiting for a rectification."),
    "commitment_not_allowed": N_("This application cannot be made on a written commitment."),
    "revocation_unresolved": N_("A revoked commitment is still unresolved: apply in standard mode."),
    "not_in_review": N_("This step is not in review."),
    "inspection_outcome": N_("An inspection passes, or goes back for rectification."),
    "comment_required": N_("Say why: write an opinion."),
    "not_granted": N_("Only a granted commitment is verified."),
    "step_not_ended": N_("Only a step that has ended can be rated."),
    "already_rated": N_("This step was rated already."),
    "rating_window_closed": N_("The time to rate this project has passed."),
    "rectification_not_open": N_("This rectification is not open."),
    "rectification_not_answered": N_("The department has not answered yet."),
    "answer_required": N_("Say what the department changed."),
    "problem_resolved": N_("This problem is resolved already."),
    "not_holder": N_("The problem is held at another level of the ladder."),
    "top_level": N_("Level 4 is the top of the ladder."),
    "reason_required": N_("Say why the problem goes up."),
    "resolution_required": N_("Write the resolution."),
    "summary_required": N_("Say what the problem is."),
    "not_confirmed": N_("The action was sent but not confirmed in time. Reload the page to see whether it was taken."),
    "temporal_unavailable": N_("Part of the service does not answer right now. Try again in a moment."),
    "database_unavailable": N_("Part of the service does not answer right now. Try again in a moment."),
}
CHECK_THIS = N_("Check this.")
FIELD_MESSAGES = {
    "missing": N_("This is required."),
    "string_too_short": N_("This is required."),
    "string_pattern_mismatch": N_("Write something here, without control characters."),
    "string_too_long": N_("This is too long."),
    "literal_error": N_("Choose one of the options."),
    "union_tag_invalid": N_("Choose one of the options."),
    "int_parsing": N_("Enter a whole number."),
    "greater_than_equal": N_("The number is too small."),
    "less_than_equal": N_("The number is too large."),
}

# What a refused address or mobile number should look like (the settings page, the office's users page).
CONTACT_HELP = {
    "email": N_("Enter an e-mail address such as name@example.cn, or leave it empty."),
    "mobile": N_("Enter a mobile number of 6 to 15 digits (a + before them is allowed), or leave it empty."),
}


def refusal_message(request: Request, code: str) -> str:
    """A refusal in the caller's language."""
    message = REFUSALS.get(code, N_("This is not possible now. Reload the page and try again."))
    return caller_language(request).gettext(message)


# Input rules of a whole body (api/schemas.py, `input_refused`) that are about one field: that field.
RULE_FIELDS = {"comment_required": "comment"}


def field_errors(request: Request, err: ValidationError) -> dict[str, str]:
    """The first problem of each field, keyed by the field's name (the form's input ids)."""
    translate = caller_language(request).gettext
    found: dict[str, str] = {}
    for error in err.errors():
        if error["type"] in RULE_FIELDS:
            found.setdefault(RULE_FIELDS[error["type"]], translate(REFUSALS[error["type"]]))
            continue
        name = str(error["loc"][-1]) if error["loc"] else ""
        found.setdefault(name, translate(CONTACT_HELP.get(name) or FIELD_MESSAGES.get(error["type"], CHECK_THIS)))
    return found
