"""Problem details (RFC 9457) for every error the API returns, with stable machine codes.

`install_error_handlers` maps every error, FastAPI's and the database's included, to
`application/problem+json`, and documents those answers in the OpenAPI schema so that a
client (or a schema-driven fuzzer) knows every status an operation may give, and which
machine codes each one carries (`CODES`; docs/api.md, "Errors").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic_core import PydanticCustomError
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from domain.codes import InvalidCode
from domain.errors import ActionRefused

PROBLEM_JSON = "application/problem+json"
TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Invalid input",
    423: "Locked",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}
# Stable machine codes for the errors FastAPI and Starlette raise themselves.
HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
}
# Path parameters and headers whose malformed value has a code of its own (docs/api.md, "Errors").
PATH_PARAMETER_CODES = {"code": "invalid_project_code"}
HEADER_CODES = {"Idempotency-Key": "invalid_idempotency_key"}
# Body fields whose value breaking their pattern has a code of its own (the last name in `loc`).
FIELD_PATTERN_CODES = {
    "owner_credit_code": "invalid_credit_code",
    "organisation": "invalid_credit_code",
    "region_code": "invalid_region_code",
}
# Request bodies whose every malformed value has a code of their own: (method, path template).
BODY_CODES = {("PUT", "/catalog/{category}"): "invalid_category"}
log = structlog.get_logger("approvals.api")
# The read model does not answer: refused or dropped connections, or no pooled connection in time.
DATABASE_DOWN = (OperationalError, InterfaceError, PoolTimeout)
DATABASE_RETRY_SECONDS = 5

# Every machine code the API answers with: its status and what it means. Routes name the codes
# particular to them (`refusals`), the OpenAPI schema lists them per operation and status, and
# docs/api.md is written from this table (tests/api/test_api_doc.py keeps them in step).
CODES: dict[str, tuple[int, str]] = {
    # the request as such
    "bad_request": (400, "the request could not be read (a broken form or multipart body)"),
    "not_authenticated": (401, "no bearer token was sent"),
    "invalid_token": (
        401,
        "the token is invalid, expired, signed with another secret or unsigned, names an unknown or "
        "deactivated user, or was issued before the user's password was reset",
    ),
    "invalid_credentials": (401, "login: wrong username or password, or a deactivated account"),
    "forbidden": (403, "the framework refused the request (not raised by the API's own rules)"),
    "not_found": (404, "it does not exist, or the caller may not see it: the same answer for both"),
    "method_not_allowed": (405, "the path exists, the method does not (`Allow` lists those that do)"),
    "body_too_large": (413, "the body is too large"),
    "unsupported_media_type": (415, "the body's media type is not one the operation reads"),
    "invalid_input": (422, "the input does not match the schema (the first error in `detail`, all in `errors`)"),
    "invalid_json": (422, "the body is not valid JSON"),
    "account_locked": (429, "too many failed logins in a row: the account is locked for a while (`Retry-After`)"),
    "internal_error": (500, "an unexpected error; it is logged (no input should ever cause one)"),
    "database_unavailable": (503, "the read model does not answer; retry (`Retry-After`)"),
    "temporal_unavailable": (503, "the workflow service does not answer; retry with the same Idempotency-Key"),
    "not_ready": (503, "readiness: the database or the workflow service does not answer (`checks` says which)"),
    "not_confirmed": (
        503,
        "the action was sent but not confirmed in time; retry with the same Idempotency-Key to get its outcome",
    ),
    # Idempotency-Key
    "invalid_idempotency_key": (422, "the Idempotency-Key is not 1 to 200 visible ASCII characters"),
    "idempotency_key_reused": (422, "this Idempotency-Key was already used by the caller for another request"),
    "request_in_progress": (409, "a request with this Idempotency-Key is still running"),
    # identifiers and input rules a JSON Schema cannot state
    "invalid_project_code": (422, "a malformed project code, or one whose check character does not match"),
    "invalid_credit_code": (422, "a malformed unified social credit code, or one whose check character does not match"),
    "invalid_region_code": (422, "not the division code of a real province, prefecture or county"),
    "unknown_category": (422, "the category is not in the catalog (GET /catalog)"),
    "phases_not_applicable": (422, "phases were given for a category without a phased permit"),
    "sections_not_applicable": (422, "sections were given for a category without joint acceptance"),
    "invalid_calendar": (
        422,
        "a date outside the path's year, a date both holiday and make-up workday, or a make-up workday "
        "that is not a Saturday or Sunday",
    ),
    "invalid_category": (
        422,
        "the category is malformed or inconsistent (an unknown `after` key, a prerequisite in a later "
        "stage, steps waiting on each other, a joint acceptance without exactly one survey before its "
        "inspections, duplicate step keys)",
    ),
    "category_key_mismatch": (422, "the body's `key` is not the path's category"),
    "binding_required": (
        422,
        "the role needs its binding: a reviewer a department, a section chief a stage, an owner an organisation",
    ),
    "binding_not_allowed": (422, "a binding the role does not take"),
    "unknown_department": (422, "the department is not one of the directory's"),
    "comment_required": (422, "a return, a rejection, a failed verification or a rejected answer needs a comment"),
    # application materials (docs/documents.md)
    "document_too_large": (413, "the document is larger than the upload limit (50 MiB unless configured otherwise)"),
    "unsupported_document": (
        415,
        "the file's bytes are none of the accepted kinds (PDF, OFD, JPEG, PNG, TIFF, DOC, DOCX, XLS, XLSX, DWG, "
        "DXF, ZIP), whatever its name says",
    ),
    "unknown_document_step": (422, "the upload's `step` is not a step of the project"),
    "unknown_document": (422, "a submission names a document id that was not uploaded to this project"),
    # who the caller is (403); docs/api.md, "Roles"
    "forbidden_role": (403, "the caller's role may not attempt this action at all (the role gate)"),
    "not_own_organisation": (403, "an owner creates projects for its own organisation only"),
    "not_applicant": (403, "only the project's owner or its assigned agent may do this"),
    "not_owner": (403, "only the project's owner may do this (its agent may not rate or judge for it)"),
    "not_reviewer": (403, "only a reviewer of the step's department may do this"),
    "wrong_department": (403, "the step (or the rectification's step) belongs to another department"),
    "not_involved": (403, "the project has not reached the reviewer's department"),
    "not_holder": (403, "the problem is held at a level above the caller (or, for a section chief, another stage)"),
    # what the current state forbids (409)
    "refused": (409, "the project refused the action without saying why"),
    "project_closed": (409, "the project's workflow has ended: nothing more can be done to it"),
    "no_agent": (409, "no active agent (deputy) can take a new project"),
    "user_exists": (409, "a user with this username exists"),
    "cannot_deactivate_self": (409, "the office cannot deactivate its own account"),
    "project_ended": (409, "the project is completed or withdrawn"),
    "project_suspended": (409, "the project is suspended until its revoked step is re-applied"),
    "not_awaiting_submission": (409, "the step does not wait for a submission"),
    "not_awaiting_rectification": (409, "an inspection is submitted only after it was returned for rectification"),
    "commitment_not_allowed": (409, "the step takes no commitment, or it was returned and is resubmitted as it was"),
    "revocation_unresolved": (409, "the owner has a revoked commitment: it applies in standard mode until resolved"),
    "not_in_review": (409, "the step is not in review"),
    "inspection_outcome": (409, "an inspection is approved or returned, never rejected"),
    "not_granted": (409, "only a granted commitment is verified"),
    "step_not_ended": (409, "only an ended step is rated"),
    "already_rated": (409, "the step was already rated"),
    "rating_window_closed": (409, "the project's rating window has closed"),
    "rectification_not_open": (409, "the rectification was already answered (or escalated)"),
    "rectification_not_answered": (409, "the rectification has no answer to judge"),
    "problem_resolved": (409, "the problem is already resolved"),
    "top_level": (409, "level 4 is the top of the ladder"),
    "unknown_problem": (409, "the project has no such problem"),
    "unknown_rectification": (409, "the project has no such rectification"),
    "unknown_step": (404, "the project has no such step"),
}
# The codes of an operation that acts on a project's workflow (routes add them with `refusals`).
ON_WORKFLOW = ("temporal_unavailable", "not_confirmed", "project_closed")


class ApiError(Exception):
    """An error the API answers with as problem details."""

    def __init__(
        self, status: int, code: str, detail: str, headers: Mapping[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = dict(headers or {})
        self.extra = extra


def refusals(*codes: str) -> dict[int | str, dict[str, Any]]:
    """The `responses` of a route: the codes particular to it, by status (see `document_problems`)."""
    by_status: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        status = CODES[code][0]
        by_status.setdefault(status, {"description": "", "x-codes": []})["x-codes"].append(code)
    return by_status


def input_refused(code: str, detail: str) -> PydanticCustomError:
    """An input rule's refusal inside a request model: 422 with this machine code (one of `CODES`)."""
    assert CODES[code][0] == 422, code
    return PydanticCustomError(code, "{detail}", {"detail": detail})


