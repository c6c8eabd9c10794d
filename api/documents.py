"""Application materials (申报材料): keeping an upload, finding documents for those who may see
them, and resolving the documents a submission names (docs/documents.md).

A document is a row of the read model (`documents`, written here, not by the workflow) and an
object named by its sha256 in the storage (models/storage.py). A row's object is stored before
the row is committed; `stored_objects` is the lock that keeps the clean-up from deleting an
object that a new upload of the same bytes is about to name (activities/documents.py).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import structlog
from fastapi import Request
from fastapi.responses import StreamingResponse
from sqlalchemy import bindparam, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.types import Receive, Scope, Send

from api.errors import ApiError, not_found
from api.filekinds import KINDS, judge
from api.filenames import clean_filename, content_disposition
from api.idempotency import IdempotencyMiddleware
from api.queries import owner_revocation_open
from api.schemas import STEP_KEY, DocumentOut, SubmitBody
from api.uploads import Received, invalid, receive_upload
from domain.access import Actor
from domain.project.steps import DocumentRef, Submit
from domain.status import ENDED
from models.db import insert
from models.storage import MissingObject, Storage
from models.tables import DocumentRow, ProjectRow, StepRow, StoredObjectRow
from models.visibility import visible_to

log = structlog.get_logger("approvals.api")
UPLOAD_PATH = re.compile(r"^/projects/[^/]+/documents$")
ACCEPTED = ", ".join(KINDS)


class Idempotency(IdempotencyMiddleware):
    """The API's Idempotency-Key middleware, but for uploads: it reads a whole body into memory to
    fingerprint it, and an upload may be 50 MiB. The upload route keeps its key itself (`upload`)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and UPLOAD_PATH.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def document_out(row: DocumentRow) -> DocumentOut:
    fields = row.model_dump(include=set(DocumentOut.model_fields) - {"project_code"})
    return DocumentOut(project_code=row.code, **fields)


async def upload(
    db: AsyncSession, storage: Storage, limit: int, code: str, actor: Actor, request_key: str | None, request: Request
) -> tuple[DocumentOut, bool]:
    """Keep the request's file as a document of the project; (the document, whether it is a replay)."""
    await accepting_documents(db, code)
    received = await receive_upload(request, limit)
    return await keep_upload(db, storage, code, actor, received, request_key)


async def accepting_documents(db: AsyncSession, code: str) -> None:
    """409 `project_ended` for a project that takes no more documents; no connection held afterwards."""
    status = (await db.exec(select(ProjectRow.status).where(col(ProjectRow.code) == code))).first()
    if status in ENDED:
        raise ApiError(409, "project_ended", f"project {code} is {status}: it takes no more documents")
    await db.commit()  # no connection is held while the body streams in, however slowly


async def keep_upload(
    db: AsyncSession, storage: Storage, code: str, actor: Actor, received: Received, request_key: str | None
) -> tuple[DocumentOut, bool]:
    """A received file as a document of the project (415 unless of an accepted kind); the file is closed."""
    try:
        kind = await asyncio.to_thread(judge, received.file)
        if kind is None:
            raise ApiError(415, "unsupported_document", f"the file is none of the accepted kinds ({ACCEPTED})")
        row = DocumentRow(
            id=str(uuid.uuid4()),
            code=code,
            step=await _step_of(db, code, received.step),
            filename=clean_filename(received.raw_name, kind.extension),
            content_type=kind.media_type,
            size=received.size,
            sha256=received.sha256,
            uploaded_by=actor.username,
            uploaded_at=datetime.now(UTC),
            request_key=request_key,
        )
        return await _keep(db, storage, row, received)
    finally:
        received.file.close()


async def _step_of(db: AsyncSession, code: str, step: str | None) -> str | None:
    if not step:
        return None
    if not re.fullmatch(STEP_KEY, step):
        raise invalid("step", f"String should match pattern '{STEP_KEY}'", "string_pattern_mismatch")
    found = (await db.exec(select(StepRow.key).where(col(StepRow.code) == code, col(StepRow.key) == step))).first()
    if found is None:
        raise ApiError(422, "unknown_document_step", f"project {code} has no step {step!r}")
    return step


async def _keep(db: AsyncSession, storage: Storage, row: DocumentRow, received: Received) -> tuple[DocumentOut, bool]:
    """Store the object, then commit its row; a repeated Idempotency-Key gets its first document."""
    if row.request_key is not None and (first := await _by_key(db, row.request_key)) is not None:
        return _replayed(first, row), True
    await db.commit()  # no connection is held while the bytes go to the storage
    await storage.put(row.sha256, received.file)
    objects = StoredObjectRow.__table__  # type: ignore[attr-defined]
    # Upserting the object's row locks it: the clean-up decides about this object after or before us.
    lock = insert(db, objects).values(sha256=row.sha256, size=row.size, stored_at=row.uploaded_at)
    await db.execute(lock.on_conflict_do_update(index_elements=["sha256"], set_={"size": objects.c.size}))
    db.add(row)
    try:
        await db.commit()
    except IntegrityError:
        # The same key, committed by a concurrent repeat of this request.
        await db.rollback()
        first = await _by_key(db, row.request_key or "")
        if first is None:
            raise
        return _replayed(first, row), True
    # A clean-up that held the lock before us may have removed these bytes in between.
    if not await storage.exists(row.sha256):
        await storage.put(row.sha256, received.file)
    return document_out(row), False


