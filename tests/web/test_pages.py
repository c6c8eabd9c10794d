"""The pages over HTTP: signing in, the project page, acting from it, refusals as pages."""

from __future__ import annotations

import pytest

from tests.chain import create
from tests.conftest import Api
from tests.web.support import Browser, signed_in

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_home_sends_a_stranger_to_the_login_form_and_a_user_to_its_home(api: Api) -> None:
    browser = Browser(api)
    r = await browser.get("/")
    assert r.status_code == 303 and r.headers["location"] == "/login"
    r = await browser.get("/login")
    assert r.status_code == 200 and 'lang="zh-CN"' in r.text and "登录" in r.text
    await browser.sign_in("reviewer-drc")
    assert (await browser.get("/")).headers["location"] == "/inbox"


async def test_wrong_password_stays_on_the_form_with_the_reason(api: Api) -> None:
    browser = Browser(api)
    await browser.get("/login")
    r = await browser.post("/login", {"username": "owner-a", "password": "not-the-password"})
    assert r.status_code == 401 and "用户名或密码错误" in r.text


async def test_a_form_without_its_csrf_token_is_refused(api: Api) -> None:
    browser = Browser(api)
    await browser.get("/login")
    r = await browser.post("/login", {"username": "owner-a", "password": "demo"}, with_csrf=False)
    assert r.status_code == 403 and "approvals_session" not in r.headers.get("set-cookie", "")


async def test_the_owner_submits_from_the_project_page(api: Api) -> None:
    code = (await create(api))["code"]
    owner = await signed_in(api, "owner-a")
    r = await owner.get(f"/p/{code}")
    assert r.status_code == 200 and code in r.text
    assert 'value="submit"' in r.text and 'value="decide"' not in r.text  # only what the owner may do now
    r = await owner.post(f"/p/{code}/act", {"action": "submit", "target": "project_approval", "note": "材料齐全"})
    assert r.status_code == 303, r.text
    page = await owner.get(r.headers["location"])
    assert "申请已提交" in page.text and "审查中" in page.text
    reviewer = await signed_in(api, "reviewer-drc")
    assert 'value="decide"' in (await reviewer.get(f"/p/{code}")).text
    # The open page's lights, as htmx asks for them: the project's and the step's now in review.
    lights = (await owner.get(f"/p/{code}/lights", headers={"HX-Request": "true"})).text
    assert 'id="light-project" hx-swap-oob="true"' in lights and 'id="light-project_approval"' in lights
    assert "绿灯" in lights


async def test_someone_who_may_not_see_the_project_gets_the_404_page(api: Api) -> None:
    code = (await create(api))["code"]
    stranger = await signed_in(api, "owner-b")
    r = await stranger.get(f"/p/{code}")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html") and "找不到" in r.text
