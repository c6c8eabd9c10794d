"""docs/api.md says what the app does: its generated parts are rendered from the app itself.

The parts between `<!-- generated: NAME -->` and `<!-- end: NAME -->` (the roles and their gates,
the machine codes, every route with who may call it, its body and its answers, the demo users)
are rendered here from `api.main.create_app()`, its OpenAPI schema, `domain/access.py`,
`api/errors.py` and `models/seed.py`; the prose around them is written by hand. When the app
changes, the test fails and says so; rewrite the generated parts with

    PYTHONPATH=. python -m tests.api.test_api_doc
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, get_args

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from api.errors import CODES
from api.main import create_app
from api.schemas import CREDIT_CODE, DOCUMENT_ID, NON_BLANK, PRINTABLE, PROJECT_CODE, REGION_CODE
from domain.access import GATES, ROLES, SCOPE
from domain.status import ProblemStatus, ProjectStatus, RectificationStatus, StepStatus
from models.seed import DEMO_USERS
from settings import Settings
from tests.api.support import api_routes

pytestmark = pytest.mark.asyncio(loop_scope="session")

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
REGION = re.compile(r"(<!-- generated: (?P<name>[a-z_]+) -->\n)(?P<body>.*?)(<!-- end: (?P=name) -->)", re.S)
QUERY_TEXT = r"^[^\x00-\x1f\x7f]*$"
PATTERN_WORDS = {
    NON_BLANK: "text that is not blank",
    PRINTABLE: "text",
    QUERY_TEXT: "text on one line",
    PROJECT_CODE: "a project code",
    CREDIT_CODE: "a credit code",
    REGION_CODE: "a region code",
    DOCUMENT_ID: "a document id",
}
# What a role sees (domain/access.py, `Scope`), in words.
SCOPE_WORDS = {
    "everything": "every project",
    "own_organisation": "the projects of its own organisation (its unified social credit code)",
    "assigned": "the projects it is the assigned agent (deputy, 代办员) of",
    "department_reached": "the projects that reached its department (one of its steps is past `pending`)",
}
PUBLIC = {"/auth/token", "/health", "/health/live", "/health/ready", "/metrics"}


# ---- reading the app -------------------------------------------------------------------------


def method_of(route: APIRoute) -> str:
    return next(m for m in sorted(route.methods or ()) if m != "HEAD")


def gate_of(route: APIRoute) -> str | None:
    """The action whose role gate the route's dependencies apply (domain/access.py, GATES)."""
    stack = [route.dependant]
    while stack:
        dependant = stack.pop()
        code = getattr(dependant.call, "__code__", None)
        closure = getattr(dependant.call, "__closure__", None)
        if code is not None and closure and "action" in code.co_freevars:
            action: str = closure[code.co_freevars.index("action")].cell_contents
            return action
        stack.extend(dependant.dependencies)
    return None


def acts_on(route: APIRoute) -> str | None:
    """What a route resolves before its gate (404 first): a project, a problem or a rectification."""
    for name in ("code", "problem_id", "rectification_id", "document_id"):
        if "{" + name + "}" in route.path:
            return {
                "code": "project",
                "problem_id": "problem's project",
                "rectification_id": "rectification's project",
                "document_id": "document's project",
            }[name]
    return None


# ---- rendering JSON Schema in words ------------------------------------------------------------


def ref_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref")
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None


COMPONENTS: dict[str, Any] = {}  # the schema's components, while rendering


