"""Real receivers for the notice channels, on loopback in the test process: an SMTP server
(aiosmtpd, in a thread of its own) and an HTTP server standing in for the office's gateway.

Both record everything they get, and both can misbehave on purpose: the SMTP server can hold a
mail at RCPT (a slow server), or take a mail and drop the connection before it answers (a server
that died between accepting and acknowledging); the gateway can refuse its first calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import json
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from launch.processes import HOST, free_port


@dataclass
class Mail:
    """One mail the server accepted: its envelope recipient and the message as parsed."""

    rcpt: str
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    @property
    def body(self) -> str:
        return str(self.message.get_content())


class Mailbox:
    """An SMTP server on 127.0.0.1 that keeps what it accepts.

    `hold()` makes the next sessions wait at RCPT until `release()`; `drop_next_to(address)` makes
    it take the next mail to that address and cut the connection before answering.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.mails: list[Mail] = []
        self.unacknowledged: list[Mail] = []  # taken, then the connection cut before the answer
        self.held = threading.Event()  # set: sessions wait at RCPT
        self.waiting = threading.Event()  # set once a session waits at RCPT
        self._drop_next: str | None = None
        self.controller = Controller(self, hostname=HOST, port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://{HOST}:{self.port}"

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.release()
        self.controller.stop()

    def hold(self) -> None:
        self.waiting.clear()
        self.held.set()

    def release(self) -> None:
        self.held.clear()

    def drop_next_to(self, address: str) -> None:
        self._drop_next = address

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.mails if m.rcpt == address]

    # ---- aiosmtpd's handler hooks (run on the server's own thread and loop) ----

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        while self.held.is_set():
            self.waiting.set()
            await asyncio.sleep(0.05)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        mails = [Mail(rcpt, message) for rcpt in envelope.rcpt_tos]
        if self._drop_next in envelope.rcpt_tos:
            self._drop_next = None
            self.unacknowledged += mails
            assert isinstance(server.transport, asyncio.Transport)
            server.transport.abort()  # taken, but the client never hears so
            return "250 OK"
        self.mails += mails
        return "250 Message accepted for delivery"


@dataclass
class Call:
    """One call the gateway got, whatever it answered."""

    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def payload(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.body)
        return found


@dataclass
class Gateway:
    """The office's SMS or WeChat gateway: an HTTP server that answers 500 to the first calls of a
    message as `refusals` says (by idempotency key), then 200. It listens only while `serve()`
    runs: before that, connections are refused."""

    port: int = field(default_factory=free_port)
    refusals: dict[str, int] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/notify"

    def calls_for(self, key: str) -> list[Call]:
        return [c for c in self.calls if c.headers.get("idempotency-key") == key]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        key = headers.get("idempotency-key", "")
        status = 500 if self.refusals.get(key, 0) > 0 else 200
        self.refusals[key] = self.refusals.get(key, 0) - 1
        self.calls.append(Call(headers, body, status))
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok" if status == 200 else b"try again"})

    @contextlib.asynccontextmanager
    async def serve(self) -> AsyncIterator[None]:
        """Listen on the gateway's port until the block ends."""
        server = uvicorn.Server(uvicorn.Config(self, host=HOST, port=self.port, log_level="warning", lifespan="off"))
        serving = asyncio.create_task(server.serve())
        while not server.started:
            assert not serving.done(), "the gateway stopped before it started"
            await asyncio.sleep(0.02)
        try:
            yield
        finally:
            server.should_exit = True
            await serving
