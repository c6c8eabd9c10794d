"""Typed refusals with stable machine codes, raised by domain rules and mapped to problem details."""

from __future__ import annotations


class ActionRefused(Exception):
    """An action the rules forbid: `status` 409 for the project's state, 403 for the caller's rights."""

    def __init__(self, code: str, detail: str, status: int = 409) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.status = status


def forbidden(code: str, detail: str) -> ActionRefused:
    """A refusal because of who is asking (403)."""
    return ActionRefused(code, detail, status=403)


def conflict(code: str, detail: str) -> ActionRefused:
    """A refusal because of the project's current state (409)."""
    return ActionRefused(code, detail, status=409)


def require_text(text: str, code: str, detail: str) -> None:
    """409 unless `text` says something: a reason, a resolution or an answer is never blank."""
    if not text.strip():
        raise conflict(code, detail)