def words(schema: dict[str, Any]) -> str:
    """A JSON Schema as a short phrase: `a project code`, `text up to 2000`, `one of a, b`."""
    if (name := ref_name(schema)) is not None:
        target = COMPONENTS.get(name, {})
        return words(target) if "enum" in target else f"`{name}`"
    if "const" in schema:
        return f"`{_json(schema['const'])}`"
    if "anyOf" in schema:
        options = [o for o in schema["anyOf"] if o.get("type") != "null"]
        phrase = " or ".join(words(o) for o in options)
        return f"{phrase} or null" if len(options) < len(schema["anyOf"]) else phrase
    if "oneOf" in schema:
        return "one of " + ", ".join(words(o) for o in schema["oneOf"])
    if "enum" in schema:
        return "one of " + ", ".join(f"`{_json(v)}`" for v in schema["enum"])
    kind = schema.get("type")
    if kind == "null":
        return "null"
    if kind == "array":
        bounds = _bounds(schema, "minItems", "maxItems", "item")
        return f"a list of {words(schema.get('items', {}))}" + bounds
    if kind == "string":
        if schema.get("format") == "binary":
            return "a file"
        if schema.get("format") == "date":
            return "a date (YYYY-MM-DD)"
        pattern = schema.get("pattern")
        phrase = PATTERN_WORDS.get(pattern, f"text matching `{pattern}`") if pattern else "text"
        return phrase + _bounds(schema, "minLength", "maxLength", "character")
    if kind in ("integer", "number"):
        phrase = "a whole number" if kind == "integer" else "a number"
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        high = schema.get("maximum")
        if low is not None and high is not None:
            left = "above" if "exclusiveMinimum" in schema else "from"
            return f"{phrase} {left} {_num(low)} to {_num(high)}"
        return phrase
    if kind == "boolean":
        return "`true` or `false`"
    if kind == "object":
        return "an object"
    return "anything"


def _json(value: Any) -> str:
    return {True: "true", False: "false", None: "null"}.get(value, value) if not isinstance(value, str) else value


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _bounds(schema: dict[str, Any], low: str, high: str, unit: str) -> str:
    lo, hi = schema.get(low), schema.get(high)
    if hi == 0:
        return f" (no {unit}s)"
    if lo and hi:
        return f", {lo} to {hi} {unit}s"
    if hi:
        return f", at most {hi} {unit}s"
    if lo:
        return f", at least {lo} {unit}{'s' if lo > 1 else ''}"
    return ""


def resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    name = ref_name(schema)
    return components[name] if name else schema


