"""Structured logging: structlog for our code, the standard library routed through it.

Secrets never reach a log line: values under secret-sounding keys are replaced at any depth,
and bearer tokens or anything shaped like a JWT are scrubbed from the rendered line itself,
tracebacks included. Tracebacks are plain text without local variables, which could hold a
password or a token.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import structlog

# Values of these keys never reach a log line, whatever logged them.
SECRET_KEYS = re.compile(r"pass(word)?|secret|token|authorization|cookie|credential", re.IGNORECASE)
BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
REDACTED = "[redacted]"


def scrub(text: str) -> str:
    """The text with bearer tokens and JWT-shaped strings replaced."""
    return JWT.sub(REDACTED, BEARER.sub(r"\1" + REDACTED, text))


def _clean(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if depth > 5:
        return value
    if isinstance(value, dict):
        return {k: REDACTED if _secret(k) else _clean(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_clean(v, depth + 1) for v in value)
    return value


def _secret(key: Any) -> bool:
    return isinstance(key, str) and key != "event" and SECRET_KEYS.search(key) is not None


def _redact(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    for key in list(event):
        if key.startswith("_"):  # structlog's own bookkeeping (the log record)
            continue
        event[key] = REDACTED if _secret(key) else _clean(event[key])
    return event


def _scrubbed(renderer: Callable[..., Any]) -> Callable[..., Any]:
    """A renderer whose output is scrubbed of tokens as a last line of defence."""

    def render(logger: Any, name: str, event: dict[str, Any]) -> Any:
        rendered = renderer(logger, name, event)
        return scrub(rendered) if isinstance(rendered, str) else rendered

    return render


def configure_logging(json: bool = False, level: str = "INFO") -> None:
    """Set up structlog once per process; JSON lines in production, readable lines otherwise."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    renderer: Any
    final: list[Any] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if json:
        # Tracebacks as plain text (no locals) inside the JSON line.
        final.append(structlog.processors.format_exc_info)
        renderer = structlog.processors.JSONRenderer(ensure_ascii=False)
    else:
        # Not the rich traceback formatter: it prints every local variable of every frame.
        renderer = structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=[*final, _scrubbed(renderer)])
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Quiet even at DEBUG: the database drivers log every statement with its parameters, which
    # hold password hashes, whatever was typed as a username and the read model's personal data.
    for noisy in ("httpx", "httpcore", "uvicorn.access", "aiosqlite", "sqlalchemy.engine", "psycopg"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