async def _by_key(db: AsyncSession, request_key: str) -> DocumentRow | None:
    return (await db.exec(select(DocumentRow).where(col(DocumentRow.request_key) == request_key))).first()


def _replayed(first: DocumentRow, again: DocumentRow) -> DocumentOut:
    same = (first.code, first.sha256, first.filename, first.step) == (
        again.code,
        again.sha256,
        again.filename,
        again.step,
    )
    if not same:
        raise ApiError(422, "idempotency_key_reused", "this Idempotency-Key was already used with another upload")
    return document_out(first)


async def list_documents(db: AsyncSession, code: str, step: str | None) -> list[DocumentOut]:
    """The project's documents, oldest first (only those of `step` when given)."""
    stmt = select(DocumentRow).where(col(DocumentRow.code) == code)
    if step is not None:
        stmt = stmt.where(col(DocumentRow.step) == step)
    rows = (await db.exec(stmt.order_by(col(DocumentRow.uploaded_at), col(DocumentRow.id)))).all()
    return [document_out(row) for row in rows]


async def visible_document(db: AsyncSession, actor: Actor, document_id: str) -> DocumentRow:
    """The document, if the caller may see its project; 404 otherwise, the same for both."""
    row = await db.get(DocumentRow, document_id)
    if row is not None:
        seen = select(ProjectRow.code).where(col(ProjectRow.code) == row.code, visible_to(actor))
        if (await db.exec(seen)).first() is not None:
            return row
    raise not_found(f"document {document_id}")


async def download(db: AsyncSession, storage: Storage, actor: Actor, document_id: str) -> StreamingResponse:
    """A document the caller may see, streamed as an attachment under its name (404 otherwise)."""
    row = await visible_document(db, actor, document_id)
    await db.commit()  # the connection goes back to the pool before the bytes stream out
    try:
        chunks = await storage.open(row.sha256)
    except MissingObject:
        log.error("document_bytes_missing", document_id=row.id, sha256=row.sha256)
        raise not_found(f"document {document_id}") from None
    headers = {
        "Content-Disposition": content_disposition(row.filename),
        "Content-Length": str(row.size),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",  # opened in a tab anyway: no script of it runs
        "Cache-Control": "private, no-cache",
        "ETag": f'"{row.sha256}"',
    }
    return StreamingResponse(chunks, media_type=row.content_type, headers=headers)


async def submission(db: AsyncSession, code: str, actor: Actor, step: str, body: SubmitBody) -> Submit:
    """The action a submission sends (`POST .../submit` and the pages' form): its documents
    resolved and attached (422 `unknown_document` before anything is submitted), and whether the
    owner has a revoked commitment open on another project (the rule needs it, the read model knows it)."""
    elsewhere = body.commitment and await owner_revocation_open(db, code)
    documents = await attach_documents(db, code, body.documents)
    fields = body.model_dump(exclude={"documents"})
    return Submit(step=step, actor=actor, revocation_elsewhere=elsewhere, documents=documents, **fields)


async def attach_documents(db: AsyncSession, code: str, ids: list[str]) -> list[DocumentRef]:
    """The documents a submission names, each uploaded to this project (422 `unknown_document`
    otherwise), marked attached: from now on the clean-up keeps them, whatever the submission's fate.

    One statement marks and reads them, so a document the clean-up removed a moment ago is
    unknown here rather than named by a submission.
    """
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return []
    now = datetime.now(UTC)
    table: Any = DocumentRow.__table__  # type: ignore[attr-defined]
    mark = (
        update(table)
        .where(table.c.id.in_(wanted), table.c.code == code)
        # A document keeps the instant it was first attached.
        .values(attached_at=func.coalesce(table.c.attached_at, bindparam("now", now, type_=table.c.attached_at.type)))
        .returning(table.c.id, table.c.filename, table.c.sha256)
    )
    found = {row.id: row for row in (await db.execute(mark)).all()}
    missing = [document_id for document_id in wanted if document_id not in found]
    if missing:
        await db.rollback()
        raise ApiError(422, "unknown_document", f"no document {missing[0]} was uploaded to project {code}")
    await db.commit()
    return [DocumentRef(id=i, filename=found[i].filename, sha256=found[i].sha256) for i in wanted]
