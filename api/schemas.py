"""Request and response bodies of the HTTP API, version 1. Unknown fields are refused.

The OpenAPI schema says what the API enforces: every rule a JSON Schema can state is in the
field's type (patterns, bounds, strict types, one variant per outcome); a rule it cannot state
(a check character, a category only the catalog knows, dates of the path's year) is in the
field's description, with the machine code of the 422 it gets (docs/api.md).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal, get_args

from fastapi import Query
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictFloat,
    StringConstraints,
    Tag,
    model_validator,
)

from api.errors import input_refused
from domain.catalog import DEPARTMENTS, Stage
from domain.codes import CREDIT_CHARSET, PROJECT_TYPES, PROVINCE_PREFIXES
from domain.project import StepView

# ---- free text -------------------------------------------------------------------------------

# Free text may hold tabs and line breaks but no other control character: PostgreSQL cannot
# store a NUL, and a value the read model refuses would stall the project's projection.
# (Lone surrogates such as JSON "\ud800" are already refused by pydantic as invalid strings.)
CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
# The white space stripped from both ends of free text (Unicode White_Space), less the control
# characters above. Spelled out rather than `\s`, whose meaning differs between regex engines.
BLANK = r"\t\n\r\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
STRIPPED = (
    "\t\n\x0b\x0c\r\x20\x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
)
PRINTABLE = rf"^[^{CONTROL}]*$"
# Printable, with at least one character that is not white space: what is left once stripped
# is not empty. (Blanks first, then the first other character, so no regex engine backtracks.)
NON_BLANK = rf"^[{BLANK}]*[^{CONTROL}{BLANK}][^{CONTROL}]*$"


def strip_blanks(value: str) -> str:
    """The text without the white space around it (checked by the schema as sent, stored stripped)."""
    return value.strip(STRIPPED)


# Optional free text (a note, an optional comment); `Reason`: free text that must say something.
Text = Annotated[str, StringConstraints(max_length=2000, pattern=PRINTABLE), AfterValidator(strip_blanks)]
Reason = Annotated[
    str, StringConstraints(min_length=1, max_length=2000, pattern=NON_BLANK), AfterValidator(strip_blanks)
]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NON_BLANK), AfterValidator(strip_blanks)]
DisplayName = Annotated[str, StringConstraints(max_length=200, pattern=PRINTABLE), AfterValidator(strip_blanks)]


def _whole_number(value: Any) -> Any:
    """A JSON integer: a number without fraction (2 or 2.0), never a string or a boolean."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("a whole number is required")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError("a whole number is required")
    return int(value)


# What a JSON Schema "integer" is: 2 and 2.0, but not "2" or true (which pydantic would coerce).
WholeNumber = Annotated[int, BeforeValidator(_whole_number)]

# ---- identifiers -----------------------------------------------------------------------------


def _one_of(values: Any) -> str:
    return "(?:" + "|".join(sorted(values)) + ")"


