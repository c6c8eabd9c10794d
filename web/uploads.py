"""Documents sent with the pages' forms: read the way the API reads an upload (api/uploads.py,
streamed to temporary files, 413 past the limit), kept by the same code as
`POST /projects/{code}/documents` (api/documents.py), refusals in the caller's language.

A form that carries files is read by its route, not by FastAPI, so its CSRF token is checked
here once the form is read, before anything is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from sqlmodel.ext.asyncio.session import AsyncSession

from api.documents import accepting_documents, keep_upload, list_documents
from api.errors import ApiError
from api.schemas import DocumentOut
from api.uploads import ReceivedForm, receive_form
from domain.access import Actor
from models.storage import Storage
from settings import Settings
from web.i18n import Language
from web.labels import N_
from web.refusals import refusal_message
from web.session import CSRF_FIELD, check_csrf

MAX_FILES = 10  # files in one submission form
TOO_LARGE = N_("The file is larger than %(mb)s MiB. Send a smaller file, or split it.")
NOT_ACCEPTED = N_(
    "This kind of file is not accepted: send a PDF, OFD, JPEG, PNG, TIFF, Word, Excel, DWG, DXF or ZIP file."
)
TOO_MANY = N_("Send at most %(n)d files at a time.")
INTERRUPTED = N_("The upload was interrupted. Try again.")


async def documents_context(db: AsyncSession, code: str, settings: Settings) -> dict[str, Any]:
    """What a page with the project's documents and a submission form needs: the documents (oldest
    first) and the largest file an upload may carry, in MiB."""
    return {
        "documents": await list_documents(db, code, None),
        "upload_limit_mb": f"{settings.max_upload_bytes / (1024 * 1024):g}",
        "upload_limit_bytes": settings.max_upload_bytes,
    }


async def read_form(request: Request, limit: int, texts: tuple[str, ...], max_files: int) -> ReceivedForm:
    """The form as sent: multipart with files, or an ordinary form without any; its token checked."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await receive_form(request, limit, (*texts, CSRF_FIELD), ("documents",), max_files)
    else:
        sent = await request.form()
        form = ReceivedForm([], {k: [v for v in sent.getlist(k) if isinstance(v, str)] for k in sent})
    try:
        check_csrf(request, form.text(CSRF_FIELD) or None)
    except Exception:
        form.close()
        raise
    return form


def upload_refusal(request: Request, lang: Language, err: ApiError, limit: int) -> str:
    """Why a file was not taken, in the caller's language."""
    if err.status == 413:
        return lang.gettext(TOO_LARGE) % {"mb": f"{limit / (1024 * 1024):g}"}
    if err.status == 415:
        return lang.gettext(NOT_ACCEPTED)
    if err.code == "invalid_input" and "too many files" in err.detail:
        return lang.ngettext(TOO_MANY, TOO_MANY, MAX_FILES) % {"n": MAX_FILES}
    if err.status == 400:
        return lang.gettext(INTERRUPTED)
    return refusal_message(request, err.code)


@dataclass
class Kept:
    """The documents a form's files became, and why the first refused one was not taken."""

    documents: list[DocumentOut] = field(default_factory=list)
    refusal: ApiError | None = None


async def keep_files(
    db: AsyncSession, storage: Storage, code: str, actor: Actor, step: str | None, form: ReceivedForm
) -> Kept:
    """Each file of the form as a document of the project's step, in order, until one is refused
    (the rest are dropped: a page shows the refusal and what was kept)."""
    kept = Kept()
    try:
        if form.files:
            await accepting_documents(db, code)
        for received in form.files:
            received.step = step
            document, _ = await keep_upload(db, storage, code, actor, received, None)
            kept.documents.append(document)
    except ApiError as err:
        if err.status not in (409, 413, 415, 422):
            raise
        kept.refusal = err
    finally:
        form.close()
    return kept
