"""Every page route × every caller, against one table of expected answers (tests/web/pages.tsv).

The pages answer as people read them (docs/pages.md): the login form for a caller without a
session, the 404 page for what the caller may not see, the 403 page for what it may see but not
do, never JSON and never a 500. The table is keyed by (method, path template), one row per form
where a route takes several; a route the app serves as a page that the table lacks fails
`test_the_table_covers_every_page_route`, and so does a row for a route that is gone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

import httpx
import pytest

from api.main import create_app
from settings import Settings
from tests.api.support import MATRIX_USERS, project_for
from tests.conftest import Api
from tests.support import samples
from tests.web.support import Browser, page_operations, signed_in

pytestmark = pytest.mark.asyncio(loop_scope="session")

# The API matrix's callers (tests/api/support.py), another enterprise and another deputy; anyone
# has no session.
USERS = {**MATRIX_USERS, "other_owner": "owner-b", "other_agent": "agent-2"}
CALLERS = (*USERS, "anyone")
LOGIN = "login"  # a cell's word for: 303 to the login form


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    form: str  # fields as a query string; "" for none
    expected: dict[str, frozenset[str]]

    @property
    def name(self) -> str:
        action = dict(parse_qsl(self.form)).get("action")
        return f"{self.method} {self.path}" + (f" {action}" if action else "")


def load_table(path: Path) -> list[Row]:
    """The rows of the table (tab-separated, one column per caller; # starts a comment)."""
    lines = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    header, *rows = lines
    assert header == ["method", "path", "form", *CALLERS], header
    return [
        Row(
            method,
            template,
            "" if form == "-" else form,
            {c: frozenset(cell.split("|")) for c, cell in zip(CALLERS, cells, strict=True)},
        )
        for method, template, form, *cells in rows
    ]


TABLE = load_table(Path(__file__).with_name("pages.tsv"))
# Path values that do not depend on the world: a calendar year no project reaches, a statistics
# table, a category and a user only the office may change (and changes to what it holds), a
# notification no one holds.
PATH_VALUES = {
    "year": "2100",
    "name": "on_time",
    "category": "decoration",
    "username": "leader-1",
    "notification_id": "2147483647",
}


@dataclass
class World:
    """Real values for the table's placeholders."""

    code: str
    withdraw_code: str
    rectification: str
    fresh_problem: Callable[[], Awaitable[str]]
    document: str  # a document uploaded to `code`

    async def request(self, row: Row, caller: str) -> tuple[str, dict[str, str]]:
        """The path and the form of the row for this caller."""
        fields = dict(parse_qsl(row.form))
        code = self.withdraw_code if fields.get("action") == "withdraw" else self.code
        values = {"user": USERS.get(caller, USERS["owner"]), "rectification_id": self.rectification}
        if "{problem_id}" in row.form:
            values["problem_id"] = await self.fresh_problem()
        filled = {name: value.format(**values) for name, value in fields.items()}
        path = row.path.format(code=code, tag="en", key="project_approval", document_id=self.document, **PATH_VALUES)
        return path, filled


@pytest.fixture(scope="module")
async def world(api: Api) -> World:
    code = (await project_for(api, USERS["agent"]))["code"]
    step = f"/projects/{code}/steps/project_approval"
    for user, verb, body in (
        ("owner-a", "submit", {}),
        ("reviewer-drc", "decision", {"outcome": "approve"}),
        ("owner-a", "rating", {"score": 1, "comment": "slow"}),
    ):
        r = await api.post(f"{step}/{verb}", user, json=body)
        assert r.status_code == 200, r.text
    rectification = r.json()["created_id"]
    upload = await api.call(
        "POST", f"/projects/{code}/documents", "owner-a", files={"file": ("报告.pdf", samples.pdf())}
    )
    assert upload.status_code == 201, upload.text
    withdraw_code = (await project_for(api, USERS["agent"]))["code"]

    async def fresh_problem() -> str:
        r = await api.post(
            f"/projects/{code}/problems", "owner-a", json={"summary": "fresh", "step": "project_approval"}
        )
        assert r.status_code == 201, r.text
        return str(r.json()["created_id"])

    return World(code, withdraw_code, rectification, fresh_problem, upload.json()["id"])


class Callers:
    """A browser per caller, signed in once; a fresh one whenever a row ended its session."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.open: dict[str, Browser] = {}

    async def browser(self, caller: str) -> Browser:
        if caller == "anyone":  # no session, but a form token like any visitor of the login form
            browser = Browser(self.api)
            await browser.get("/login")
            return browser
        if caller not in self.open:
            self.open[caller] = await signed_in(self.api, USERS[caller])
        return self.open[caller]

    def forget_if_signed_out(self, caller: str) -> None:
        browser = self.open.get(caller)
        if browser is not None and "approvals_session" not in browser.client.cookies:
            del self.open[caller]


@pytest.fixture(scope="module")
def callers(api: Api) -> Callers:
    return Callers(api)


def answered_as(r: httpx.Response, expected: frozenset[str]) -> bool:
    status = str(r.status_code)
    if status in expected:
        return True
    return LOGIN in expected and r.status_code == 303 and r.headers["location"].startswith("/login")


async def test_the_table_covers_every_page_route(settings: Settings) -> None:
    served = page_operations(create_app(settings))
    listed = {(row.method, row.path) for row in TABLE}
    assert served, "the app serves no page?"
    assert not served - listed, f"page routes without a row in tests/web/pages.tsv: {sorted(served - listed)}"
    assert not listed - served, (
        f"rows of tests/web/pages.tsv for routes the app does not serve: {sorted(listed - served)}"
    )


@pytest.mark.parametrize("row", TABLE, ids=[row.name for row in TABLE])
async def test_page_answers_each_caller_as_the_table_says(world: World, callers: Callers, row: Row) -> None:
    wrong: list[str] = []
    for caller in CALLERS:
        browser = await callers.browser(caller)
        path, form = await world.request(row, caller)
        r = await (browser.get(path) if row.method == "GET" else browser.post(path, form))
        callers.forget_if_signed_out(caller)
        expected = row.expected[caller]
        if not answered_as(r, expected):
            wrong.append(f"{caller}: expected {sorted(expected)}, got {r.status_code} {r.headers.get('location', '')}")
        elif r.status_code >= 400 and not r.headers["content-type"].startswith("text/html"):
            wrong.append(f"{caller}: {r.status_code} is not a page: {r.headers['content-type']}")
    assert not wrong, f"{row.name}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("row", [row for row in TABLE if row.method == "POST"], ids=lambda row: row.name)
async def test_a_form_without_its_token_is_refused(world: World, api: Api, row: Row) -> None:
    """Sent by a caller the row lets act (else the role's 403 would answer first), without its token."""
    caller = next((c for c in USERS if "303" in row.expected[c]), "owner")
    browser = await signed_in(api, USERS[caller])
    path, form = await world.request(row, caller)
    r = await browser.post(path, form, with_csrf=False)
    assert r.status_code == 403 and "表单被拒绝" in r.text, (row.name, r.status_code)
