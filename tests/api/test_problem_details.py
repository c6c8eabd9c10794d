"""FastAPI's own errors answer as problem details with a stable machine code, never a 500."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from typing import Any

import httpx
import jsonschema_rs
import pytest

from api.main import create_app
from api.schemas import CREDIT_CODE, NON_BLANK, PROJECT_CODE, REGION_CODE, ProblemRaise
from domain.codes import (
    InvalidCode,
    credit_code_check_char,
    make_project_code,
    project_check_char,
    validate_credit_code,
    validate_project_code,
    validate_region_code,
)
from models.seed import ORG_A
from settings import Settings
from tests.api.support import api_routes, assert_problem, bearer, project_for
from tests.conftest import Api

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture(scope="module")
async def code(api: Api) -> str:
    return str((await project_for(api, "agent-1"))["code"])


async def raise_problem_raw(api: Api, code: str, body: bytes) -> httpx.Response:
    """POST /projects/{code}/problems as owner-a with a body sent byte for byte, as JSON."""
    headers = {"Content-Type": "application/json"}
    return await api.call("POST", f"/projects/{code}/problems", "owner-a", content=body, headers=headers)


def wrong_check_character(code: str) -> str:
    last = code[-1]
    return code[:-1] + ("0" if last != "0" else "1")


@pytest.mark.parametrize("as_user", ["office-1", None])
async def test_an_unknown_path_is_404_not_found(api: Api, as_user: str | None) -> None:
    r = await api.call("GET", "/no/such/route", as_user)
    assert_problem(r, 404, "not_found")


async def test_a_wrong_method_is_405_with_the_allowed_ones(api: Api) -> None:
    r = await api.call("DELETE", "/projects", "office-1")
    assert_problem(r, 405, "method_not_allowed")
    assert {m.strip() for m in r.headers["allow"].split(",")} == {"GET", "POST"}


async def test_malformed_json_is_422_invalid_json(api: Api, code: str) -> None:
    r = await raise_problem_raw(api, code, b'{"summary": "unterminated')
    body = assert_problem(r, 422, "invalid_json")
    assert body["errors"][0]["type"] == "json_invalid"


async def test_an_unknown_field_is_refused_and_not_echoed(api: Api, code: str) -> None:
    secret = "hunter2-do-not-echo"
    r = await api.post(f"/projects/{code}/problems", "owner-a", json={"summary": "x", "password": secret})
    body = assert_problem(r, 422, "invalid_input")
    assert body["errors"][0]["type"] == "extra_forbidden"
    assert body["errors"][0]["loc"] == ["body", "password"]
    assert secret not in r.text


async def test_a_bad_enum_value_is_422(api: Api, code: str) -> None:
    r = await api.post(f"/projects/{code}/steps/project_approval/decision", "reviewer-drc", json={"outcome": "maybe"})
    body = assert_problem(r, 422, "invalid_input")
    # The body is one variant per outcome: an unknown outcome names no variant.
    assert body["errors"][0]["type"] == "union_tag_invalid" and body["errors"][0]["loc"] == ["body"]
    assert "outcome" in body["detail"]
    r = await api.post(f"/projects/{code}/steps/project_approval/submit", "owner-a", json={"commitment": "yes"})
    body = assert_problem(r, 422, "invalid_input")
    assert body["errors"][0]["type"] == "bool_type" and body["errors"][0]["loc"] == ["body", "commitment"]


async def test_a_bad_query_value_is_422(api: Api) -> None:
    for params in ({"colour": "purple"}, {"limit": 0}, {"limit": "many"}, {"status": "gone"}):
        assert_problem(await api.get("/projects", "office-1", params=params), 422, "invalid_input")
    assert_problem(await api.get("/problems", "office-1", params={"level": 9}), 422, "invalid_input")


async def test_a_wrong_check_character_is_422_invalid_project_code(api: Api, code: str) -> None:
    bad = wrong_check_character(code)
    for path in (f"/projects/{bad}", f"/projects/{bad}/events"):
        body = assert_problem(await api.get(path, "office-1"), 422, "invalid_project_code")
        assert "check" in body["detail"]
    r = await api.post(f"/projects/{bad}/steps/project_approval/submit", "owner-a", json={})
    assert_problem(r, 422, "invalid_project_code")


@pytest.mark.parametrize(
    "bad", ["abc", "2025-310115-01-03-0000", "2025_310115_01_03_00001X", "２０２５-310115-01-03-000011"]
)
async def test_a_malformed_project_code_is_422_invalid_project_code(api: Api, bad: str) -> None:
    assert_problem(await api.get(f"/projects/{bad}", "office-1"), 422, "invalid_project_code")


async def test_a_valid_code_never_issued_is_404(api: Api) -> None:
    never = make_project_code(2001, "310115", "01", "03", 99998)
    assert_problem(await api.get(f"/projects/{never}", "office-1"), 404, "not_found")


async def test_a_wrong_type_is_422(api: Api, code: str) -> None:
    r = await api.post(f"/projects/{code}/steps/project_approval/rating", "owner-a", json={"score": "five"})
    assert_problem(r, 422, "invalid_input")
    r = await api.post(f"/projects/{code}/problems", "owner-a", json=["summary"])
    assert_problem(r, 422, "invalid_input")


async def test_a_body_that_is_not_json_is_422(api: Api, code: str) -> None:
    r = await api.call(
        "POST", f"/projects/{code}/problems", "owner-a", content=b"summary=x", headers={"Content-Type": "text/plain"}
    )
    assert_problem(r, 422)


@pytest.mark.parametrize("text", ["nul \x00 inside", "bell \x07", "escape \x1b[31m"])
async def test_control_characters_in_text_are_refused(api: Api, code: str, text: str) -> None:
    r = await api.post(f"/projects/{code}/problems", "owner-a", json={"summary": text})
    body = assert_problem(r, 422, "invalid_input")
    assert body["errors"][0]["loc"] == ["body", "summary"]


async def test_a_lone_surrogate_is_refused(api: Api, code: str) -> None:
    r = await raise_problem_raw(api, code, b'{"summary": "half \\ud800 a pair"}')
    assert_problem(r, 422, "invalid_input")


@pytest.mark.parametrize("q", ["\x00", "a\x00b", "%", "_", "'; DROP TABLE projects; --", "\\"])
async def test_hostile_search_text_is_never_a_500(api: Api, q: str) -> None:
    r = await api.get("/projects", "office-1", params={"q": q})
    assert r.status_code in (200, 422), r.text
    if r.status_code == 422:
        assert_problem(r, 422, "invalid_input")
    assert (await api.get("/projects", "office-1", params={"q": "general"})).status_code == 200


async def test_a_broken_login_form_is_a_problem(api: Api) -> None:
    r = await api.client.post(
        "/auth/token", content=b"--x\r\ngarbage", headers={"Content-Type": "multipart/form-data; boundary=x"}
    )
    assert r.status_code in (400, 422), r.text
    assert_problem(r, r.status_code)
    assert_problem(await api.client.post("/auth/token", json={"username": "a", "password": "b"}), 422, "invalid_input")


async def test_a_huge_or_odd_idempotent_body_is_still_a_problem(api: Api, code: str) -> None:
    big = {"summary": "x" * 5000}
    r = await api.post(f"/projects/{code}/problems", "owner-a", json=big, headers={"Idempotency-Key": "big-body"})
    assert_problem(r, 422, "invalid_input")
    token = await api.token("owner-a")
    r = await api.client.post(
        f"/projects/{code}/problems", content=b"\xff\xfe", headers={**bearer(token), "Content-Type": "application/json"}
    )
    assert r.status_code in (400, 422), r.text
    assert_problem(r, r.status_code)


ODD_VALUES: list[Any] = [None, True, 0, -1, 1.5, 10**30, "", " ", "x", "\x00", [], [1], {}, {"a": 1}]


def _variants(schema: dict[str, Any], components: dict[str, Any]) -> list[dict[str, Any]]:
    """The object schemas a body may take (each variant of a oneOf)."""
    if "$ref" in schema:
        return _variants(components[schema["$ref"].rsplit("/", 1)[-1]], components)
    if "oneOf" in schema:
        return [v for option in schema["oneOf"] for v in _variants(option, components)]
    return [schema]


async def test_no_body_however_odd_makes_a_model_fail_other_than_invalid(settings: Settings) -> None:
    """Every request model refuses odd values with a validation error (422), never an exception (500).

    A model's own validators (a role's bindings, a comment that must say why, a step's mode) see the
    raw input before its fields are checked: whatever its type, they must let the fields refuse it.
    """
    app = create_app(settings)
    schema = app.openapi()
    components = schema["components"]["schemas"]
    tried = 0
    for route in api_routes(app):
        field = route.body_field
        method = next(iter(set(route.methods or ()) - {"HEAD"})).lower()
        body = schema["paths"][route.path][method].get("requestBody", {}).get("content", {})
        if field is None or "application/json" not in body:
            continue
        for variant in _variants(body["application/json"]["schema"], components):
            props = variant.get("properties", {})
            tags = {name: p["const"] for name, p in props.items() if "const" in p}
            candidates = [*ODD_VALUES, tags, *({**tags, name: odd} for name in props for odd in ODD_VALUES)]
            for candidate in candidates:
                field.validate(candidate, {}, loc=("body",))  # returns errors; must not raise
                tried += 1
    assert tried > 500, tried


# ---- what the schema says is what the API enforces ---------------------------------------------

# Every character some engine might call white space, a few controls, and ordinary ones.
TEXT_CHARS = [chr(c) for c in (*range(0x00, 0x21), 0x7F, 0x85, 0xA0, 0x1680, *range(0x2000, 0x2010))] + [
    *"\u2028\u2029\u202f\u205f\u3000\ufeff",
    "a",
    "审",
]


async def test_the_schema_and_the_api_agree_on_blank_and_printable_text(settings: Settings) -> None:
    """A reason the schema accepts (as a JSON Schema validator reads it) is one the model accepts, and back."""
    schema = create_app(settings).openapi()["components"]["schemas"]["ProblemRaise"]
    validator = jsonschema_rs.Draft202012Validator(schema)
    for ch in TEXT_CHARS:
        for text in (ch, f"{ch}{ch}", f"{ch}a{ch}", f"a{ch}b"):
            by_schema = validator.is_valid({"reason": text})
            assert by_schema == bool(re.search(NON_BLANK, text)), repr(text)  # Python's engine, as the fuzzer's
            try:
                kept: str | None = ProblemRaise.model_validate({"reason": text}).reason
            except ValueError:
                kept = None
            assert by_schema == (kept is not None), f"{text!r}: schema {by_schema}, API {kept!r}"
            if kept is not None:
                assert kept == kept.strip(" \t\n\r\x85\xa0\u3000"), repr(kept)  # stored without surrounding blanks


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("decision", {"outcome": "return"}),
        ("decision", {"outcome": "return", "comment": " \u3000\n"}),
        ("decision", {"outcome": "reject", "comment": ""}),
        ("verification", {"outcome": "fail"}),
    ],
)
async def test_a_return_a_rejection_or_a_failed_verification_needs_a_comment(
    api: Api, code: str, path: str, body: dict[str, Any]
) -> None:
    # 422 before the project's state is even looked at (it was a 409 from the rules before).
    r = await api.post(f"/projects/{code}/steps/land_prereview/{path}", "reviewer-nrp", json=body)
    assert_problem(r, 422, "comment_required")


async def test_rejecting_a_department_answer_needs_a_comment(api: Api) -> None:
    project = await project_for(api, "agent-1")
    base = f"/projects/{project['code']}/steps/project_approval"
    assert (await api.post(f"{base}/submit", "owner-a", json={})).status_code == 200
    assert (await api.post(f"{base}/decision", "reviewer-drc", json={"outcome": "approve"})).status_code == 200
    rect = (await api.post(f"{base}/rating", "owner-a", json={"score": 2})).json()["created_id"]
    assert (
        await api.post(f"/rectifications/{rect}/answer", "reviewer-drc", json={"answer": "faster"})
    ).status_code == 200
    for body in ({"accept": False}, {"accept": False, "comment": "  "}):
        r = await api.post(f"/rectifications/{rect}/judgement", "owner-a", json=body)
        assert_problem(r, 422, "comment_required")
    assert_problem(await api.post(f"/rectifications/{rect}/judgement", "owner-a", json={"accept": 0}), 422)
    r = await api.post(f"/rectifications/{rect}/judgement", "owner-a", json={"accept": False, "comment": " no change "})
    assert r.status_code == 200, r.text
    assert r.json()["created_id"]  # a level-2 problem


async def test_booleans_and_numbers_are_not_coerced(api: Api, code: str) -> None:
    base = f"/projects/{code}/steps/project_approval"
    for body in ({"commitment": 0}, {"commitment": "true"}, {"documents": "one"}):
        assert_problem(await api.post(f"{base}/submit", "owner-a", json=body), 422, "invalid_input")
    for score in ("5", True, 4.5):
        assert_problem(await api.post(f"{base}/rating", "owner-a", json={"score": score}), 422, "invalid_input")
    r = await api.call("PATCH", "/users/agent-2", "office-1", json={"unlock": 0})
    assert_problem(r, 422, "invalid_input")


async def test_blank_text_where_text_is_required_is_refused(api: Api, code: str) -> None:
    for summary in ("", "   ", "\u3000", "\n\t"):
        r = await api.post(f"/projects/{code}/problems", "owner-a", json={"summary": summary})
        body = assert_problem(r, 422, "invalid_input")
        assert body["errors"][0]["loc"] == ["body", "summary"]


async def test_malformed_identifiers_in_a_body_keep_their_codes(api: Api) -> None:
    body = {"name": "codes", "category": "general", "owner_credit_code": ORG_A, "investment_wan": 1}
    for bad, expected in (
        ({"owner_credit_code": "91310115MA1K4ABC0I"}, "invalid_credit_code"),  # I is not in the code set
        ({"owner_credit_code": ORG_A[:-1]}, "invalid_credit_code"),
        ({"region_code": "160115"}, "invalid_region_code"),  # 16 is no province
        ({"region_code": "31011"}, "invalid_region_code"),
    ):
        assert_problem(await api.post("/projects", "owner-a", json={**body, **bad}), 422, expected)


def _accepts(validate: Callable[[str], str], value: str) -> bool:
    try:
        validate(value)
    except InvalidCode:
        return False
    return True


async def test_the_code_patterns_state_every_rule_but_the_check_character() -> None:
    """With the right check character, a code matches its schema pattern exactly when the API takes it."""
    for year, region, kind, serial in itertools.product(
        ("1999", "2000", "2099", "2100"),
        ("000000", "110000", "160115", "310115", "710000", "820000", "830000"),
        ("00", "01", "03", "04"),
        ("00000", "00001", "10000", "99999"),
    ):
        body = f"{year}-{region}-07-{kind}-{serial}"
        code = body + project_check_char(body)
        assert bool(re.fullmatch(PROJECT_CODE, code)) == _accepts(validate_project_code, code), code
    for prefix in range(100):
        region = f"{prefix:02d}0101"
        assert bool(re.fullmatch(REGION_CODE, region)) == _accepts(validate_region_code, region), region
    for first17 in ("91310115MA1K4ABC0", "91310115ma1k4abc0", "9131011AMA1K4ABC0", "91310115MA1K4ABI0"):
        try:
            code = first17 + credit_code_check_char(first17.upper())
        except InvalidCode:
            code = first17 + "0"  # no check character fits a body outside the code set
        assert bool(re.fullmatch(CREDIT_CODE, code)) == _accepts(validate_credit_code, code), code