def not_found(what: str) -> ApiError:
    """404 for what does not exist or the caller may not see: the same answer for both."""
    return ApiError(404, "not_found", f"{what} not found")


def problem(
    status: int, code: str, detail: str, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """A problem-details response."""
    body = {
        "type": f"https://approvals.example/problems/{code}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    sent = dict(headers or {})
    if status == 401:
        sent.setdefault("WWW-Authenticate", "Bearer")
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=sent or None)


def validation_problem(exc: RequestValidationError, body_code: str | None = None) -> JSONResponse:
    """422 for malformed input: the first error in `detail`, all of them in `errors`, never the input itself.

    The code is `invalid_input` unless the error has one of its own: invalid JSON, a path parameter
    of `PATH_PARAMETER_CODES`, a body field of `FIELD_PATTERN_CODES` that breaks its pattern, an
    input rule a request model refused with `input_refused`, or any
    error in a body of `BODY_CODES` (`body_code`).
    """
    errors = [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"loc": [], "msg": "invalid input", "type": ""}
    loc, msg, kind = [str(p) for p in first["loc"]], str(first["msg"]), str(first["type"])
    code, detail = "invalid_input", f"{'.'.join(loc)}: {msg}"
    if kind == "json_invalid":
        code = "invalid_json"
    elif len(loc) == 2 and loc[0] == "path" and loc[1] in PATH_PARAMETER_CODES:
        code = PATH_PARAMETER_CODES[loc[1]]
    elif len(loc) == 2 and loc[0] == "header" and loc[1] in HEADER_CODES:
        code = HEADER_CODES[loc[1]]
    elif loc[:1] == ["body"] and kind == "string_pattern_mismatch" and loc[-1] in FIELD_PATTERN_CODES:
        code = FIELD_PATTERN_CODES[loc[-1]]
    elif kind in CODES and CODES[kind][0] == 422:
        code, detail = kind, msg  # an input rule's own code, and a sentence of its own
    elif body_code is not None and loc[:1] == ["body"]:
        code = body_code
    return problem(422, code, detail, errors=errors)


def database_unavailable() -> JSONResponse:
    """503 while the database does not answer; a retry with the same Idempotency-Key acts at most once."""
    detail = "the database does not answer; retry shortly with the same Idempotency-Key"
    return problem(503, "database_unavailable", detail, {"Retry-After": str(DATABASE_RETRY_SECONDS)})


def install_error_handlers(app: FastAPI) -> None:
    """Map every error, FastAPI's own included, to problem details, and document them."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return problem(exc.status, exc.code, exc.detail, exc.headers, **exc.extra)

    @app.exception_handler(ActionRefused)
    async def _refused(_: Request, exc: ActionRefused) -> JSONResponse:
        return problem(exc.status, exc.code, exc.detail)

    @app.exception_handler(InvalidCode)
    async def _invalid_code(_: Request, exc: InvalidCode) -> JSONResponse:
        return problem(422, exc.code, exc.detail)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        route = getattr(request.scope.get("route"), "path", None)
        return validation_problem(exc, BODY_CODES.get((request.method, str(route))))

    @app.exception_handler(DataError)
    async def _unstorable(request: Request, exc: DataError) -> JSONResponse:
        # A value the database refuses (a NUL character, a number out of range): the input is
        # at fault, not the service. The statement and its parameters are not echoed back.
        log.warning("unstorable_input", path=request.url.path, error=type(exc.orig).__name__)
        return problem(422, "invalid_input", "the input holds a value that cannot be stored or searched")

    async def _database_down(request: Request, exc: Exception) -> JSONResponse:
        log.warning("database_unavailable", path=request.url.path, error=type(exc).__name__)
        return database_unavailable()

    for kind in DATABASE_DOWN:
        app.add_exception_handler(kind, _database_down)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(sorted(allowed_methods(request) or {"GET"}))
        return problem(exc.status_code, code, str(exc.detail), headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error", path=request.url.path)
        return problem(500, "internal_error", "an unexpected error occurred; it has been logged")

    document_problems(app)


def allowed_methods(request: Request) -> set[str]:
    """Every method some route serves at the request's path (Starlette names only the first route's)."""
    scope = {**request.scope, "method": "\0"}  # a method no route serves: path matches come out PARTIAL
    methods: set[str] = set()
    for route in flat_routes(request.app):
        match, _ = route.matches(scope)
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return methods


def flat_routes(app: Any) -> list[Any]:
    """Every route of the app, those of included routers one by one, each with `matches` and `path_format`."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI whose app.routes are the routes themselves
        return list(app.routes)
    return list(iter_route_contexts(app.routes))


