"""Application materials (申报材料): upload to a project, list a project's documents, download one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from api.deps import Acting, CodePath, ServicesDep, SessionDep, UserDep, actor_of, on_project
from api.documents import download, list_documents, upload
from api.errors import refusals
from api.filekinds import MEDIA_TYPES
from api.queries import visible_project
from api.schemas import DOCUMENT_ID, STEP_KEY, DocumentOut
from domain.codes import validate_project_code

router = APIRouter(tags=["documents"])

UPLOAD_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "title": "DocumentUpload",
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "The document: at most 50 MiB unless configured otherwise (413 "
                        "`document_too_large`). Its kind is judged from its bytes, not its name: PDF, OFD, JPEG, "
                        "PNG, TIFF, DOC, DOCX, XLS, XLSX, DWG, DXF or ZIP, anything else is refused with 415 "
                        "`unsupported_document`. Its name is kept without folders or control characters.",
                    },
                    "step": {
                        "type": "string",
                        "pattern": STEP_KEY,
                        "description": "The step it is for: a step key of the project (422 `unknown_document_step` "
                        "otherwise).",
                    },
                },
                "additionalProperties": False,
            }
        }
    },
}
DocumentPath = Annotated[str, Path(pattern=DOCUMENT_ID, description="The `id` its upload answered.")]
DOWNLOAD: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The document's bytes, as an attachment under its file name",
        "content": {media: {"schema": {"type": "string", "format": "binary"}} for media in MEDIA_TYPES},
        "headers": {
            "Content-Disposition": {
                "description": "`attachment` with an ASCII `filename` and the exact name as `filename*` (RFC 6266)",
                "schema": {"type": "string"},
            },
            "X-Content-Type-Options": {"schema": {"type": "string", "const": "nosniff"}},
        },
    }
}


@router.post(
    "/projects/{code}/documents",
    status_code=201,
    response_model=DocumentOut,
    responses=refusals(
        "invalid_project_code",
        "forbidden_role",
        "project_ended",
        "document_too_large",
        "unsupported_media_type",
        "unsupported_document",
        "unknown_document_step",
    ),
    openapi_extra={"requestBody": UPLOAD_BODY},
)
async def upload_document(
    request: Request,
    acting: Annotated[Acting, on_project("upload_document")],
    svc: ServicesDep,
    db: SessionDep,
    response: Response,
) -> DocumentOut:
    """Upload a document (multipart: `file`, optionally `step`); name its id in a submission."""
    limit = svc.settings.max_upload_bytes
    document, replayed = await upload(db, svc.storage, limit, acting.code, acting.actor, acting.request_key, request)
    response.headers["Location"] = f"/documents/{document.id}"
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return document


@router.get("/projects/{code}/documents", response_model=list[DocumentOut], responses=refusals("invalid_project_code"))
async def get_documents(
    code: CodePath,
    user: UserDep,
    db: SessionDep,
    step: Annotated[str | None, Query(pattern=STEP_KEY, description="Only the documents of this step.")] = None,
) -> list[DocumentOut]:
    """The project's documents, oldest first."""
    code = validate_project_code(code)
    await visible_project(db, actor_of(user), code)
    return await list_documents(db, code, step)


@router.get("/documents/{document_id}", response_class=Response, responses=DOWNLOAD)
async def download_document(document_id: DocumentPath, user: UserDep, svc: ServicesDep, db: SessionDep) -> Response:
    """Download a document."""
    return await download(db, svc.storage, actor_of(user), document_id)
