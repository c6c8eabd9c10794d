"""An action's visibility is answered by the project's workflow (api/deps.py, `seen_by_workflow`):
the caller must get exactly the 404 the read model would give, before any 403 or 409."""

from __future__ import annotations

import pytest

from domain.codes import make_project_code
from tests.api.support import assert_problem
from tests.chain import create
from tests.conftest import Api

pytestmark = pytest.mark.asyncio(loop_scope="session")
DECISION = "/projects/{code}/steps/project_approval/decision"


async def test_a_reviewer_the_project_has_not_reached_gets_the_read_models_404(api: Api) -> None:
    code = (await create(api))["code"]
    read = await api.get(f"/projects/{code}", "reviewer-fire")
    acted = await api.post(DECISION.format(code=code), "reviewer-fire", json={"outcome": "approve"})
    assert_problem(read, 404, "not_found")
    assert_problem(acted, 404, "not_found")
    assert acted.json()["detail"] == read.json()["detail"]


async def test_an_owner_of_another_organisation_gets_404_not_403(api: Api) -> None:
    code = (await create(api))["code"]
    r = await api.post(f"/projects/{code}/withdraw", "owner-b", json={"reason": "not mine"})
    assert_problem(r, 404, "not_found")


async def test_a_project_that_was_never_created_is_404(api: Api) -> None:
    code = make_project_code(2026, "310115", "01", "01", 88887)  # no test writes this one
    r = await api.post(DECISION.format(code=code), "reviewer-drc", json={"outcome": "approve"})
    assert_problem(r, 404, "not_found")
