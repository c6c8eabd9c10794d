"""Uploading documents over HTTP with multipart bodies written byte by byte, so a test decides exactly
which file name bytes reach the server (raw UTF-8, GB 18030, control characters)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx

from settings import Settings
from tests.conftest import Api


def multipart(
    filename: str | bytes, content: bytes, step: str | None = None, field: str = "file"
) -> tuple[bytes, dict[str, str]]:
    """A multipart/form-data body with the file (and `step`); its Content-Type header."""
    boundary = uuid.uuid4().hex
    raw_name = filename.encode() if isinstance(filename, str) else filename
    body = bytearray()
    if step is not None:
        body += f'--{boundary}\r\nContent-Disposition: form-data; name="step"\r\n\r\n{step}\r\n'.encode()
    body += f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="'.encode()
    body += raw_name + b'"\r\nContent-Type: application/octet-stream\r\n\r\n' + content + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return bytes(body), {"Content-Type": f"multipart/form-data; boundary={boundary}"}


async def upload(
    api: Api,
    code: str,
    user: str,
    filename: str | bytes,
    content: bytes,
    step: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    body, sent = multipart(filename, content, step)
    return await api.call(
        "POST", f"/projects/{code}/documents", user, content=body, headers={**sent, **(headers or {})}
    )


async def uploaded(api: Api, code: str, user: str, filename: str | bytes, content: bytes, **kw: Any) -> dict[str, Any]:
    """The document of a successful upload."""
    r = await upload(api, code, user, filename, content, **kw)
    assert r.status_code == 201, r.text
    document: dict[str, Any] = r.json()
    return document


def saved_name(content_disposition: str) -> tuple[str, str]:
    """(the ASCII `filename`, the decoded `filename*`) of a Content-Disposition header."""
    fallback = re.search(r'filename="([^"]*)"', content_disposition)
    exact = re.search(r"filename\*=UTF-8''([^;\s]+)", content_disposition)
    assert content_disposition.startswith("attachment;"), content_disposition
    assert fallback and exact, content_disposition
    return fallback.group(1), unquote(exact.group(1), encoding="utf-8", errors="strict")


def stored_files(settings: Settings, sha256: str) -> list[Path]:
    """The files of the file-system storage that hold these bytes."""
    return list(Path(settings.storage_dir).rglob(sha256))
