"""Tables of the read model and of the service's own records (users, calendar, keys)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint, func, literal_column, text
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime


def instant(nullable: bool = True, index: bool = False) -> Any:
    """A timezone-aware timestamp column."""
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def json_column() -> Any:
    """A JSON document column."""
    return Field(default=None, sa_column=Column(JSON, nullable=True))


def trigram_index(name: str, key: Any, key_name: str) -> Index:
    """A PostgreSQL trigram index on `key` (a column, or an expression SQLAlchemy calls `key_name`),
    for LIKE '%...%' (pg_trgm)."""
    found = Index(name, key, postgresql_using="gin", postgresql_ops={key_name: "gin_trgm_ops"})
    return found.ddl_if(dialect="postgresql")


# The columns of a project a list shows besides its code (api/queries.py: SUMMARY_COLUMNS).
SUMMARY = ("name", "category", "status", "colour", "stage", "owner_org", "agent", "key_project", "created_at")


class ProjectRow(SQLModel, table=True):
    """One project as the workflow last published it; `state` is the full domain state."""

    __tablename__ = "projects"
    # A list filters on one of these and pages in code order (api/queries.py); on PostgreSQL, `q` is
    # answered by trigram indexes on lower(name) and on the code (migrations 0007 and 0010).
    __table_args__ = (
        # Each carries the list's columns on PostgreSQL, so a filtered page reads the index alone
        # and in code order (migration 0009).
        *(
            Index(f"ix_projects_{column}_code", column, "code", postgresql_include=[c for c in SUMMARY if c != column])
            for column in ("category", "status", "colour", "stage", "owner_org", "agent")
        ),
        trigram_index("ix_projects_name_trgm", func.lower(literal_column("name")), "lower_1"),
        trigram_index("ix_projects_code_trgm", "code", "code"),
        # What a list shows, in code order: a walk that filters (`q`) reads this index alone, the
        # lower-cased name included, so it is not computed row by row (migrations 0008 and 0010).
        Index(
            "ix_projects_code_summary", "code", func.lower(literal_column("name")), postgresql_include=list(SUMMARY)
        ).ddl_if(dialect="postgresql"),
    )

    code: str = Field(primary_key=True, max_length=24)
    name: str
    category: str
    status: str
    colour: str
    stage: str
    owner_org: str = Field(max_length=18)
    agent: str
    key_project: bool = False
    revocations_open: int = 0
    # Whether the workflow still runs (ended projects run on through their rating window and open items).
    live: bool = Field(default=True, index=True)
    # The latest instant a clock still counting reaches: a calendar change up to it may move a deadline.
    horizon: datetime | None = instant()
    version: int
    created_at: datetime = instant(nullable=False, index=True)
    updated_at: datetime = instant(nullable=False)
    state: dict[str, Any] = json_column()


# Where a task without a deadline sorts: after every real one.
NO_DEADLINE = datetime(9999, 12, 31, tzinfo=UTC)
# The same instant as SQL, where an index orders on it (migration 0008).
NO_DEADLINE_SQL = "'9999-12-31 00:00:00+00'::timestamptz"


def due_order_index(name: str, leading: str, step: Any) -> Index:
    """A PostgreSQL index of the open items in inbox order under `leading`: (due, code, step, id),
    where due is the deadline or NO_DEADLINE (api/queries.py cuts a page of a kind from it)."""
    due: Any = func.coalesce(literal_column("due_at"), literal_column(NO_DEADLINE_SQL))
    found = Index(name, leading, due, "code", step, "id", postgresql_where=text("status = 'open'"))
    return found.ddl_if(dialect="postgresql")


# The steps a department holds (domain/status.py: DEPARTMENT_HOLDS), as SQL for a partial index.
DEPARTMENT_HOLDS_SQL = "status IN ('in_review', 'granted')"


class StepRow(SQLModel, table=True):
    """One step instance, for inboxes and statistics."""

    __tablename__ = "steps"
    __table_args__ = (
        Index("ix_steps_department_status", "department", "status"),
        # A department's inbox in deadline order: a page is a range of this index (api/queries.py).
        Index(
            "ix_steps_department_due",
            "department",
            "inbox_due",
            "code",
            "key",
            postgresql_where=text(DEPARTMENT_HOLDS_SQL),
            sqlite_where=text(DEPARTMENT_HOLDS_SQL),
        ),
    )

    code: str = Field(primary_key=True, max_length=24)
    key: str = Field(primary_key=True)
    name: str
    stage: str
    department: str
    mode: str
    status: str
    attempt: int
    commitment: bool
    colour: str
    limit_days: int
    used_days: float
    running_since: datetime | None = instant()
    deadline: datetime | None = instant()
    verify_deadline: datetime | None = instant()
    # Where the step sorts in its holder's inbox: the verification deadline of a granted step,
    # otherwise its deadline; NO_DEADLINE without one (activities/publish.py: step_row).
    inbox_due: datetime | None = instant()
    opened_at: datetime | None = instant()
    ended_at: datetime | None = instant()
    rating: int | None = None


class ProblemRow(SQLModel, table=True):
    """A coordination problem and where it sits on the ladder."""

    __tablename__ = "problems"
    # The queues page in opening order, open problems unless asked (api/queries.py).
    __table_args__ = (
        Index("ix_problems_opened", "opened_at", "id"),
        Index("ix_problems_status_opened", "status", "opened_at", "id"),
        # The open problems a level holds, in inbox order (migration 0008).
        due_order_index("ix_problems_level_due", "level", func.coalesce(literal_column("step"), "")),
    )

    id: str = Field(primary_key=True)
    code: str = Field(index=True, max_length=24)
    step: str | None = None
    stage: str = Field(index=True)
    level: int = Field(index=True)
    status: str = Field(index=True)
    origin: str
    summary: str
    raised_by: str
    reminders: int = 0
    opened_at: datetime = instant(nullable=False)
    due_at: datetime | None = instant()
    resolved_at: datetime | None = instant()
    resolved_by: str | None = None
    resolution: str | None = None


class RectificationRow(SQLModel, table=True):
    """A department's rectification task after a bad rating."""

    __tablename__ = "rectifications"
    # A department's open rectifications, in inbox order (migration 0008).
    __table_args__ = (due_order_index("ix_rectifications_department_due", "department", "step"),)

    id: str = Field(primary_key=True)
    code: str = Field(index=True, max_length=24)
    step: str
    department: str = Field(index=True)
    status: str
    score: int
    opened_at: datetime = instant(nullable=False)
    due_at: datetime | None = instant()
    answer: str | None = None


