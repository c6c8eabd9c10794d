"""Idempotency-Key on every POST: a repeat with the same key and body gets the first answer.

Keys live in the database, so they survive an API restart; a repeat that races the original
waits for it. The same key with another body is refused. A claim left behind by an API that
died mid-request is taken over once it is STALE_SECONDS old, so the key is not blocked forever.
Logins are not recorded: repeating one is harmless, and no access token is ever stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import problem
from api.security import read_token
from models.tables import IdempotencyRow

WAIT_SECONDS = 30.0
POLL_SECONDS = 0.05
STALE_SECONDS = 600.0
MAX_KEY = 200
# A key is 1-200 visible ASCII characters (what a UUID, a ULID or a hash is made of).
KEY = re.compile(r"^[\x21-\x7e]{1,%d}$" % MAX_KEY)
NOT_RECORDED = frozenset({"/auth/token"})
# Response headers a replay repeats besides the body and the status.
REPLAYED_HEADERS = (b"location",)


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
        username = _caller(headers.get("authorization", ""), services.settings.secret_key)
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
        first = await self._claim(services.sessions, username, key, fingerprint)
        if first is not None:
            await first(scope, receive, send)
            return
        captured: dict[str, object] = {"status": 500, "body": b""}

        async def replay_body() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = message.get("headers", [])
            elif message["type"] == "http.response.body":
                captured["body"] = bytes(captured["body"]) + message.get("body", b"")  # type: ignore[arg-type]
            await send(message)

        try:
            await self.app(scope, replay_body, capture)
        finally:
            await self._finish(services.sessions, username, key, captured)

    async def _claim(self, sessions, username: str, key: str, fingerprint: str):  # type: ignore[no-untyped-def]
        """None when this request is the first with the key; else the response to send instead."""
        deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
        while True:
            async with sessions() as db:
                row = await db.get(IdempotencyRow, (username, key))
                if row is None:
                    db.add(
                        IdempotencyRow(
                            username=username, key=key, fingerprint=fingerprint, created_at=datetime.now(UTC)
                        )
                    )
                    try:
                        await db.commit()
                        return None
                    except IntegrityError:
                        await db.rollback()
                        continue
                if row.status_code is None and _abandoned(row):
                    # The API that claimed the key died before answering: forget its claim.
                    stale = (
                        (IdempotencyRow.username == username)  # type: ignore[arg-type]
                        & (IdempotencyRow.key == key)  # type: ignore[arg-type]
                        & (IdempotencyRow.status_code.is_(None))  # type: ignore[union-attr]
                        & (IdempotencyRow.created_at == row.created_at)  # type: ignore[arg-type]
                    )
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

    async def _finish(self, sessions, username: str, key: str, captured: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
        """Keep a final answer; forget the key after a server error so the caller can retry."""
        status = int(captured["status"])  # type: ignore[call-overload]
        async with sessions() as db:
            where = (IdempotencyRow.username == username) & (IdempotencyRow.key == key)  # type: ignore[arg-type]
            if status >= 500:
                await db.execute(delete(IdempotencyRow).where(where))
            else:
                headers = dict(captured.get("headers") or [])  # type: ignore[call-overload]
                media = headers.get(b"content-type", b"application/json").decode("latin-1")
                kept = {k.decode("latin-1"): headers[k].decode("latin-1") for k in REPLAYED_HEADERS if k in headers}
                body = bytes(captured["body"]).decode("utf-8", "replace")  # type: ignore[call-overload]
                stored = json.dumps({"media_type": media, "body": body, "headers": kept})
                await db.execute(update(IdempotencyRow).where(where).values(status_code=status, body=stored))
            await db.commit()


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests "the same": method, path and body bytes."""
    return hashlib.sha256(method.encode() + path.encode() + b"\0" + body).hexdigest()


def _stored(row: IdempotencyRow):  # type: ignore[no-untyped-def]
    from starlette.responses import Response

    saved = json.loads(row.body or "{}")
    return Response(
        content=saved.get("body", ""),
        status_code=row.status_code or 200,
        media_type=saved.get("media_type"),
        headers={**saved.get("headers", {}), "Idempotent-Replayed": "true"},
    )


def _abandoned(row: IdempotencyRow) -> bool:
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return datetime.now(UTC) - created > timedelta(seconds=STALE_SECONDS)


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
