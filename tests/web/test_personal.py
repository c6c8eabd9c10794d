"""The caller's own pages and documents on the pages: the bell and the notifications page, the
settings page, the office's editing of addresses and mobile numbers, the documents of a project
with their downloads, and the submission form's uploads (without JavaScript: one multipart post)."""

from __future__ import annotations

import random
import re
from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client

from api.main import create_app
from domain.codes import make_credit_code
from launch.processes import TemporalDevServer
from settings import Settings
from tests.api.support import make_user
from tests.chain import create
from tests.conftest import Api, make_settings, open_api
from tests.support import samples
from tests.web.support import Browser, signed_in
from web.routes import notifications

pytestmark = pytest.mark.asyncio(loop_scope="session")
PA = "project_approval"
HTMX = {"HX-Request": "true"}


async def three_notices(api: Api, settings: Settings) -> tuple[str, str]:
    """An owner of an organisation of its own, told three times (a project returned, returned,
    rejected); (the owner, the project's code)."""
    org = make_credit_code(f"91310115MA1K{random.randrange(10**5):05d}")
    owner, _ = await make_user(settings, "owner", password="demo", organisation=org)
    body = {"name": "Bell test plant", "category": "general", "owner_credit_code": org, "investment_wan": 80.0}
    r = await api.post("/projects", owner, json=body)
    assert r.status_code == 201, r.text
    code: str = r.json()["code"]
    for outcome in ("return", "return", "reject"):
        assert (await api.post(f"/projects/{code}/steps/{PA}/submit", owner, json={})).status_code == 200
        decided = await api.post(
            f"/projects/{code}/steps/{PA}/decision", "reviewer-drc", json={"outcome": outcome, "comment": "缺少附件"}
        )
        assert decided.status_code == 200, decided.text
    return owner, code