class TotalRow(SQLModel, table=True):
    """A running total of the read model, kept by the projection (models/totals.py)."""

    __tablename__ = "totals"

    name: str = Field(primary_key=True)
    key: str = Field(primary_key=True)
    value: float = 0.0


class EventRow(SQLModel, table=True):
    """One line of a project's audit timeline; written once, never changed."""

    __tablename__ = "events"

    code: str = Field(primary_key=True, max_length=24)
    seq: int = Field(primary_key=True)
    at: datetime = instant(nullable=False)
    actor: str
    role: str
    on_behalf_of: str | None = None
    action: str
    step: str | None = None
    detail: dict[str, Any] = json_column()


class UserRow(SQLModel, table=True):
    """A person who logs in, with a role and what the role is bound to."""

    __tablename__ = "users"

    username: str = Field(primary_key=True, max_length=64)
    password_hash: str
    role: str
    display_name: str = ""
    department: str | None = None
    stage: str | None = None
    organisation: str | None = Field(default=None, index=True, max_length=18)
    active: bool = True
    failed_logins: int = 0
    locked_until: datetime | None = instant()
    tokens_valid_after: datetime | None = instant()
    # Where notices reach the user besides the pages, and in which language (docs/notifications.md).
    email: str | None = Field(default=None, max_length=254)
    mobile: str | None = Field(default=None, max_length=20)
    language: str = Field(default="zh-CN", max_length=8)
    email_enabled: bool = True
    webhook_enabled: bool = True


class CalendarYearRow(SQLModel, table=True):
    """One year's official working-day arrangement, editable by the office."""

    __tablename__ = "calendar_years"

    year: int = Field(primary_key=True)
    holidays: list[str] = json_column()
    workdays: list[str] = json_column()
    source: str
    updated_at: datetime = instant(nullable=False)
    updated_by: str