def variants(schema: dict[str, Any], components: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    if "oneOf" in schema:
        return [pair for option in schema["oneOf"] for pair in variants(option, components)]
    return [(ref_name(schema) or schema.get("title", "body"), resolve(schema, components))]


def fields(schema: dict[str, Any], components: dict[str, Any], indent: str) -> Iterator[str]:
    required = set(schema.get("required", ()))
    for name, prop in schema.get("properties", {}).items():
        optional = "" if name in required else " (optional)"
        line = f"{indent}- `{name}`{optional}: {words(prop)}"
        if prop.get("description"):
            line += f". {prop['description']}"
        yield line.rstrip(".") + "."
        items = prop.get("items", {}) if prop.get("type") == "array" else {}
        for variant_name, variant in variants(items, components) if items else ():
            if variant.get("type") == "object":
                yield f"{indent}  - each `{variant_name}`: {variant.get('description', '').strip()}".rstrip(": ")
                yield from fields(variant, components, indent + "    ")


# ---- the generated parts -------------------------------------------------------------------------


def render_roles() -> str:
    lines = ["| role | sees | may attempt (the role gate: 403 `forbidden_role` otherwise) |", "|---|---|---|"]
    for role in ROLES:
        actions = ", ".join(f"`{a}`" for a, roles in GATES.items() if role in roles)
        lines.append(f"| `{role}` | {SCOPE_WORDS[SCOPE[role].value]} | {actions} |")
    return "\n".join(lines) + "\n"


def render_gates(app: FastAPI) -> str:
    by_action: dict[str, list[str]] = {}
    for route in api_routes(app):
        gate = gate_of(route)
        if gate is not None:
            by_action.setdefault(gate, []).append(f"`{method_of(route)} {route.path}`")
    lines = ["| action | roles | routes |", "|---|---|---|"]
    for action, roles in GATES.items():
        allowed = ", ".join(f"`{r}`" for r in ROLES if r in roles)
        lines.append(f"| `{action}` | {allowed} | {', '.join(by_action.get(action, [])) or '—'} |")
    return "\n".join(lines) + "\n"


def render_codes() -> str:
    lines = ["| code | status | meaning |", "|---|---|---|"]
    for code, (status, meaning) in sorted(CODES.items(), key=lambda item: (item[1][0], item[0])):
        lines.append(f"| `{code}` | {status} | {meaning} |")
    return "\n".join(lines) + "\n"


def render_routes(app: FastAPI) -> str:
    schema = app.openapi()
    components = schema["components"]["schemas"]
    COMPONENTS.update(components)
    out: list[str] = []
    for route in api_routes(app):
        method = method_of(route)
        operation = schema["paths"][route.path][method.lower()]
        out += [f"### `{method} {route.path}`", ""]
        summary = (route.description or "").strip().split("\n\n")[0].replace("\n", " ")
        out += [summary, ""] if summary else []
        out.append(f"- **Who**: {who(route)}")
        for place in ("path", "query", "header"):
            params = [p for p in operation.get("parameters", ()) if p["in"] == place]
            if params:
                listed = "; ".join(_parameter(p, place) for p in params)
                out.append(f"- **{place.capitalize()}**: {listed}")
        body = operation.get("requestBody", {}).get("content", {})
        for media, content in body.items():
            options = variants(content["schema"], components)
            kind = {"multipart/form-data": "multipart form"}.get(media, "form" if "form" in media else "JSON")
            if len(options) == 1:
                out.append(f"- **Body** ({kind}, `{options[0][0]}`):")
                out += fields(options[0][1], components, "  ")
            else:
                out.append(f"- **Body** ({kind}), one of:")
                for name, variant in options:
                    out.append(f"  - `{name}`: {variant.get('description', '').strip()}".rstrip(": "))
                    out += fields(variant, components, "    ")
        out.append("- **Answers**:")
        for status, response in sorted(operation["responses"].items()):
            codes = response.get("x-codes")
            if codes:
                out.append(f"  - {status}: " + ", ".join(f"`{c}`" for c in codes))
            else:
                out.append(f"  - {status}: {_success(response)}")
        out.append("")
    return "\n".join(out)


def who(route: APIRoute) -> str:
    if route.path == "/metrics":
        return "anyone, without a token; only a scraper with its bearer token once `APPROVALS_METRICS_TOKEN` is set"
    if route.path in PUBLIC:
        return "anyone, without a token"
    gate = gate_of(route)
    target = acts_on(route)
    seen = f"a caller who may not see the {target} gets 404 first; then " if target else ""
    if gate is None and target:
        return f"any signed-in user who may see the {target} (404 otherwise)"
    if gate is None:
        scoped = route.path in ("/projects", "/problems", "/tasks")
        return "any signed-in user" + (": it lists only what the caller may see" if scoped else "")
    roles = ", ".join(f"`{r}`" for r in ROLES if r in GATES[gate])
    return f"{seen}{roles} (gate `{gate}`)"


def _parameter(parameter: dict[str, Any], place: str) -> str:
    name = parameter["name"]
    required = "" if parameter.get("required") or place == "path" else " (optional)"
    if name in ("code", "Idempotency-Key"):
        return f"`{name}`{required} (see above)"
    phrase = words(parameter["schema"])
    description = (parameter.get("description") or parameter["schema"].get("description") or "").rstrip(".")
    return f"`{name}`{required}: {phrase}" + (f", {description[0].lower()}{description[1:]}" if description else "")


def _success(response: dict[str, Any]) -> str:
    for content in response.get("content", {}).values():
        return words(content.get("schema") or {"type": "object"}).replace("an object", "a JSON object")
    return str(response.get("description", ""))


def render_demo_users() -> str:
    lines = ["| username | role | bound to | display name |", "|---|---|---|---|"]
    for user in DEMO_USERS:
        binding = next((f"{k} `{user[k]}`" for k in ("department", "stage", "organisation") if user.get(k)), "—")
        lines.append(f"| `{user['username']}` | `{user['role']}` | {binding} | {user['display_name']} |")
    return "\n".join(lines) + "\n"


def renderers(app: FastAPI) -> dict[str, Callable[[], str]]:
    return {
        "roles": render_roles,
        "gates": lambda: render_gates(app),
        "codes": render_codes,
        "routes": lambda: render_routes(app),
        "demo_users": render_demo_users,
    }


def rewritten(text: str, app: FastAPI) -> str:
    parts = renderers(app)

    def fill(match: re.Match[str]) -> str:
        return match.group(1) + parts[match.group("name")]() + match.group(4)

    return REGION.sub(fill, text)


# ---- the tests -----------------------------------------------------------------------------------


async def test_every_generated_part_is_up_to_date(settings: Settings) -> None:
    app = create_app(settings)
    text = DOC.read_text(encoding="utf-8")
    assert {m.group("name") for m in REGION.finditer(text)} == set(renderers(app)), "a generated part is missing"
    assert rewritten(text, app) == text, (
        "docs/api.md is out of date: run `PYTHONPATH=. python -m tests.api.test_api_doc`"
    )


async def test_every_route_of_the_app_is_in_the_doc_and_no_other(settings: Settings) -> None:
    app = create_app(settings)
    served = {(method_of(r), r.path) for r in api_routes(app)}
    named = set(re.findall(r"^### `([A-Z]+) (\S+)`$", DOC.read_text(encoding="utf-8"), re.M))
    assert served - named == set(), f"routes missing from docs/api.md: {sorted(served - named)}"
    assert named - served == set(), f"docs/api.md names routes the app does not serve: {sorted(named - served)}"


async def test_every_status_and_role_is_explained() -> None:
    text = DOC.read_text(encoding="utf-8")
    statuses = text.split("## Statuses", 1)[1].split("\n## ", 1)[0]
    for kind in (ProjectStatus, StepStatus, ProblemStatus, RectificationStatus):
        for status in get_args(kind):
            assert f"| `{status}` |" in statuses, f"status {status} is not explained under Statuses"
    for role in ROLES:
        assert f"`{role}`" in text.split("## Roles", 1)[1].split("\n## ", 1)[0]


async def test_every_machine_code_the_code_raises_is_listed() -> None:
    """Each code the API or the rules raise is in CODES (and so in the doc), but for those the API shadows."""
    root = DOC.parents[1]
    raised = re.compile(
        r"(?:ApiError\(\s*\d+,\s*|problem\(\s*\d+,\s*|conflict\(\s*|forbidden\(\s*|ActionRefused\(\s*|"
        r"InvalidCode\(\s*|input_refused\(\s*|require_text\([^,]+,\s*)\"([a-z_]+)\"",
    )
    found: set[str] = set()
    for folder in ("api", "domain", "workflows", "activities", "models"):
        for path in (root / folder).rglob("*.py"):
            found |= set(raised.findall(path.read_text(encoding="utf-8")))
    # The rules refuse these blanks with 409, but the request bodies refuse them first with 422.
    shadowed = {"summary_required", "reason_required", "resolution_required", "answer_required"}
    assert found - shadowed - set(CODES) == set(), f"codes raised but not in api.errors.CODES: {found - set(CODES)}"
    assert found & shadowed == shadowed, "a shadowed code is no longer raised: drop it from the list"


if __name__ == "__main__":
    from settings import get_settings

    application = create_app(get_settings())
    DOC.write_text(rewritten(DOC.read_text(encoding="utf-8"), application), encoding="utf-8")
    print(f"rewrote the generated parts of {DOC}", file=sys.stderr)
