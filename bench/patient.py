"""An API client that behaves as a real one through an outage.

Every write carries an Idempotency-Key of its own; a 503, a lost connection or a 409
`request_in_progress` is retried with the same key, after the answer's Retry-After or else an
exponential backoff, until a final answer comes or `give_up_seconds` have passed.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.client import new_http

PASSWORD = "demo"  # every demo user's, as bench.stack seeds them
DOCUMENTED_503 = frozenset({"database_unavailable", "not_confirmed", "temporal_unavailable"})
BACKOFF_FIRST_S = 0.25
BACKOFF_MAX_S = 4.0


class GaveUp(RuntimeError):
    """No final answer within the client's patience."""


@dataclass
class Seen:
    """What the clients saw over the whole run."""

    statuses: Counter[int] = field(default_factory=Counter)
    unavailable: Counter[str] = field(default_factory=Counter)  # 503s by problem code
    connection_errors: int = 0
    retries: int = 0
    write_seconds: list[float] = field(default_factory=list)  # first try to final answer, retries included

    def other_5xx(self) -> int:
        """5xx answers that are not the documented 503s."""
        others = sum(n for status, n in self.statuses.items() if status >= 500 and status != 503)
        return others + sum(n for code, n in self.unavailable.items() if code not in DOCUMENTED_503)


def backoff(attempt: int) -> float:
    """Seconds before retry number `attempt` (1, 2, ...): doubling from 0.25 s up to 4 s, jittered."""
    return min(BACKOFF_FIRST_S * 2.0 ** (attempt - 1), BACKOFF_MAX_S) * random.uniform(0.5, 1.0)


def retry_after(r: httpx.Response) -> float | None:
    """The answer's Retry-After in seconds, when it gives one."""
    try:
        return float(r.headers["retry-after"])
    except (KeyError, ValueError):
        return None


def problem_code(r: httpx.Response) -> str:
    """The problem-details `code` of an error answer ('' when there is none)."""
    try:
        return str(r.json().get("code", ""))
    except ValueError:
        return ""


def retried(r: httpx.Response) -> bool:
    """Whether a real client asks again: unavailable, or the same key still being answered."""
    return r.status_code == 503 or (r.status_code == 409 and problem_code(r) == "request_in_progress")


class PatientClient:
    """One caller's connections, signing in as each demo user when first needed."""

    def __init__(self, base_url: str, seen: Seen, give_up_seconds: float) -> None:
        self.http = new_http(base_url, connections=4)
        self.seen = seen
        self.give_up_seconds = give_up_seconds
        self.tokens: dict[str, str] = {}

    async def __aenter__(self) -> PatientClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    async def read(self, user: str, path: str) -> httpx.Response:
        """GET as `user`, retried through an outage."""
        return await self._send(user, "GET", path)

    async def write(self, user: str, path: str, body: dict[str, Any]) -> httpx.Response:
        """POST as `user` under a fresh Idempotency-Key, retried with that key through an outage."""
        started = time.monotonic()
        r = await self._send(user, "POST", path, body, key=str(uuid.uuid4()))
        self.seen.write_seconds.append(time.monotonic() - started)
        return r

    async def _send(
        self, user: str, method: str, path: str, body: dict[str, Any] | None = None, key: str | None = None
    ) -> httpx.Response:
        async def request() -> httpx.Response:
            headers = {"Authorization": f"Bearer {await self._token(user)}"}
            if key is not None:
                headers["Idempotency-Key"] = key
            return await self.http.request(method, path, json=body, headers=headers)

        return await self._patiently(f"{method} {path} as {user}", request)

    async def _token(self, user: str) -> str:
        """The user's bearer token, signing in the first time (retried through an outage, too)."""
        if user not in self.tokens:
            form = {"username": user, "password": PASSWORD}
            r = await self._patiently(f"sign-in as {user}", lambda: self.http.post("/auth/token", data=form))
            if r.status_code != 200:
                raise GaveUp(f"sign-in as {user}: {r.status_code} {r.text[:200]}")
            self.tokens[user] = r.json()["access_token"]
        return self.tokens[user]

    async def _patiently(self, what: str, request: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
        """The first final answer to `request`, counting every answer and every lost connection."""
        give_up = time.monotonic() + self.give_up_seconds
        attempt = 0
        while True:
            wait: float | None = None
            try:
                r = await request()
            except httpx.TransportError:
                self.seen.connection_errors += 1
            else:
                self.seen.statuses[r.status_code] += 1
                if r.status_code == 503:
                    self.seen.unavailable[problem_code(r)] += 1
                if not retried(r):
                    return r
                wait = retry_after(r)
            attempt += 1
            if time.monotonic() > give_up:
                raise GaveUp(f"{what}: no final answer after {attempt} tries")
            self.seen.retries += 1
            await asyncio.sleep(wait if wait is not None else backoff(attempt))
