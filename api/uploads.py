"""Reading an upload: the multipart body is parsed as it streams in, the file hashed and counted on
the way to a temporary file, and refused with 413 the moment it passes the limit.

Memory stays flat whatever the file's size: a chunk at a time is in memory, the rest on disk
(a spooled temporary file that moves to disk past CHUNK). The parts of an API upload are those of
its schema: one `file`, an optional `step`; anything else is refused. A page's submission form
(web/routes/uploads.py) is read the same way, with its own text fields and several files.
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
MAX_TEXT_BYTES = 16 * 1024  # any other text field of a form: a note of 2,000 characters fits


@dataclass
class Received:
    """The file of an upload, on disk, with what was learnt while it streamed in."""

    file: IO[bytes]
    raw_name: str
    size: int
    sha256: str
    step: str | None


@dataclass
class ReceivedForm:
    """A form's files (each as an upload, without a step) and its text fields (each name's values)."""

    files: list[Received]
    fields: dict[str, list[str]]

    def close(self) -> None:
        for received in self.files:
            received.file.close()

    def text(self, name: str) -> str:
        values = self.fields.get(name)
        return values[-1] if values else ""


def too_large(limit: int) -> ApiError:
    megabytes = limit / (1024 * 1024)
    return ApiError(413, "document_too_large", f"a document may be at most {megabytes:g} MiB")


def invalid(field_name: str, message: str, kind: str = "value_error") -> ApiError:
    """422 in the shape of a schema violation: the field, what is wrong with it."""
    errors = [{"loc": ["body", field_name], "msg": message, "type": kind}]
    return ApiError(422, "invalid_input", f"body.{field_name}: {message}", errors=errors)


@dataclass
class _File:
    raw_name: str
    # Closed by whoever takes the upload (api/documents.py), or here when reading it fails.
    file: IO[bytes] = field(default_factory=lambda: tempfile.SpooledTemporaryFile(max_size=CHUNK))  # noqa: SIM115
    hasher: Any = field(default_factory=hashlib.sha256)
    size: int = 0

    def received(self, step: str | None = None) -> Received:
        return Received(self.file, self.raw_name, self.size, self.hasher.hexdigest(), step)


@dataclass
class _Parts:
    """python-multipart callbacks: route each part's bytes to its file or its text field.

    `texts` are the text fields taken (an API upload: `step`), each once unless `repeated`; at most
    `max_files` files, all in the field `file`."""

    limit: int
    texts: tuple[str, ...] = ("step",)
    repeated: tuple[str, ...] = ()
    max_files: int = 1
    files: list[_File] = field(default_factory=list)
    values: dict[str, list[bytearray]] = field(default_factory=dict)
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

    def close(self) -> None:
        for part in self.files:
            part.file.close()

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
            if len(self.files) >= self.max_files:
                raise invalid("file", "one file per upload" if self.max_files == 1 else "too many files", "too_long")
            self.files.append(_File(decode_header_name(options[b"filename"])))
            self._target = "file"
        elif name in self.texts and b"filename" not in options and (name in self.repeated or name not in self.values):
            self.values.setdefault(name, []).append(bytearray())
            self._target = name
        elif name == "file" or name in self.texts:
            raise invalid(name, "file must be a file, step a text field, each given once")
        else:
            raise invalid(name or "?", "unknown field: an upload has `file` and, optionally, `step`", "extra_forbidden")

    def _data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._target == "file":
            part = self.files[-1]
            part.size += len(chunk)
            if part.size > self.limit:
                raise too_large(self.limit)
            part.hasher.update(chunk)
            # A write to a temporary file lands in the page cache: no need to leave the event loop.
            part.file.write(chunk)
        elif self._target:
            value = self.values[self._target][-1]
            value += chunk
            if self._target == "step" and len(value) > MAX_STEP_BYTES:
                raise invalid("step", "a step key is at most 60 characters", "string_too_long")
            if len(value) > MAX_TEXT_BYTES:
                raise invalid(self._target, "too long", "string_too_long")

    def text(self, name: str) -> str | None:
        values = self.values.get(name)
        return values[-1].decode("utf-8", "replace") if values else None


async def _read(request: Request, parts: _Parts, body_limit: int) -> None:
    """Feed the body to `parts` as it arrives (413 past `body_limit`); the files closed on failure."""
    media, options = parse_options_header(request.headers.get("content-type", ""))
    if media != b"multipart/form-data":
        raise ApiError(415, "unsupported_media_type", "send the document as multipart/form-data, in a field `file`")
    boundary = options.get(b"boundary")
    if not boundary:
        raise ApiError(400, "bad_request", "the multipart body has no boundary")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > body_limit:
        raise too_large(parts.limit)
    parser = MultipartParser(boundary, parts.callbacks())  # type: ignore[arg-type]
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > body_limit:
                raise too_large(parts.limit)
            parser.write(chunk)
        parser.finalize()
        if parser.state != MultipartState.END:
            raise MultipartParseError("the body ends before its closing boundary")
    except BaseException as err:
        parts.close()
        if isinstance(err, MultipartParseError):
            raise ApiError(400, "bad_request", "the multipart body could not be read") from None
        if isinstance(err, ClientDisconnect):
            log.info("upload_interrupted", received_bytes=received)
            raise ApiError(400, "bad_request", "the upload was interrupted before its end") from None
        raise


async def receive_upload(request: Request, limit: int) -> Received:
    """The upload's file and `step`, read from the body as it arrives (413 past `limit`)."""
    parts = _Parts(limit)
    await _read(request, parts, limit + ENVELOPE)
    if not parts.files:
        raise invalid("file", "Field required", "missing")
    return parts.files[0].received(parts.text("step"))


async def receive_form(
    request: Request, limit: int, texts: tuple[str, ...], repeated: tuple[str, ...], max_files: int
) -> ReceivedForm:
    """A page's multipart form: its text fields and up to `max_files` files of at most `limit` each.
    A file field left empty (no file chosen: no name, no bytes) is no file."""
    parts = _Parts(limit, texts, repeated, max_files)
    await _read(request, parts, max_files * limit + ENVELOPE)
    chosen = []
    for part in parts.files:
        if part.raw_name or part.size:
            chosen.append(part)
        else:
            part.file.close()
    fields = {name: [v.decode("utf-8", "replace") for v in values] for name, values in parts.values.items()}
    return ReceivedForm([part.received() for part in chosen], fields)
