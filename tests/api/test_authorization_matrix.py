"""Every route of the app × every role, against one table of expected statuses.

The rules (docs/api.md, "Roles" and "Errors"):
- 401 without a valid token: none, expired, signed with another secret, or unsigned (alg none);
- 404 for what the caller may not see (never a hint that it exists);
- 403 for what the caller may see but not do;
- an action the caller may do is "allowed": 200/201, or 409 when the project's state forbids
  it right now (the matrix walks one project through many actions, so state moves on).

The table is keyed by (method, path template). A route the app serves that the table lacks
fails `test_the_table_covers_every_route`, and so does a table entry for a route that is gone.
Path parameters are real: a project created by owner-a and assigned to agent-1, its step
`project_approval` (department drc, stage initiation), a rectification opened by a bad rating
of that step, and a fresh level-1 problem for every call that raises or resolves one.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from api.main import create_app
from models.seed import ORG_A
from settings import Settings
from tests.api.support import (
    MATRIX_USERS,
    app_operations,
    assert_problem,
    bearer,
    expired_token,
    forged_token,
    make_user,
    project_for,
    unsigned_token,
)
from tests.conftest import Api
from tests.support import samples

pytestmark = pytest.mark.asyncio(loop_scope="session")


# Columns: the demo users of each role, and two more reviewers of the world project (below), as
# tests/api/support.py's MATRIX_USERS says.
USERS = MATRIX_USERS
ROLES = tuple(USERS)
BAD_TOKENS = ("no_token", "expired", "forged", "unsigned")
CALLERS = ROLES + BAD_TOKENS


def load_matrix(path: Path) -> dict[tuple[str, str], dict[str, frozenset[int]]]:
    """The table of expected statuses (a tab-separated file, one row per route, one column per caller)."""
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    header, *routes = rows
    assert header == ["method", "path", *ROLES, "anyone"], header
    matrix = {}
    for method, template, *cells in routes:
        statuses = [frozenset(int(s) for s in cell.split("|")) for cell in cells]
        by_role = dict(zip(ROLES, statuses[:-1], strict=True))
        matrix[(method, template)] = {**by_role, **dict.fromkeys(BAD_TOKENS, statuses[-1])}
    return matrix


MATRIX = load_matrix(Path(__file__).with_name("authorization.tsv"))
HIDDEN = frozenset({404})

# Why the other department's reviewer is refused, where the reason matters: the rules name it.
CODES: dict[tuple[str, str, str], str] = {
    ("POST", "/projects/{code}/steps/{step}/decision", "other_reviewer"): "wrong_department",
    ("POST", "/projects/{code}/steps/{step}/verification", "other_reviewer"): "wrong_department",
    ("POST", "/rectifications/{rectification_id}/answer", "other_reviewer"): "wrong_department",
    ("POST", "/problems/{problem_id}/raise", "other_reviewer"): "not_holder",
    ("POST", "/problems/{problem_id}/resolve", "other_reviewer"): "not_holder",
    ("POST", "/projects/{code}/steps/{step}/submit", "other_reviewer"): "forbidden_role",
    ("POST", "/projects/{code}/documents", "other_reviewer"): "forbidden_role",
    ("POST", "/projects/{code}/steps/{step}/rating", "other_reviewer"): "forbidden_role",
    ("POST", "/rectifications/{rectification_id}/judgement", "other_reviewer"): "forbidden_role",
    **{
        (method, path, "unreached_reviewer"): "not_found"
        for (method, path), expected in MATRIX.items()
        if expected["unreached_reviewer"] == HIDDEN
    },
}

# Cells the application answers wrongly today. The table keeps the right answer; such a cell is
# reported as an expected failure (after every other cell of its route passed), and fails the
# test once the application answers it right, so that its entry here is removed.
KNOWN_BUGS: dict[tuple[str, str, str], str] = {}

BODIES: dict[str, Any] = {
    "/projects": {"name": "matrix project", "category": "general", "owner_credit_code": ORG_A, "investment_wan": 10},
    "/projects/{code}/withdraw": {"reason": "matrix"},
    "/projects/{code}/steps/{step}/submit": {"note": "matrix"},
    "/projects/{code}/steps/{step}/decision": {"outcome": "approve", "comment": "matrix"},
    "/projects/{code}/steps/{step}/verification": {"outcome": "pass", "comment": "matrix"},
    "/projects/{code}/steps/{step}/rating": {"score": 4, "comment": "matrix"},
    "/projects/{code}/problems": {"summary": "matrix problem", "step": "project_approval"},
    "/problems/{problem_id}/raise": {"reason": "matrix"},
    "/problems/{problem_id}/resolve": {"resolution": "matrix"},
    "/rectifications/{rectification_id}/answer": {"answer": "matrix"},
    "/rectifications/{rectification_id}/judgement": {"accept": True, "comment": "matrix"},
    "/users/{username}": {"display_name": "renamed by the matrix"},
    "/me/notifications": {"email_enabled": True},
    "/notifications/read-all": {},
    "/notifications/{notification_id}/read": {},
}
UPLOAD = {"file": ("矩阵.pdf", samples.pdf(), "application/pdf")}
CALENDAR_YEAR = 2100  # far from any date a project uses; only the office writes it, with what it holds
CATEGORY = "decoration"  # only the office writes it, with what it holds


@dataclass
class World:
    """Real path parameters for every route."""

    code: str
    withdraw_code: str
    rectification: str
    calendar: dict[str, Any]
    category: dict[str, Any]
    user: str
    document: str
    fresh_problem: Callable[[], Awaitable[str]]
    notification: int  # reviewer-drc's, of the submission

    async def path(self, template: str) -> str:
        values: dict[str, Any] = {
            "code": self.code,
            "step": "project_approval",
            "year": CALENDAR_YEAR,
            "category": CATEGORY,
            "username": self.user,
            "document_id": self.document,
            "notification_id": self.notification,
        }
        if template == "/projects/{code}/withdraw":
            values["code"] = self.withdraw_code
        if "{problem_id}" in template:
            values["problem_id"] = await self.fresh_problem()
        if "{rectification_id}" in template:
            values["rectification_id"] = self.rectification
        return template.format(**values)


@pytest.fixture(scope="module")
async def world(api: Api, settings: Settings) -> World:
    project = await project_for(api, "agent-1")
    code = project["code"]
    r = await api.post(f"/projects/{code}/steps/project_approval/submit", "owner-a", json={"note": "setup"})
    assert r.status_code == 200, r.text
    r = await api.post(f"/projects/{code}/steps/project_approval/decision", "reviewer-drc", json={"outcome": "approve"})
    assert r.status_code == 200, r.text
    r = await api.post(
        f"/projects/{code}/steps/project_approval/rating", "owner-a", json={"score": 1, "comment": "slow"}
    )
    assert r.status_code == 200, r.text
    rectification = r.json()["created_id"]
    assert rectification, r.text
    withdraw_code = (await project_for(api, "agent-1"))["code"]
    # What the reviewer columns stand for: nrp reached both projects (its land pre-review opens
    # with them), fire reached neither.
    for shown in (code, withdraw_code):
        assert (await api.get(f"/projects/{shown}", USERS["other_reviewer"])).status_code == 200
        assert (await api.get(f"/projects/{shown}", USERS["unreached_reviewer"])).status_code == 404
    calendar = (await api.get(f"/calendar/{CALENDAR_YEAR}", "office-1")).json()
    categories = (await api.get("/catalog", "office-1")).json()["categories"]
    # GET /catalog adds a derived `stages` list that PUT does not take back.
    category = {k: v for k, v in next(c for c in categories if c["key"] == CATEGORY).items() if k != "stages"}
    user, _ = await make_user(settings, "leader")
    uploaded = await api.call("POST", f"/projects/{code}/documents", "owner-a", files=UPLOAD)
    assert uploaded.status_code == 201, uploaded.text
    told = (await api.get("/notifications", USERS["reviewer"], params={"limit": 100})).json()["items"]
    notification = next(n["id"] for n in told if n["project_code"] == code and n["kind"] == "submitted")

    async def fresh_problem() -> str:
        r = await api.post(
            f"/projects/{code}/problems", "owner-a", json={"summary": "fresh", "step": "project_approval"}
        )
        assert r.status_code == 201, r.text
        created: str = r.json()["created_id"]
        return created

    return World(
        code, withdraw_code, rectification, calendar, category, user, uploaded.json()["id"], fresh_problem, notification
    )


@pytest.fixture(scope="module")
def bad_tokens(settings: Settings) -> dict[str, str | None]:
    return {
        "no_token": None,
        "expired": expired_token(settings),
        "forged": forged_token(),
        "unsigned": unsigned_token(),
    }


@pytest.fixture(scope="module")
def documented(settings: Settings) -> dict[tuple[str, str], set[int]]:
    """The statuses the OpenAPI schema declares for each operation."""
    schema = create_app(settings).openapi()
    return {
        (method.upper(), path): {int(s) for s in op["responses"]}
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
    }


async def test_the_table_covers_every_route(settings: Settings) -> None:
    served = app_operations(create_app(settings))
    assert served, "the app serves no route?"
    missing = sorted(served - set(MATRIX))
    gone = sorted(set(MATRIX) - served)
    assert not missing, f"routes without an expected status per role in MATRIX: {missing}"
    assert not gone, f"MATRIX entries for routes the app no longer serves: {gone}"
    for key, expected in MATRIX.items():
        assert set(expected) == set(CALLERS), f"{key} lacks callers {set(CALLERS) - set(expected)}"


async def call(api: Api, world: World, method: str, template: str, caller: str, tokens: dict[str, str | None]) -> Any:
    path = await world.path(template)
    headers: dict[str, str] = {}
    if caller in USERS:
        headers = bearer(await api.token(USERS[caller]))
    elif tokens[caller] is not None:
        headers = bearer(tokens[caller])  # type: ignore[arg-type]
    if template == "/auth/token":
        username = USERS.get(caller, "owner-a")
        return await api.client.post(path, data={"username": username, "password": "demo"}, headers=headers)
    if method == "GET":
        return await api.client.get(path, headers=headers)
    if template == "/projects/{code}/documents":
        return await api.client.post(path, files=UPLOAD, headers=headers)
    return await api.client.request(method, path, json=body_for(template, world), headers=headers)


def body_for(template: str, world: World) -> Any:
    """A body that passes validation, so that authorisation is what decides."""
    if template == "/calendar/{year}":
        return {"holidays": world.calendar["holidays"], "workdays": world.calendar["workdays"]}
    if template == "/catalog/{category}":
        return world.category
    if template == "/users":
        # A leader: a new deputy would take every new project from agent-1 and agent-2.
        return {"username": f"matrix-{uuid.uuid4().hex[:8]}", "password": "matrix-password", "role": "leader"}
    return BODIES[template]


@pytest.mark.parametrize(("method", "template"), list(MATRIX), ids=[f"{m} {p}" for m, p in MATRIX])
async def test_route_answers_each_caller_as_the_table_says(
    api: Api,
    world: World,
    bad_tokens: dict[str, str | None],
    documented: dict[tuple[str, str], set[int]],
    method: str,
    template: str,
) -> None:
    wrong: list[str] = []
    known: list[str] = []
    for caller in CALLERS:
        expected = MATRIX[(method, template)][caller]
        bug = KNOWN_BUGS.get((method, template, caller))
        r = await call(api, world, method, template, caller, bad_tokens)
        if r.status_code not in expected:
            failure = f"{caller}: expected {sorted(expected)}, got {r.status_code} {r.text[:200]}"
            (known if bug else wrong).append(failure + (f" (known bug: {bug})" if bug else ""))
            continue
        if bug:
            wrong.append(f"{caller}: now answers as the table says: remove its entry from KNOWN_BUGS")
        if r.status_code >= 400:
            assert_problem(r, r.status_code, CODES.get((method, template, caller)))
        assert r.status_code in documented[(method, template)], (
            f"{caller} got {r.status_code}, which the OpenAPI schema does not declare for {method} {template}"
        )
    assert not wrong, f"{method} {template}:\n" + "\n".join(wrong)
    if known:
        pytest.xfail("; ".join(known))
