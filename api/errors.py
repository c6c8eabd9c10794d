"""Problem details (RFC 9457) for every error the API returns, with stable machine codes.

`install_error_handlers` maps every error, FastAPI's and the database's included, to
`application/problem+json`, and documents those answers in the OpenAPI schema so that a
client (or a schema-driven fuzzer) knows every status an operation may give.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
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
# Path parameters whose malformed value has a code of its own (the design's "clear error").
PATH_PARAMETER_CODES = {"code": "invalid_project_code"}
log = structlog.get_logger("approvals.api")
# The read model does not answer: refused or dropped connections, or no pooled connection in time.
DATABASE_DOWN = (OperationalError, InterfaceError, PoolTimeout)
DATABASE_RETRY_SECONDS = 5


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


def validation_problem(exc: RequestValidationError) -> JSONResponse:
    """422 for malformed input: the first error in `detail`, all of them in `errors`, never the input itself."""
    errors = [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"loc": [], "msg": "invalid input", "type": ""}
    where = ".".join(first["loc"])
    code = "invalid_input"
    if first["type"] == "json_invalid":
        code = "invalid_json"
    elif len(first["loc"]) == 2 and first["loc"][0] == "path" and first["loc"][1] in PATH_PARAMETER_CODES:
        code = PATH_PARAMETER_CODES[first["loc"][1]]
    return problem(422, code, f"{where}: {first['msg']}", errors=errors)


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
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_problem(exc)

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
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI whose app.routes are the routes themselves
        routes: list[Any] = list(request.app.routes)
    else:
        routes = list(iter_route_contexts(request.app.routes))
    scope = {**request.scope, "method": "\0"}  # a method no route serves: path matches come out PARTIAL
    methods: set[str] = set()
    for route in routes:
        match, _ = route.matches(scope)
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return methods


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
    404: "It does not exist, or the caller may not see it",
    409: "The current state forbids the action (or a request with this Idempotency-Key is still running)",
    422: "Malformed input, or an Idempotency-Key reused with another request",
    429: "Too many failed logins: the account is locked for a while",
    503: "The database or the workflow service does not answer; retry (a POST with the same Idempotency-Key)",
}


def problem_statuses(method: str, path: str, secured: bool, has_body: bool) -> set[int]:
    """The problem statuses an operation may answer with."""
    statuses = {422, 503}  # every operation reads the database; POSTs also wait on workflows
    if secured:
        statuses |= {401, 403}
    if "{" in path:
        statuses.add(404)
    if has_body:
        statuses.add(400)
    if method in ("post", "patch"):
        statuses.add(409)
    if path == "/auth/token":
        statuses = {400, 401, 422, 429, 503}
    if path == "/health":
        statuses = {503}
    return statuses


def document_problems(app: FastAPI) -> None:
    """Make `app.openapi()` list the problem-details answers of every operation."""

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
                statuses = problem_statuses(method, path, bool(operation.get("security")), "requestBody" in operation)
                for status in sorted(statuses):
                    responses[str(status)] = {
                        "description": DESCRIPTIONS[status],
                        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
                    }
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