class IssuedCodeRow(SQLModel, table=True):
    """The project code issued to a creation request, so its retry reuses the code instead of a new one."""

    __tablename__ = "issued_codes"

    request_key: str = Field(primary_key=True, max_length=270)
    code: str = Field(max_length=24)
    created_at: datetime = instant(nullable=False)


class CodeSerialRow(SQLModel, table=True):
    """The last serial issued for one project-code prefix (year, region, department, type)."""

    __tablename__ = "code_serials"

    prefix: str = Field(primary_key=True, max_length=20)
    last: int


class IdempotencyRow(SQLModel, table=True):
    """The first answer to a POST with an Idempotency-Key, replayed to its repeats."""

    __tablename__ = "idempotency_keys"

    username: str = Field(primary_key=True, max_length=64)
    key: str = Field(primary_key=True, max_length=200)
    fingerprint: str
    status_code: int | None = None
    body: str | None = None
    created_at: datetime = instant(nullable=False)


class CatalogCategoryRow(SQLModel, table=True):
    """A category the office added or changed; it overrides the shipped catalog (domain/catalog.json)."""

    __tablename__ = "catalog_categories"

    key: str = Field(primary_key=True, max_length=40)
    spec: dict[str, Any] = json_column()
    updated_at: datetime = instant(nullable=False)
    updated_by: str


class DocumentRow(SQLModel, table=True):
    """An uploaded application document (申报材料); its bytes are stored once per sha256 (models/storage.py).

    Written by the API on upload, not by the workflow: a document is not project state until a
    submission names it, and then the submission's event records its id, name and sha256.
    """

    __tablename__ = "documents"
    __table_args__ = (Index("ix_documents_unattached", "attached_at", "uploaded_at"),)

    id: str = Field(primary_key=True, max_length=36)
    code: str = Field(index=True, max_length=24)
    step: str | None = Field(default=None, max_length=60)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=100)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    sha256: str = Field(index=True, max_length=64)
    uploaded_by: str = Field(max_length=64)
    uploaded_at: datetime = instant(nullable=False)
    # When a submission first named it; an upload never attached is removed after a while.
    attached_at: datetime | None = instant()
    # The uploader's Idempotency-Key: a repeated upload gets this document again.
    request_key: str | None = Field(default=None, max_length=270, unique=True)


class StoredObjectRow(SQLModel, table=True):
    """One stored object, by content: uploads and the clean-up lock this row while they decide
    whether the object stays, so an object is never deleted under a document that names it."""

    __tablename__ = "stored_objects"

    sha256: str = Field(primary_key=True, max_length=64)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    stored_at: datetime = instant(nullable=False)


class NotificationRow(SQLModel, table=True):
    """One notice for one user: written with its event, in the same transaction (the outbox).

    `origin` names what it tells of (`{code}#{seq}` for a project's event, `digest#{day}`): one row
    per origin and user, so a retried publish writes nothing twice.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("origin", "username", name="uq_notifications_origin_username"),
        Index("ix_notifications_username_id", "username", "id"),
        Index("ix_notifications_project_seq", "project_code", "event_seq"),
    )

    id: int | None = Field(default=None, primary_key=True)
    origin: str = Field(max_length=64)
    username: str = Field(max_length=64)
    kind: str = Field(max_length=40)
    project_code: str | None = Field(default=None, max_length=24)
    event_seq: int | None = None
    step: str | None = Field(default=None, max_length=60)
    params: dict[str, Any] = json_column()
    text_zh: str
    text_en: str
    created_at: datetime = instant(nullable=False)
    read_at: datetime | None = instant()


class DeliveryRow(SQLModel, table=True):
    """One notification on one channel (email or webhook), until the channel took it.

    `message_id` is the mail's Message-ID or the webhook's idempotency key: the same on every
    attempt, so a receiver that took a message whose acknowledgement was lost sees the repeat as one.
    """

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        UniqueConstraint("notification_id", "channel", name="uq_deliveries_notification_channel"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    notification_id: int = Field(foreign_key="notifications.id", ondelete="CASCADE")
    channel: str = Field(max_length=16)
    message_id: str = Field(max_length=255)
    # pending until sent; failed when the channel refused the recipient for good; skipped when the
    # user turned the channel off (or lost the address) before it went out.
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = instant(nullable=False)
    last_error: str | None = Field(default=None, max_length=500)
    sent_at: datetime | None = instant()
    created_at: datetime = instant(nullable=False)