# A division code (GB/T 2260): 6 ASCII digits starting with a real province-level prefix.
REGION_CODE = rf"^{_one_of(PROVINCE_PREFIXES)}[0-9]{{4}}$"
# A project code: year 2000-2099, a region code, department, type 01-03, serial 00001-99999, and
# a check character (lower-case x is normalised). The check character is beyond a pattern.
_SERIAL = "(?:[0-9]{4}[1-9]|[0-9]{3}[1-9][0-9]|[0-9]{2}[1-9][0-9]{2}|[0-9][1-9][0-9]{3}|[1-9][0-9]{4})"
PROJECT_CODE = (
    rf"^20[0-9]{{2}}-{_one_of(PROVINCE_PREFIXES)}[0-9]{{4}}-[0-9]{{2}}-{_one_of(PROJECT_TYPES)}-{_SERIAL}[0-9Xx]$"
)
PROJECT_CODE_RULES = (
    "A project code (项目代码), YYYY-RRRRRR-DD-TT-NNNNNC: year 2000-2099, the division code of a real "
    "province, prefecture or county, supervising department, type 01 approval, 02 verification or 03 "
    "filing, serial 00001-99999, then the ISO/IEC 7064 MOD 11-2 check character of the 19 digits (a "
    "lower-case x is read as X). The pattern cannot check the check character: a code that fails it "
    "is refused with 422 `invalid_project_code`."
)
# A unified social credit code (GB 32100): 18 characters of the code set (letters of either
# case: they are upper-cased), characters 3-8 a division code. The check character is beyond it.
_CREDIT_CHAR = "[" + re.escape("".join(sorted(set(CREDIT_CHARSET + CREDIT_CHARSET.lower())))) + "]"
CREDIT_CODE = rf"^{_CREDIT_CHAR}{{2}}[0-9]{{6}}{_CREDIT_CHAR}{{10}}$"
CREDIT_CODE_RULES = (
    "A unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters of 0-9 and A-Z without "
    "I, O, Z, S, V (letters of either case; they are upper-cased), characters 3-8 a division code, the "
    "18th the check character. The pattern cannot check the check character: a code that fails it is "
    "refused with 422 `invalid_credit_code`."
)
RegionCode = Annotated[
    str, StringConstraints(pattern=REGION_CODE), Field(description="A division code (行政区划代码, GB/T 2260).")
]
CreditCode = Annotated[str, StringConstraints(pattern=CREDIT_CODE), Field(description=CREDIT_CODE_RULES)]
CatalogKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,39}$")]
STEP_KEY = r"^[a-z0-9_.]{1,60}$"
StepKey = Annotated[str, StringConstraints(pattern=STEP_KEY)]
# A document's id: a UUID, as the upload answered it.
DOCUMENT_ID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
DocumentId = Annotated[str, StringConstraints(pattern=DOCUMENT_ID)]
Department = Literal["drc", "nrp", "housing", "fire", "cad", "archives", "survey"]
if set(get_args(Department)) != set(DEPARTMENTS):  # pragma: no cover - a department added in one place only
    raise RuntimeError("api.schemas.Department must list exactly the departments of domain.catalog.DEPARTMENTS")
StageName = Literal["initiation", "engineering", "construction", "acceptance"]


class Strict(BaseModel):
    """A request body: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


# ---- projects --------------------------------------------------------------------------------


class ProjectCreate(Strict):
    name: Name
    category: CatalogKey = Field(
        description="A category key of `GET /catalog`. The office adds and changes categories at run time, "
        "so the schema gives their shape only: a key the catalog does not hold is refused with 422 "
        "`unknown_category`."
    )
    owner_credit_code: CreditCode = Field(
        description=f"{CREDIT_CODE_RULES} An owner creates projects for its own organisation only (403 "
        "`not_own_organisation`)."
    )
    region_code: RegionCode | None = Field(default=None, description="The district's own when not given.")
    investment_wan: StrictFloat = Field(gt=0, le=100_000_000, description="total investment in 万元 (10,000 yuan)")
    key_project: StrictBool = False
    phases: list[Name] | None = Field(
        default=None,
        max_length=10,
        description="Names of the construction permit's phases; only for a category with a phased permit "
        "(422 `phases_not_applicable` otherwise).",
    )
    sections: list[Name] | None = Field(
        default=None,
        max_length=30,
        description="Names of the acceptance sections; only for a category with joint acceptance (422 "
        "`sections_not_applicable` otherwise).",
    )


class WithdrawBody(Strict):
    reason: Text = ""


class ProblemCreate(Strict):
    step: StepKey | None = Field(default=None, description="A step of the project (404 `unknown_step` otherwise).")
    summary: Reason


# ---- steps -----------------------------------------------------------------------------------


class SubmitBody(Strict):
    commitment: StrictBool = Field(default=False, description="Sign a written commitment (告知承诺) instead.")
    note: Text = ""
    documents: list[DocumentId] = Field(
        default=[],
        max_length=50,
        description="Ids of documents uploaded to this project (`POST /projects/{code}/documents`); the "
        "submission's event records each one's id, file name and sha256. An id that is not a document of "
        "this project is refused with 422 `unknown_document`, and nothing is submitted.",
    )


def _comment_given(data: Any, why: str) -> Any:
    """422 `comment_required` when a comment that must say why is missing or blank."""
    comment = data.get("comment", "") if isinstance(data, dict) else None
    if isinstance(comment, str) and not strip_blanks(comment):
        raise input_refused("comment_required", why)
    return data


class ApproveDecision(Strict):
    """The step is approved; a comment is optional."""

    outcome: Literal["approve"]
    comment: Text = ""


class ReturnDecision(Strict):
    """The application goes back for correction (its clock pauses); the comment says what to correct."""

    outcome: Literal["return"]
    comment: Reason

    @model_validator(mode="before")
    @classmethod
    def _why(cls, data: Any) -> Any:
        return _comment_given(data, "a return needs a comment saying why")


class RejectDecision(Strict):
    """The application is rejected; the comment says why."""

    outcome: Literal["reject"]
    comment: Reason

    @model_validator(mode="before")
    @classmethod
    def _why(cls, data: Any) -> Any:
        return _comment_given(data, "a reject needs a comment saying why")


DecisionBody = Annotated[ApproveDecision | ReturnDecision | RejectDecision, Field(discriminator="outcome")]


class PassVerification(Strict):
    """The commitment holds: the permit stays; a comment is optional."""

    outcome: Literal["pass"]
    comment: Text = ""


class FailVerification(Strict):
    """The commitment does not hold: the permit is revoked; the comment says why."""

    outcome: Literal["fail"]
    comment: Reason

    @model_validator(mode="before")
    @classmethod
    def _why(cls, data: Any) -> Any:
        return _comment_given(data, "a failed verification needs a comment saying why")


VerificationBody = Annotated[PassVerification | FailVerification, Field(discriminator="outcome")]


class RatingBody(Strict):
    score: WholeNumber = Field(ge=1, le=5)
    comment: Text = ""


# ---- problems and rectifications -------------------------------------------------------------


class ProblemRaise(Strict):
    reason: Reason


class ProblemResolve(Strict):
    resolution: Reason


class RectificationAnswer(Strict):
    answer: Reason


class AcceptAnswer(Strict):
    """The owner accepts the department's answer; a comment is optional."""

    accept: Literal[True]
    comment: Text = ""