# ---- the OpenAPI schema says which problems each operation may answer --------------------------

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details with a stable machine `code`.",
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {"type": "array", "items": {"type": "string"}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
    "additionalProperties": True,
}
DESCRIPTIONS = {
    400: "The request body could not be parsed",
    401: "No valid bearer token (or, for a login, wrong username or password)",
    403: "The caller may see the resource but not do this",
    405: "The method is not allowed on this path",
    404: "It does not exist, or the caller may not see it",
    409: "The current state forbids the action (or a request with this Idempotency-Key is still running)",
    413: "The document is too large",
    415: "The body or the file is of a kind the operation does not take",
    422: "Malformed input, an Idempotency-Key reused with another request, or a rule only the server can "
    "check (each parameter's description says which)",
    429: "Too many failed logins: the account is locked for a while",
    503: "The database or the workflow service does not answer; retry (a POST with the same Idempotency-Key)",
}


# Routes for operators' tools (api/routes/operations.py and /health): they neither read a body nor
# sign a caller in, so they answer none of the common problems.
OPERATIONS = ("/health", "/health/live", "/health/ready", "/metrics")
# Path parameters that name something stored, which may not exist (or not be visible): 404.
LOOKED_UP = ("code", "problem_id", "rectification_id", "username", "document_id", "notification_id")


