"""The two channels a notice leaves the service by: a mail over SMTP, and a signed call to the
office's SMS or WeChat gateway (docs/notifications.md, "Channels").

Each sender takes one due delivery and either returns (the channel took it) or raises: `Refused`
when the channel refused this message for good, anything else when it may take it later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib
import httpx

from domain.notice_texts import headline
from models.deliveries import Outgoing
from models.notification_store import EMAIL, WEBHOOK

SIGNATURE_HEADER = "X-Approvals-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"


class Refused(Exception):
    """The channel refused this message for good (an unknown recipient): retrying will not help."""


class Sender(Protocol):
    async def send(self, message: Outgoing) -> None: ...


def language_of(message: Outgoing) -> str:
    return message.user.language or "zh-CN"


def text_of(message: Outgoing) -> str:
    return message.text_zh if language_of(message).startswith("zh") else message.text_en


def link_of(message: Outgoing, base: str) -> str:
    """The project's page, or the home page for a notice about no one project."""
    return f"{base}/p/{message.project_code}" if message.project_code else f"{base}/"


# ---- mail ----------------------------------------------------------------------------------------

GREETING = {"zh": "{name}，您好：", "en": "Dear {name},"}
OPEN = {"zh": "查看项目：{link}", "en": "Open the project: {link}"}
OPEN_HOME = {"zh": "打开系统：{link}", "en": "Open the service: {link}"}
FOOTER = {
    "zh": "此邮件由投资项目审批代办系统自动发送，请勿直接回复。如不需要邮件提醒，可在个人设置中关闭。",
    "en": "Sent by the investment-project approvals service; please do not reply. "
    "You can turn these e-mails off in your settings.",
}


@dataclass(frozen=True)
class SmtpTarget:
    """Where mail goes, from `APPROVALS_SMTP_URL`: smtp://[user:password@]host[:port], or smtps://."""

    host: str
    port: int
    implicit_tls: bool
    username: str | None
    password: str | None

    @classmethod
    def from_url(cls, url: str) -> SmtpTarget:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"APPROVALS_SMTP_URL must be smtp://host:port or smtps://host:port, not {url!r}")
        implicit = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if implicit else 25),
            implicit_tls=implicit,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


def mail_of(message: Outgoing, sender: str, base: str) -> EmailMessage:
    """The mail for one delivery, in the reader's language, with the delivery's own Message-ID."""
    lang = "zh" if language_of(message).startswith("zh") else "en"
    link = link_of(message, base)
    opening = (OPEN if message.project_code else OPEN_HOME)[lang].format(link=link)
    name = message.user.display_name or message.user.username
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = message.user.email or ""
    mail["Subject"] = headline(message.kind, message.params, language_of(message))
    mail["Date"] = formatdate(usegmt=True)
    mail["Message-ID"] = message_id(message, sender)
    mail["Content-Language"] = language_of(message)
    mail.set_content("\n\n".join([GREETING[lang].format(name=name), text_of(message), opening, FOOTER[lang]]) + "\n")
    return mail


def message_id(message: Outgoing, sender: str) -> str:
    """The delivery's Message-ID, the same on every attempt: its stored id at the sender's domain."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "approvals.invalid"
    return f"<{message.message_id}@{domain}>"


class MailSender:
    """Sends one mail per delivery over SMTP (STARTTLS when offered, login when the URL has a user)."""

    def __init__(self, url: str, sender: str, base: str, timeout: float) -> None:
        self.target = SmtpTarget.from_url(url)
        self.sender = sender
        self.base = base
        self.timeout = timeout

    async def send(self, message: Outgoing) -> None:
        target = self.target
        try:
            await aiosmtplib.send(
                mail_of(message, self.sender, self.base),
                hostname=target.host,
                port=target.port,
                username=target.username,
                password=target.password,
                use_tls=target.implicit_tls,
                start_tls=False if target.implicit_tls else None,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as refused:
            raise Refused(f"recipient refused: {refused.recipients}") from None


# ---- the gateway's webhook -----------------------------------------------------------------------


def webhook_body(message: Outgoing, base: str) -> bytes:
    """The JSON the gateway gets: who, where to, what, and the link; UTF-8, keys sorted."""
    payload: dict[str, Any] = {
        "message_id": message.message_id,
        "recipient": message.user.username,
        "mobile": message.user.mobile,
        "language": language_of(message),
        "kind": message.kind,
        "title": headline(message.kind, message.params, language_of(message)),
        "text": text_of(message),
        "project_code": message.project_code,
        "link": link_of(message, base),
    }
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def signature(body: bytes, secret: str) -> str:
    """`sha256=` and the hex HMAC-SHA256 of the body with the shared secret."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class WebhookSender:
    """POSTs one signed JSON message per delivery; any 2xx answer means the gateway took it."""

    def __init__(self, url: str, secret: str, base: str, timeout: float) -> None:
        self.url = url
        self.secret = secret
        self.base = base
        self.client = httpx.AsyncClient(timeout=timeout)

    async def send(self, message: Outgoing) -> None:
        body = webhook_body(message, self.base)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            SIGNATURE_HEADER: signature(body, self.secret),
            IDEMPOTENCY_HEADER: message.message_id,
        }
        answer = await self.client.post(self.url, content=body, headers=headers)
        if not answer.is_success:
            raise RuntimeError(f"the gateway answered HTTP {answer.status_code}")


def senders(
    smtp_url: str | None,
    mail_from: str,
    webhook_url: str | None,
    webhook_secret: str | None,
    base: str,
    timeout: float,
) -> dict[str, Sender]:
    """The channels the settings configure, by name."""
    found: dict[str, Sender] = {}
    if smtp_url:
        found[EMAIL] = MailSender(smtp_url, mail_from, base, timeout)
    if webhook_url and webhook_secret:
        found[WEBHOOK] = WebhookSender(webhook_url, webhook_secret, base, timeout)
    return found
