"""FastAPI's own errors answer as problem details with a stable machine code, never a 500."""

from __future__ import annotations

import httpx
import pytest

from domain.codes import make_project_code
from tests.api.support import assert_problem, bearer, project_for
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
    assert body["errors"][0]["type"] == "literal_error" and body["errors"][0]["loc"] == ["body", "outcome"]


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