def common_codes(method: str, path: str, secured: bool, has_body: bool, json_body: bool = True) -> list[str]:
    """The codes an operation may answer with whatever it does: reading, authenticating, the key."""
    if path in OPERATIONS:
        return []
    codes = ["invalid_input", "database_unavailable"]
    if secured:
        codes += ["not_authenticated", "invalid_token"]
    if any(f"{{{name}}}" in path for name in LOOKED_UP):
        codes.append("not_found")
    if has_body:
        codes += ["bad_request", "invalid_json"] if json_body else ["bad_request"]
    if method == "post" and path not in ("/auth/token",):
        codes += ["invalid_idempotency_key", "idempotency_key_reused"]
        # An upload keeps its key itself, without waiting on a request still running (api/documents.py).
        codes += ["request_in_progress"] if json_body else []
    return codes


def document_problems(app: FastAPI) -> None:
    """Make `app.openapi()` list the problem-details answers of every operation, with their codes.

    Each status lists the codes common to the operation's kind (`common_codes`) and those its
    route names (`refusals`), in its description and as `x-codes`.
    """

    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema and "Problem" in app.openapi_schema.get("components", {}).get("schemas", {}):
            return app.openapi_schema
        schema = generate()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Problem"] = PROBLEM_SCHEMA
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                body = operation.get("requestBody", {}).get("content", {})
                json_body = not body or "application/json" in body
                codes = common_codes(method, path, bool(operation.get("security")), bool(body), json_body)
                codes += [c for r in responses.values() for c in r.get("x-codes", []) if c not in codes]
                for status in sorted({CODES[c][0] for c in codes}):
                    listed = [c for c in codes if CODES[c][0] == status]
                    responses[str(status)] = {
                        "description": DESCRIPTIONS[status] + "".join(f"\n- `{c}`: {CODES[c][1]}" for c in listed),
                        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
                        "x-codes": listed,
                    }
                if path == "/health":
                    responses["503"] = {
                        "description": "Temporal or the database does not answer: the body says which",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
