"""Idempotency-Key on every POST: a repeat with the same key and body gets the first answer.

Keys live in the database, so they survive an API restart; a repeat that races the original
waits for it. The same key with another body is refused. A claim left behind by an API that
died mid-request is taken over once it is older than any live request can be (the update wait
plus CLAIM_MARGIN_SECONDS), so the key is not blocked for long. Taking over is safe even if the
first request still runs: both send the same Temporal update id, which acts once.
Logins are not recorded: repeating one is harmless, and no access token is ever stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import ColumnElement, delete, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import DATABASE_DOWN, database_unavailable, problem
from api.security import read_token
from models.db import insert
from models.tables import IdempotencyRow

WAIT_SECONDS = 30.0
POLL_SECONDS = 0.05
CLAIM_MARGIN_SECONDS = 10.0  # room for the database work around the update
MAX_KEY = 200
# A key is 1-200 visible ASCII characters (what a UUID, a ULID or a hash is made of).
KEY = re.compile(rf"^[\x21-\x7e]{{1,{MAX_KEY}}}$")
NOT_RECORDED = frozenset({"/auth/token"})
# Response headers a replay repeats besides the body and the status.
REPLAYED_HEADERS = (b"location",)
Sessions = async_sessionmaker[AsyncSession]
log = structlog.get_logger("approvals.api")


@dataclass
class Captured:
    """The answer as it went out to the first caller."""

    status: int = 500
    headers: dict[bytes, bytes] = field(default_factory=dict)
    body: bytes = b""


class IdempotencyMiddleware:
    """ASGI middleware: records the first answer to each (caller, key) and replays it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] in NOT_RECORDED:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        key = headers.get("idempotency-key")
        services = scope["app"].state.services
        # Every statement here stands alone, so each commits on its own (no BEGIN, no COMMIT):
        # the claim is one round trip before the request runs (models/db.py, reader_factory).
        sessions = services.readers or services.sessions
        # No key, nothing to record: the token is read (again) only for a request that has one.
        username = _caller(headers.get("authorization", ""), services.settings.secret_key) if key else None
        if not key or username is None:
            await self.app(scope, receive, send)
            return
        if not KEY.match(key):
            await problem(
                422, "invalid_idempotency_key", f"Idempotency-Key must be 1 to {MAX_KEY} visible ASCII characters"
            )(scope, receive, send)
            return
        body = await _read_body(receive)
        fingerprint = request_fingerprint(scope["method"], scope["path"], body)
        stale_after = timedelta(seconds=services.settings.update_wait_seconds + CLAIM_MARGIN_SECONDS)
        try:
            first = await self._claim(sessions, username, key, fingerprint, stale_after)
        except DATABASE_DOWN:
            await database_unavailable()(scope, receive, send)
            return
        if first is not None:
            await first(scope, receive, send)
            return
        captured = Captured()

        async def replay_body() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured.status = int(message["status"])
                captured.headers = {bytes(k).lower(): bytes(v) for k, v in message.get("headers", [])}
            elif message["type"] == "http.response.body":
                captured.body += bytes(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_body, capture)
        finally:
            try:
                await self._finish(sessions, username, key, captured)
            except DATABASE_DOWN:
                # The answer has gone out; the unfinished claim is taken over once it is stale.
                log.warning("idempotency_not_recorded", key_owner=username, status=captured.status)

    async def _claim(
        self, sessions: Sessions, username: str, key: str, fingerprint: str, stale_after: timedelta
    ) -> Response | None:
        """None when this request is the first with the key; else the response to send instead."""
        deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
        while True:
            async with sessions() as db:
                # The first request with a key (the usual case) claims it in one statement.
                if await _claimed(db, username, key, fingerprint):
                    return None
                row = await db.get(IdempotencyRow, (username, key))
                if row is None:  # the claim was forgotten meanwhile (a 5xx answer): try again
                    continue
                if row.status_code is None and _abandoned(row, stale_after):
                    # The API that claimed the key died before answering: forget its claim.
                    stale = _where(username, key) & col(IdempotencyRow.status_code).is_(None)
                    stale = stale & (col(IdempotencyRow.created_at) == row.created_at)
                    await db.execute(delete(IdempotencyRow).where(stale))
                    await db.commit()
                    continue
                if row.fingerprint != fingerprint:
                    return problem(
                        422, "idempotency_key_reused", "this Idempotency-Key was already used with another request"
                    )
                if row.status_code is not None:
                    return _stored(row)
            if asyncio.get_running_loop().time() > deadline:
                return problem(409, "request_in_progress", "a request with this Idempotency-Key is still in progress")
            await asyncio.sleep(POLL_SECONDS)

    async def _finish(self, sessions: Sessions, username: str, key: str, captured: Captured) -> None:
        """Keep a final answer; forget the key after a server error so the caller can retry."""
        async with sessions() as db:
            where = _where(username, key)
            if captured.status >= 500:
                await db.execute(delete(IdempotencyRow).where(where))
            else:
                media = captured.headers.get(b"content-type", b"application/json").decode("latin-1")
                kept = {
                    name.decode("latin-1"): captured.headers[name].decode("latin-1")
                    for name in REPLAYED_HEADERS
                    if name in captured.headers
                }
                body = captured.body.decode("utf-8", "replace")
                stored = json.dumps({"media_type": media, "body": body, "headers": kept})
                await db.execute(update(IdempotencyRow).where(where).values(status_code=captured.status, body=stored))
            await db.commit()


async def _claimed(db: AsyncSession, username: str, key: str, fingerprint: str) -> bool:
    """Insert the claim unless the key is taken; whether this request took it."""
    table = IdempotencyRow.__table__  # type: ignore[attr-defined]
    values = {"username": username, "key": key, "fingerprint": fingerprint, "created_at": datetime.now(UTC)}
    claim = insert(db, table).values(values).on_conflict_do_nothing(index_elements=["username", "key"])
    taken = (await db.execute(claim.returning(table.c.key))).first() is not None
    await db.commit()
    return taken


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests "the same": method, path and body bytes."""
    return hashlib.sha256(method.encode() + path.encode() + b"\0" + body).hexdigest()


def _where(username: str, key: str) -> ColumnElement[bool]:
    return (col(IdempotencyRow.username) == username) & (col(IdempotencyRow.key) == key)


def _stored(row: IdempotencyRow) -> Response:
    saved = json.loads(row.body or "{}")
    return Response(
        content=saved.get("body", ""),
        status_code=row.status_code or 200,
        media_type=saved.get("media_type"),
        headers={**saved.get("headers", {}), "Idempotent-Replayed": "true"},
    )


def _abandoned(row: IdempotencyRow, stale_after: timedelta) -> bool:
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return datetime.now(UTC) - created > stale_after


def _caller(authorization: str, secret: str) -> str | None:
    scheme, _, token = authorization.partition(" ")
    return read_token(token, secret) if scheme.lower() == "bearer" and token else None


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)