class RejectAnswer(Strict):
    """The owner rejects the answer: it becomes a level-2 problem; the comment says why."""

    accept: Literal[False]
    comment: Reason

    @model_validator(mode="before")
    @classmethod
    def _why(cls, data: Any) -> Any:
        return _comment_given(data, "rejecting the answer needs a comment saying why")


def _judgement(value: Any) -> str | None:
    # Only a JSON true or false picks a variant: 1 or "yes" are not booleans.
    accept = value.get("accept") if isinstance(value, dict) else getattr(value, "accept", None)
    return "accept" if accept is True else "reject" if accept is False else None


RectificationJudgement = Annotated[
    Annotated[AcceptAnswer, Tag("accept")] | Annotated[RejectAnswer, Tag("reject")],
    Discriminator(_judgement, custom_error_type="bool_type"),
]

# ---- the office: calendar, catalog, users ----------------------------------------------------


def _iso_date(value: Any) -> Any:
    """A calendar date as JSON sends it: "YYYY-MM-DD" text, nothing else."""
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError("a date is written YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
YEAR_RULE = " Every date must lie in the path's year (422 `invalid_calendar` otherwise)."


class CalendarYear(Strict):
    holidays: list[IsoDate] = Field(max_length=120, description="Days off, make-up holidays included." + YEAR_RULE)
    workdays: list[IsoDate] = Field(
        max_length=60,
        description="Make-up working days (调休上班): each a Saturday or a Sunday, and not also a holiday." + YEAR_RULE,
    )


CatalogText = Annotated[str, StringConstraints(pattern=PRINTABLE)]
WorkingDays = Annotated[int, Field(ge=1, le=120), BeforeValidator(_whole_number)]


NAMES_RULE = (
    "A name in both languages: `name_zh` and `name_en`, or `name` as '中文 English' (422 `invalid_category` without)."
)


class StepBase(Strict):
    key: CatalogKey
    name_zh: CatalogText | None = Field(default=None, description=NAMES_RULE)
    name_en: CatalogText | None = Field(default=None, description=NAMES_RULE)
    name: CatalogText | None = Field(default=None, description="Both names in one, as `GET /catalog` shows it.")
    stage: Stage
    department: Department
    limit_working_days: WorkingDays
    overdue: Literal["problem", "deemed_approval"] = "problem"
    after: list[CatalogKey] = Field(
        default=[],
        description="Keys of steps of this category that must be done first: of the same or an earlier "
        "stage, never waiting on each other (422 `invalid_category` otherwise).",
    )


NoPhases = Annotated[list[CatalogText], Field(max_length=0)]


class StandardStep(StepBase):
    """Submit, review, decide."""

    mode: Literal["standard"] = "standard"
    verify_working_days: None = None
    joint_role: None = None
    default_phases: NoPhases = []


class CommitmentStep(StepBase):
    """The owner may sign a commitment instead; the department verifies it within `verify_working_days`."""

    mode: Literal["commitment"]
    verify_working_days: WorkingDays
    joint_role: None = None
    default_phases: NoPhases = []


class PhasedStep(StepBase):
    """Issued phase by phase; `default_phases` when the owner declares none."""

    mode: Literal["phased"]
    verify_working_days: None = None
    joint_role: None = None
    default_phases: Annotated[list[CatalogText], Field(min_length=1)]


class JointStep(StepBase):
    """Joint acceptance: one survey first, then the inspections, each `after` the survey."""

    mode: Literal["joint"]
    verify_working_days: None = None
    joint_role: Literal["survey", "inspection"]
    default_phases: NoPhases = []


def _step_mode(value: Any) -> str | None:
    mode = value.get("mode", "standard") if isinstance(value, dict) else getattr(value, "mode", None)
    return mode if isinstance(mode, str) else None


CatalogStep = Annotated[
    Annotated[StandardStep, Tag("standard")]
    | Annotated[CommitmentStep, Tag("commitment")]
    | Annotated[PhasedStep, Tag("phased")]
    | Annotated[JointStep, Tag("joint")],
    Discriminator(_step_mode),
]


class CategoryBody(Strict):
    """A category as `GET /catalog` shows it; every error in it is 422 `invalid_category`."""

    key: CatalogKey = Field(description="The path's category (422 `category_key_mismatch` otherwise).")
    name_zh: CatalogText | None = Field(default=None, description=NAMES_RULE)
    name_en: CatalogText | None = Field(default=None, description=NAMES_RULE)
    name: CatalogText | None = Field(default=None, description="Both names in one, as `GET /catalog` shows it.")
    description_zh: CatalogText | None = None
    description_en: CatalogText | None = None
    description: CatalogText | None = Field(default=None, description="Both descriptions in one ('中文 English').")
    project_type: Literal["01", "02", "03"] = Field(description="GB/T 40058: 01 approval, 02 verification, 03 filing")
    steps: list[CatalogStep] = Field(
        min_length=1,
        description="Unique keys (422 `invalid_category` otherwise); a joint acceptance has exactly one survey "
        "and at least one inspection after it.",
    )
    stages: list[Stage] = Field(default=[], description="Derived from the steps, as `GET /catalog` shows it; ignored.")


Username = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.-]{2,63}$")]
Password = Annotated[str, StringConstraints(min_length=8, max_length=128)]
BINDINGS = ("department", "stage", "organisation")
EMAIL_ADDRESS = r"^(|[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24})$"
MOBILE_NUMBER = r"^(|\+?[0-9]{6,15})$"
# Where notices reach a user; empty is none (removes it, in a change).
EmailAddress = Annotated[str, StringConstraints(max_length=254, pattern=EMAIL_ADDRESS)]
MobileNumber = Annotated[str, StringConstraints(max_length=16, pattern=MOBILE_NUMBER)]


