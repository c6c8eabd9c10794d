"""Service settings: one pydantic-settings class, read once from the environment."""

from __future__ import annotations

from datetime import time
from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "change-me-dev-only-secret-0123456789abcdef"


class Settings(BaseSettings):
    """Everything configurable, with embedded-demo defaults."""

    model_config = SettingsConfigDict(env_prefix="APPROVALS_", extra="ignore")

    environment: Literal["demo", "test", "production"] = "demo"
    database_url: str = Field(default="sqlite:///.data/readmodel.db", validation_alias="DATABASE_URL")
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    task_queue: str = "approvals"
    # One working day lasts this many wall-clock seconds; 0 means the real calendar.
    workday_seconds: float = 0
    # With a compressed day: count statutory limits in whole compressed days, which close every
    # workday_seconds, so every step due on a day falls due at the same instant (docs/time.md).
    workday_whole_days: bool = False
    secret_key: str = DEFAULT_SECRET
    token_minutes: int = 480
    demo_password: str = "demo"
    seed_demo: bool = True
    region_code: str = "310115"
    # The service's address as people reach it: project-code cards, mails and gateway messages link to it
    # (`/p/{code}`); without it, a card links to each request's own address.
    public_url: str | None = Field(default=None, pattern=r"^https?://[^/\s?#]+(/[^\s?#]*)?$")
    timezone: str = "Asia/Shanghai"
    # The office's close of business, HH:MM: a period ends then on its last day (24:00: at midnight).
    office_closes: str = Field(
        default="24:00", pattern=r"^((0[1-9]|1[0-9]|2[0-3]):[0-5][0-9]|00:(0[1-9]|[1-5][0-9])|24:00)$"
    )
    # Workflows a worker keeps in memory (about 0.3 MiB each); more live projects than this
    # per worker means wake-ups replay from history. Size it to live projects per worker.
    max_cached_workflows: int = 1000
    # Workflow tasks one worker runs at once. They share one core: too many at once and, in a
    # deadline wave, each waits behind the others past its 10 s timeout and is run again.
    max_concurrent_workflow_tasks: int = Field(default=20, ge=2)
    # How long a task waits for the worker that caches its workflow before any worker takes it
    # (and replays the history); a wave's backlog should wait rather than replay.
    sticky_queue_seconds: float = Field(default=10.0, gt=0)
    # Polls a worker keeps open for workflow tasks, half on the shared queue (a new project's
    # first task, a task whose worker let its project go) and half on its own (sticky) queue.
    # The SDK's default, five with one on the shared queue, made creations queue behind that one.
    workflow_task_polls: int = Field(default=8, ge=2)
    # Run workflows in Temporal's sandbox, which re-imports the workflow module for every new or
    # evicted instance (twice the CPU of a replay). Off: the domain is pure, and the saved
    # histories replay inside the sandbox in every test run, which still catches a forbidden call.
    workflow_sandbox: bool = False
    # The API answers 503 not_confirmed when a workflow has not answered within this; a retry
    # with the same Idempotency-Key picks up the same update (docs/decisions.md).
    update_wait_seconds: float = Field(default=30.0, gt=0, le=300)
    log_json: bool = False
    log_level: str = "INFO"
    # Application materials (docs/documents.md). Stored on the file system under storage_dir
    # unless storage_url names an S3-compatible bucket (s3://bucket), shared by several APIs.
    storage_dir: str = ".data/documents"
    storage_url: str = Field(default="", pattern=r"^(s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\x00-\x1f]*)?)?$")
    s3_endpoint: str = ""
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_region: str = "us-east-1"
    max_upload_mb: float = Field(default=50, gt=0, le=1024)
    # An upload no submission used is removed after this many hours.
    unattached_document_hours: float = Field(default=24, gt=0)
    # Notices by mail (docs/notifications.md): smtp://host:port, smtps:// for TLS from the start;
    # STARTTLS when the server offers it; user:password@ in the URL to log in. None: no mail.
    smtp_url: str | None = None
    mail_from: str = "noreply@approvals.invalid"
    # Notices to the office's SMS or WeChat gateway: POSTed as JSON, signed with the secret.
    webhook_url: str | None = None
    webhook_secret: str | None = None
    # How long one mail or webhook call may take before it counts as failed and is retried.
    notify_send_timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    # The API's /metrics is open like /health unless this is set: then a scraper sends it as a bearer
    # token (docs/operations.md, docs/decisions.md).
    metrics_token: str = ""
    # host:port of the worker's /metrics (the Temporal SDK's metrics and the read model's figures);
    # empty: no metrics server, so several workers on one machine need no ports of their own.
    worker_metrics_address: str = Field(default="", pattern=r"^(\S+:[0-9]{1,5})?$")
    # How often the worker reads the figures (live projects by colour, ...) from the read model.
    worker_figures_seconds: float = Field(default=15.0, gt=0, le=3600)

    @property
    def closes(self) -> time | None:
        """The close of business as a time of day; None for 24:00 (the end of the day)."""
        return None if self.office_closes == "24:00" else time.fromisoformat(self.office_closes)

    @property
    def max_upload_bytes(self) -> int:
        """The largest file an upload may carry."""
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def link_base(self) -> str:
        """The public address links start with, without a trailing slash."""
        return (self.public_url or "http://127.0.0.1:8000").rstrip("/")

    @model_validator(mode="after")
    def _webhook_is_signed(self) -> Settings:
        if self.webhook_url and not self.webhook_secret:
            raise ValueError("APPROVALS_WEBHOOK_SECRET must be set with APPROVALS_WEBHOOK_URL: its calls are signed")
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.environment == "production":
            if self.secret_key == DEFAULT_SECRET or len(self.secret_key) < 32:
                raise ValueError("APPROVALS_SECRET_KEY must be set to a secret of 32+ characters in production")
            if self.seed_demo:
                raise ValueError("demo seeding is refused in production (set APPROVALS_SEED_DEMO=false)")
        return self


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, loaded on first use."""
    return Settings()
