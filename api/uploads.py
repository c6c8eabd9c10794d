"""Reading an upload: the multipart body is parsed as it streams in, the file hashed and counted on
the way to a temporary file, and refused with 413 the moment it passes the limit.

Memory stays flat whatever the file's size: a chunk at a time is in memory, the rest on disk
(a spooled temporary file that moves to disk past CHUNK). The parts are those of the schema:
one `file`, an optional `step`; anything else is refused.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from typing import IO, Any

import structlog
from fastapi import Request
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header
from starlette.requests import ClientDisconnect

from api.errors import ApiError
from api.filenames import decode_header_name

log = structlog.get_logger("approvals.api")
CHUNK = 1024 * 1024
# Room for the boundaries, the part headers and the `step` field around the file itself.
ENVELOPE = 64 * 1024
MAX_STEP_BYTES = 60


@dataclass
class Received:
    """The file of an upload, on disk, with what was learnt while it streamed in."""

    file: IO[bytes]
    raw_name: str
    size: int
    sha256: str
    step: str | None


def too_large(limit: int) -> ApiError:
    megabytes = limit / (1024 * 1024)
    return ApiError(413, "document_too_large", f"a document may be at most {megabytes:g} MiB")


def invalid(field_name: str, message: str, kind: str = "value_error") -> ApiError:
    """422 in the shape of a schema violation: the field, what is wrong with it."""
    errors = [{"loc": ["body", field_name], "msg": message, "type": kind}]
    return ApiError(422, "invalid_input", f"body.{field_name}: {message}", errors=errors)


@dataclass
class _Parts:
    """python-multipart callbacks: route each part's bytes to the file or the `step` field."""

    limit: int
    # Closed by whoever takes the upload (api/documents.py), or here when reading it fails.
    file: IO[bytes] = field(default_factory=lambda: tempfile.SpooledTemporaryFile(max_size=CHUNK))  # noqa: SIM115
    hasher: Any = field(default_factory=hashlib.sha256)
    size: int = 0
    raw_name: str | None = None
    step: bytearray | None = None
    _headers: dict[bytes, bytes] = field(default_factory=dict)
    _name: bytes = b""
    _value: bytes = b""
    _target: str = ""

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._begin,
            "on_header_field": lambda data, start, end: self._grow("_name", data[start:end]),
            "on_header_value": lambda data, start, end: self._grow("_value", data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
        }

    def _grow(self, attribute: str, data: bytes) -> None:
        setattr(self, attribute, getattr(self, attribute) + bytes(data))

    def _begin(self) -> None:
        self._headers, self._target = {}, ""

    def _header_end(self) -> None:
        self._headers[self._name.lower()] = self._value
        self._name = self._value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("latin-1")
        if name == "file" and b"filename" in options:
            if self.raw_name is not None:
                raise invalid("file", "one file per upload", "too_long")
            self.raw_name, self._target = decode_header_name(options[b"filename"]), "file"
        elif name == "step" and b"filename" not in options and self.step is None:
            self.step, self._target = bytearray(), "step"
        elif name in ("file", "step"):
            raise invalid(name, "file must be a file, step a text field, each given once")
        else:
            raise invalid(name or "?", "unknown field: an upload has `file` and, optionally, `step`", "extra_forbidden")

    def _data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._target == "file":
            self.size += len(chunk)
            if self.size > self.limit:
                raise too_large(self.limit)
            self.hasher.update(chunk)
            # A write to a temporary file lands in the page cache: no need to leave the event loop.
            self.file.write(chunk)
        elif self.step is not None:
            self.step += chunk
            if len(self.step) > MAX_STEP_BYTES:
                raise invalid("step", "a step key is at most 60 characters", "string_too_long")


async def receive_upload(request: Request, limit: int) -> Received:
    """The upload's file and `step`, read from the body as it arrives (413 past `limit`)."""
    media, options = parse_options_header(request.headers.get("content-type", ""))
    if media != b"multipart/form-data":
        raise ApiError(415, "unsupported_media_type", "send the document as multipart/form-data, in a field `file`")
    boundary = options.get(b"boundary")
    if not boundary:
        raise ApiError(400, "bad_request", "the multipart body has no boundary")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + ENVELOPE:
        raise too_large(limit)
    parts = _Parts(limit)
    parser = MultipartParser(boundary, parts.callbacks())  # type: ignore[arg-type]
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit + ENVELOPE:
                raise too_large(limit)
            parser.write(chunk)
        parser.finalize()
        if parser.state != MultipartState.END:
            raise MultipartParseError("the body ends before its closing boundary")
    except BaseException as err:
        parts.file.close()
        if isinstance(err, MultipartParseError):
            raise ApiError(400, "bad_request", "the multipart body could not be read") from None
        if isinstance(err, ClientDisconnect):
            log.info("upload_interrupted", received_bytes=received)
            raise ApiError(400, "bad_request", "the upload was interrupted before its end") from None
        raise
    if parts.raw_name is None:
        parts.file.close()
        raise invalid("file", "Field required", "missing")
    step = parts.step.decode("utf-8", "replace") if parts.step else None
    return Received(parts.file, parts.raw_name, parts.size, parts.hasher.hexdigest(), step)