def _bound(data: Any, role: str, needs: str | None) -> Any:
    """Each role needs its own binding and takes no other (422 `binding_required`, `binding_not_allowed`)."""
    if not isinstance(data, dict):
        return data
    given = {k for k in BINDINGS if data.get(k)}
    if needs is not None and needs not in given:
        raise input_refused("binding_required", f"a {role} must be bound to a {needs}")
    extra = given - {needs}
    if extra:
        raise input_refused("binding_not_allowed", f"a {role} is not bound to {', '.join(sorted(extra))}")
    department = data.get("department")
    if isinstance(department, str) and department not in DEPARTMENTS:  # not a text: the field's type says
        raise input_refused("unknown_department", f"unknown department {department!r}")
    return data


class NewUser(Strict):
    username: Username
    password: Password
    display_name: DisplayName = ""
    email: EmailAddress = Field(default="", description="Where notices are mailed (optional).")
    mobile: MobileNumber = Field(
        default="", description="Where the office's SMS or WeChat gateway reaches the user (optional)."
    )


class NewOwner(NewUser):
    """An owner, bound to its organisation."""

    role: Literal["owner"]
    organisation: CreditCode
    department: None = None
    stage: None = None

    @model_validator(mode="before")
    @classmethod
    def _binding(cls, data: Any) -> Any:
        return _bound(data, "owner", "organisation")


