"""Documents on the pages: the download of one (/p/{code}/documents/{id}) and the upload that the
submission form's script sends, one file at a time, to show its progress (POST /p/{code}/documents).

Both are the API's own code (api/documents.py): the same visibility (the 404 page for a project
or document the caller may not see), the same limits and kinds, the same storage.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Request
from fastapi.responses import Response

from api.deps import ServicesDep, SessionDep, actor_of
from api.documents import download, visible_document
from api.errors import ApiError, not_found
from api.schemas import DOCUMENT_ID
from domain.project.steps import Submit
from web.pages import Caller, VisibleCode, acting_on, page_router
from web.render import caller_language, render
from web.uploads import keep_files, read_form, upload_refusal

router = page_router()
DocumentPath = Annotated[str, Path(pattern=DOCUMENT_ID)]


@router.get("/p/{code}/documents/{document_id}")
async def document(
    code: VisibleCode, document_id: DocumentPath, user: Caller, svc: ServicesDep, db: SessionDep
) -> Response:
    """The document's bytes, saved under its name (a document of another project: not found)."""
    actor = actor_of(user)
    if (await visible_document(db, actor, document_id)).code != code:
        raise not_found(f"document {document_id}")
    return await download(db, svc.storage, actor, document_id)


@router.post("/p/{code}/documents")
async def upload(request: Request, code: VisibleCode, user: Caller, svc: ServicesDep, db: SessionDep) -> Response:
    """One file (`file`, with `step`), kept as a document: 201 with the form's entry for it (a ticked
    box naming its id), or the refusal in the caller's language with its status (413, 415, ...)."""
    acting = await acting_on(code, user, db, Submit.gate)
    limit = svc.settings.max_upload_bytes
    lang = caller_language(request)
    try:
        form = await read_form(request, limit, ("step",), 1)
    except ApiError as err:
        return render(request, "upload_refused.html", err.status, message=upload_refusal(request, lang, err, limit))
    if not form.files:
        form.close()
        return render(request, "upload_refused.html", 422, message=lang.gettext("Choose a file first."))
    kept = await keep_files(db, svc.storage, code, acting.actor, form.text("step") or None, form)
    if kept.refusal is not None:
        refused = upload_refusal(request, lang, kept.refusal, limit)
        return render(request, "upload_refused.html", kept.refusal.status, message=refused)
    return render(request, "upload_kept.html", 201, documents=kept.documents, checked=True)