async def test_the_bell_counts_and_the_notifications_page_marks_read(
    api: Api, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner, code = await three_notices(api, settings)
    browser = await signed_in(api, owner)
    home = await browser.get("/p")
    assert 'aria-label="通知（3 条未读）"' in home.text and 'hx-get="/my/notifications/count"' in home.text
    bell = await browser.get("/my/notifications/count", headers=HTMX)
    assert bell.status_code == 200 and "通知（3 条未读）" in bell.text and "<html" not in bell.text

    monkeypatch.setattr(notifications, "PAGE_SIZE", 2)
    first = await browser.get("/my/notifications")
    assert first.status_code == 200 and "3 条未读通知" in first.text
    assert first.text.count('<span class="tag">未读</span>') == 2 and f'href="/p/{code}"' in first.text
    assert "不予许可" in first.text  # the newest first: the rejection
    older = re.search(r'href="(/my/notifications\?cursor=\d+)"', first.text)
    assert older, "no link to the older page"
    second = await browser.get(older.group(1))
    assert second.text.count('<span class="tag">未读</span>') == 1 and "更早" not in second.text
    one = re.search(r'action="/my/notifications/(\d+)/read"', second.text)
    assert one

    r = await browser.post(f"/my/notifications/{one.group(1)}/read", {"next": older.group(1)})
    assert r.status_code == 303 and r.headers["location"] == older.group(1) + "&done=read"
    assert "通知（2 条未读）" in (await browser.get("/my/notifications/count", headers=HTMX)).text
    again = await browser.get(older.group(1))
    assert '<span class="tag">未读</span>' not in again.text and "已标为已读" not in again.text

    someone_else = await signed_in(api, "owner-a")
    assert (await someone_else.post(f"/my/notifications/{one.group(1)}/read", {})).status_code == 404
    refused = await browser.post("/my/notifications/read-all", {}, with_csrf=False)
    assert refused.status_code == 403 and "表单被拒绝" in refused.text
    r = await browser.post("/my/notifications/read-all", {})
    assert r.status_code == 303 and r.headers["location"] == "/my/notifications?done=read-all"
    done = await browser.get(r.headers["location"])
    assert "全部通知已标为已读" in done.text and 'aria-label="通知（0 条未读）"' in done.text
    assert (await api.get("/notifications", owner)).json()["unread_count"] == 0  # the API agrees


async def test_the_settings_page_changes_what_patch_me_notifications_changes(api: Api, settings: Settings) -> None:
    user, _ = await make_user(settings, "leader", password="demo", email="old@example.cn", mobile="13800000000")
    browser = await signed_in(api, user)
    page = await browser.get("/my/settings")
    assert page.status_code == 200 and 'value="old@example.cn"' in page.text and 'value="13800000000"' in page.text
    bad = await browser.post("/my/settings", {"email": "not an address", "mobile": "12ab", "email_enabled": "on"})
    assert bad.status_code == 422 and 'class="error-summary"' in bad.text
    assert "请填写电子邮箱地址" in bad.text and "请填写 6 至 15 位数字的手机号码" in bad.text
    assert (await api.get("/me", user)).json()["email"] == "old@example.cn"  # nothing saved

    sent = {"email": " new@example.cn ", "mobile": "", "email_enabled": "on", "language": "en"}
    r = await browser.post("/my/settings", sent)  # the gateway's box left unticked
    assert r.status_code == 303 and r.headers["location"] == "/my/settings?saved=true"
    me = (await api.get("/me", user)).json()
    assert (me["email"], me["mobile"], me["language"]) == ("new@example.cn", None, "en")
    assert me["email_enabled"] is True and me["webhook_enabled"] is False
    assert "您的设置已保存" in (await browser.get(r.headers["location"])).text


async def test_the_office_sets_and_changes_addresses_and_mobile_numbers(api: Api) -> None:
    office = await signed_in(api, "office-1")
    await office.get("/office/users")
    username = f"leader-page-{random.randrange(10**6)}"
    new = {"username": username, "password": "a-long-password", "role": "leader", "display_name": "领导"}
    bad = await office.post("/office/users", {**new, "email": "nope"})
    assert bad.status_code == 422 and "请填写电子邮箱地址" in bad.text
    r = await office.post("/office/users", {**new, "email": "lead@example.cn", "mobile": "+8613900000000"})
    assert r.status_code == 303, r.text
    listed = {u["username"]: u for u in (await api.get("/users", "office-1")).json()}
    assert (listed[username]["email"], listed[username]["mobile"]) == ("lead@example.cn", "+8613900000000")
    page = await office.get("/office/users")
    assert "lead@example.cn" in page.text and f'id="mobile-{username}"' in page.text

    refused = await office.post(f"/office/users/{username}", {"change": "contacts", "email": "", "mobile": "12ab"})
    assert refused.status_code == 422 and "请填写 6 至 15 位数字的手机号码" in refused.text
    r = await office.post(f"/office/users/{username}", {"change": "contacts", "email": "", "mobile": "13700000000"})
    assert r.status_code == 303
    changed = {u["username"]: u for u in (await api.get("/users", "office-1")).json()}[username]
    assert (changed["email"], changed["mobile"]) == (None, "13700000000")
    # The API takes them too, checked by the same schema.
    r = await api.call("PATCH", f"/users/{username}", "office-1", json={"email": "x@"})
    assert r.status_code == 422


def multipart_form(browser: Browser, fields: dict[str, str]) -> dict[str, str]:
    return {"csrf_token": browser.csrf, **fields}


async def test_a_submission_form_uploads_its_files_and_the_step_page_lists_them(api: Api) -> None:
    code = (await create(api))["code"]
    owner = await signed_in(api, "owner-a")
    step = f"/p/{code}/steps/{PA}"
    form = await owner.get(step)
    assert f'action="/p/{code}/steps/{PA}/submit" enctype="multipart/form-data"' in form.text
    assert 'type="file" id="submit-project_approval-file" name="file" multiple' in form.text

    # A file of a kind not accepted: the form again, the reason beside the field, nothing submitted.
    program = ("批复.pdf", b"MZ\x90\x00" + b"\x00" * 200, "application/pdf")
    r = await owner.client.post(
        f"/p/{code}/steps/{PA}/submit",
        data=multipart_form(owner, {"action": "submit", "note": "材料", "next": step}),
        files=[("file", program)],
    )
    assert r.status_code == 415 and "不接受此类文件" in r.text
    assert 'id="submit-project_approval-file-error"' in r.text and 'href="#submit-project_approval-file"' in r.text
    assert (await api.get(f"/projects/{code}", "owner-a")).json()["stages"][0]["steps"][0]["status"] != "in_review"

    # Two files and a note: kept as documents, then submitted naming them.
    files = [("file", ("可行性研究报告.pdf", samples.pdf(), "application/pdf"))]
    files.append(("file", ("用地证明.pdf", samples.pdf() + b"\n% second", "application/pdf")))
    r = await owner.client.post(
        f"/p/{code}/steps/{PA}/submit",
        data=multipart_form(owner, {"action": "submit", "note": "材料齐全", "next": step}),
        files=files,
    )
    assert r.status_code == 303 and r.headers["location"] == f"{step}?done=submit", r.text
    events = (await api.get(f"/projects/{code}/events", "owner-a")).json()
    submitted = next(e for e in events if e["action"] == "submitted")
    assert [d["filename"] for d in submitted["detail"]["documents"]] == ["可行性研究报告.pdf", "用地证明.pdf"]

    reviewer = await signed_in(api, "reviewer-drc")
    page = await reviewer.get(step)
    ids = [d["id"] for d in submitted["detail"]["documents"]]
    assert f'href="/p/{code}/documents/{ids[0]}"' in page.text and "本环节已上传 2 份材料" in page.text
    assert submitted["detail"]["documents"][0]["sha256"][:12] in page.text
    assert "本项目已上传 2 份材料" in (await reviewer.get(f"/p/{code}")).text
    download = await reviewer.get(f"/p/{code}/documents/{ids[0]}")
    assert download.status_code == 200 and download.content == samples.pdf()
    assert (
        "attachment" in download.headers["content-disposition"]
        and download.headers["x-content-type-options"] == "nosniff"
    )
    # Another enterprise: the 404 page, for the document as for the project.
    stranger = await signed_in(api, "owner-b")
    assert (await stranger.get(f"/p/{code}/documents/{ids[0]}")).status_code == 404


@pytest.fixture(scope="module")
async def small(database_url: str, temporal_server: TemporalDevServer, temporal_client: Client) -> AsyncIterator[Api]:
    """The app with uploads of at most 1 MiB, on the session's database (no worker: uploads only)."""
    settings = make_settings(database_url, temporal_server.address, max_upload_mb=1)
    async for api in open_api(create_app(settings)):
        yield api


async def test_the_upload_for_the_progress_bar_answers_with_the_box_or_the_refusal(api: Api, small: Api) -> None:
    code = (await create(api))["code"]
    owner = await signed_in(small, "owner-a")
    await owner.get(f"/p/{code}/steps/{PA}")
    headers = {"X-CSRF-Token": owner.csrf}
    kept = await owner.client.post(
        f"/p/{code}/documents", data={"step": PA}, files={"file": ("报告.pdf", samples.pdf())}, headers=headers
    )
    assert (
        kept.status_code == 201
        and 'name="documents"' in kept.text
        and "报告.pdf" in kept.text
        and " checked" in kept.text
    )
    big = ("图纸.pdf", samples.pdf() + b"\0" * (1024 * 1024 + 1))
    r = await owner.client.post(f"/p/{code}/documents", data={"step": PA}, files={"file": big}, headers=headers)
    assert r.status_code == 413 and "文件超过 1 MiB" in r.text and r.headers["content-type"].startswith("text/html")
    r = await owner.client.post(
        f"/p/{code}/documents", data={"step": PA}, files={"file": ("a.pdf", b"hello")}, headers=headers
    )
    assert r.status_code == 415 and "不接受此类文件" in r.text
    # The step page offers the kept document, ticked, for the next submission.
    page = await owner.get(f"/p/{code}/steps/{PA}")
    document = re.search(r'name="documents" value="([0-9a-f-]+)" checked', page.text)
    assert document and "报告.pdf" in page.text