class NewReviewer(NewUser):
    """A reviewer, bound to its department."""

    role: Literal["reviewer"]
    department: Department
    stage: None = None
    organisation: None = None

    @model_validator(mode="before")
    @classmethod
    def _binding(cls, data: Any) -> Any:
        return _bound(data, "reviewer", "department")


class NewSectionChief(NewUser):
    """A section chief, bound to its stage."""

    role: Literal["section_chief"]
    stage: StageName
    department: None = None
    organisation: None = None

    @model_validator(mode="before")
    @classmethod
    def _binding(cls, data: Any) -> Any:
        return _bound(data, "section_chief", "stage")


class NewUnboundUser(NewUser):
    """An agent, the office or a leader: bound to nothing."""

    role: Literal["agent", "office", "leader"]
    department: None = None
    stage: None = None
    organisation: None = None

    @model_validator(mode="before")
    @classmethod
    def _binding(cls, data: Any) -> Any:
        return _bound(data, str(data.get("role")) if isinstance(data, dict) else "user", None)


UserCreate = Annotated[NewOwner | NewReviewer | NewSectionChief | NewUnboundUser, Field(discriminator="role")]


class UserUpdate(Strict):
    active: StrictBool | None = Field(default=None, description="Deactivate (false) or reactivate (true).")
    password: Password | None = None
    display_name: DisplayName | None = None
    unlock: StrictBool = Field(default=False, description="Lift a login lock.")
    email: EmailAddress | None = Field(default=None, description="An e-mail address; empty removes it.")
    mobile: MobileNumber | None = Field(default=None, description="A mobile number; empty removes it.")


class CalendarOut(BaseModel):
    year: int
    holidays: list[date]
    workdays: list[date]
    source: str
    provisional: bool


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


# The languages of mails and gateway messages (the pages' own, web/i18n.py).
Language = Literal["zh-CN", "en"]


class Me(BaseModel):
    username: str
    display_name: str
    role: str
    department: str | None
    stage: str | None
    organisation: str | None
    email: str | None = Field(description="Where notices are mailed (none: no mail).")
    mobile: str | None = Field(
        description="Where the office's SMS or WeChat gateway reaches the user (none: no message)."
    )
    language: Language = Field(description="The language of the user's mails and gateway messages.")
    email_enabled: bool = Field(description="Whether notices are also mailed.")
    webhook_enabled: bool = Field(description="Whether notices also go to the office's SMS or WeChat gateway.")


# ---- notifications -----------------------------------------------------------------------------


class NoticeSettings(Strict):
    """What a user changes of how notices reach them; a field left out (or null) stays as it is."""

    email_enabled: StrictBool | None = Field(default=None, description="Mail notices (true) or not (false).")
    webhook_enabled: StrictBool | None = Field(
        default=None, description="Send notices to the office's SMS or WeChat gateway (true) or not (false)."
    )
    language: Language | None = Field(default=None, description="The language of mails and gateway messages.")
    email: EmailAddress | None = Field(default=None, description="An e-mail address; empty removes it.")
    mobile: MobileNumber | None = Field(default=None, description="A mobile number; empty removes it.")


class NotificationOut(BaseModel):
    id: int
    kind: str = Field(description='What happened (docs/notifications.md, "Who is told what").')
    project_code: str | None
    step: str | None
    text_zh: str
    text_en: str
    params: dict[str, Any] = Field(description="What the texts name, for pages that word the notice themselves.")
    link: str = Field(description="The page the notice is about (the project's page, or the home page).")
    created_at: datetime
    read_at: datetime | None


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    unread_count: int = Field(description="The caller's unread notifications, all pages together.")
    next_cursor: str | None


