"""What the browser tests found on the project page, kept fixed over HTTP: a signed commitment, a
form sent back with its error next to its own field and what was entered kept, an unexpected
error shown as a page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from temporalio.worker import Worker

from api.main import create_app
from settings import Settings
from tests.chain import create, steps, view
from tests.conftest import Api, open_api
from tests.web.support import Browser, signed_in
from web.pages import page_router

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_the_owner_signs_a_commitment_from_the_page(api: Api) -> None:
    code = (await create(api))["code"]
    owner = await signed_in(api, "owner-a")
    await owner.get(f"/p/{code}")
    r = await owner.post(f"/p/{code}/act", {"action": "commit", "target": "land_prereview", "note": "承诺已符合条件"})
    assert r.status_code == 303, r.text
    assert steps(await view(api, code))["land_prereview"]["status"] == "granted"


async def test_a_return_without_an_opinion_comes_back_to_its_own_field(api: Api) -> None:
    code = (await create(api))["code"]
    r = await api.post(f"/projects/{code}/steps/project_approval/submit", "owner-a", json={})
    assert r.status_code == 200, r.text
    reviewer = await signed_in(api, "reviewer-drc")
    await reviewer.get(f"/p/{code}")
    form = {"action": "decide", "target": "project_approval", "outcome": "return", "comment": " "}
    r = await reviewer.post(f"/p/{code}/act", form)
    assert r.status_code == 422
    field = "decide-project_approval-comment"
    assert f'<a href="#{field}">请填写意见，说明理由。</a>' in r.text  # the summary leads to the field
    assert f'id="{field}-error"' in r.text and r.text.count('class="error-message"') == 1  # only this form's
    assert re.search(r'value="return" id="decide-project_approval-return" checked', r.text)  # the choice kept
    assert steps(await view(api, code))["project_approval"]["status"] == "in_review"


async def test_ids_are_unique_where_two_forms_have_the_same_field(api: Api) -> None:
    code = (await create(api))["code"]
    owner = await signed_in(api, "owner-a")
    page = (await owner.get(f"/p/{code}")).text
    ids = re.findall(r' id="([^"]+)"', page)
    assert 'for="submit-land_prereview-note"' in page and 'for="commit-land_prereview-note"' in page
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


@pytest.fixture(scope="module")
async def failing_app(settings: Settings, worker: Worker) -> AsyncIterator[Api]:
    """The app with one more page that fails unexpectedly."""
    app: FastAPI = create_app(settings)
    router = page_router()

    @router.get("/broken-page")
    async def broken() -> None:
        raise RuntimeError("a bug")

    app.include_router(router)
    async for opened in open_api(app):
        yield opened


async def test_an_unexpected_error_on_a_page_is_an_error_page(failing_app: Api) -> None:
    transport = httpx.ASGITransport(app=failing_app.client._transport.app, raise_app_exceptions=False)  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=transport, base_url="http://approvals.test") as client:
        r = await client.get("/broken-page")
    assert r.status_code == 500 and r.headers["content-type"].startswith("text/html")
    assert "出现问题" in r.text and "internal_error" not in r.text
    browser = Browser(failing_app)
    assert (await browser.get("/login")).status_code == 200  # the app goes on