class NotificationsRead(BaseModel):
    marked: int = Field(description="How many notifications this call marked read.")
    unread_count: int


# A step as the API shows it: the domain's own view of a step.
StepOut = StepView


class StageOut(BaseModel):
    stage: str
    steps: list[StepOut]


class ProblemOut(BaseModel):
    id: str
    project_code: str
    step: str | None
    stage: str
    level: int
    status: str
    origin: str
    summary: str
    raised_by: str
    reminders: int
    opened_at: datetime
    due_at: datetime | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None


# The size of a page of a list, and where the page starts: the `next_cursor` of the page before,
# a place in the list's order (api/queries.py). Every text the pattern matches names a place.
Limit = Annotated[int, Query(ge=1, le=200, description="At most this many items.")]
TASK_CURSOR = r"^[0-9]{1,18}~[0-9A-Z-]{0,24}~[a-z0-9_.]{0,60}~[0-9A-Z-]{0,40}$"
PROBLEM_CURSOR = r"^[0-9]{1,18}~[0-9A-Z-]{1,40}$"
NEXT_PAGE = "`next_cursor` of the page before."
TaskCursor = Annotated[str | None, Query(max_length=160, pattern=TASK_CURSOR, description=NEXT_PAGE)]
ProblemCursor = Annotated[str | None, Query(max_length=80, pattern=PROBLEM_CURSOR, description=NEXT_PAGE)]


class ProblemPage(BaseModel):
    items: list[ProblemOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")


class RectificationOut(BaseModel):
    id: str
    step: str
    department: str
    status: str
    score: int
    opened_at: datetime
    due_at: datetime | None
    answer: str | None


class SectionOut(BaseModel):
    id: str
    name: str
    accepted_at: datetime | None


class ProjectSummary(BaseModel):
    code: str
    name: str
    category: str
    status: str
    colour: str
    stage: str
    owner: str
    agent: str
    key_project: bool
    created_at: datetime


class ProjectOut(ProjectSummary):
    region_code: str
    investment_wan: float
    version: int
    stages: list[StageOut]
    sections: list[SectionOut]
    open_problems: list[ProblemOut]
    rectifications: list[RectificationOut]


class ProjectPage(BaseModel):
    items: list[ProjectSummary]
    next_cursor: str | None


class EventOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    role: str
    on_behalf_of: str | None
    action: str
    step: str | None
    detail: dict[str, Any]


# What a task asks of the caller, as a machine value a page or a client can put in its own words.
TaskTodo = Literal[
    "submit",  # submit the application
    "resubmit",  # correct a returned application and resubmit it
    "apply_again",  # apply again after a rejection, or withdraw
    "reapply_standard",  # re-apply in standard mode after a revoked commitment
    "decide",  # the department decides (an inspection: passes or fails)
    "verify",  # the department verifies a granted commitment
    "answer_rectification",  # the department answers a bad rating
    "judge_answer",  # the owner judges the department's answer
    "problem",  # the holder resolves the problem or raises it
]


class TaskOut(BaseModel):
    kind: Literal["step", "verification", "rectification", "problem"]
    project_code: str
    project_name: str
    step: str | None
    step_name: str | None = Field(default=None, description="The step's name, '中文 English'.")
    id: str | None
    status: str
    deadline: datetime | None
    todo: TaskTodo = Field(description="What the task asks, as a machine value; `summary` says it in English.")
    summary: str


class TaskPage(BaseModel):
    items: list[TaskOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")


class ActionOut(BaseModel):
    project_code: str
    version: int
    step: StepOut | None = None
    created_id: str | None = None


class DocumentOut(BaseModel):
    """An uploaded document; its bytes at `GET /documents/{id}`."""

    id: str
    project_code: str
    step: str | None = Field(description="The step it was uploaded for, if the upload named one.")
    filename: str
    content_type: str = Field(description="Judged from the file's bytes, not from its name.")
    size: int = Field(description="In bytes.")
    sha256: str
    uploaded_by: str
    uploaded_at: datetime
    attached_at: datetime | None = Field(
        description="When a submission first named it. An upload never attached is removed after a while "
        "(24 hours unless configured otherwise: docs/documents.md)."
    )
