"""Application materials over the real app: what may be uploaded and by whom, the limits, hostile
names, downloads that keep Chinese names, and submissions that name their documents."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlmodel import col, select

from api.main import create_app
from models.db import make_engine, session_factory
from models.tables import DocumentRow, StoredObjectRow
from settings import Settings
from tests.api.support import assert_problem, project_for
from tests.chain import steps, view
from tests.conftest import Api, open_api
from tests.support import samples
from tests.support.uploads import multipart, saved_name, stored_files, upload, uploaded

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture(scope="module")
async def code(api: Api) -> str:
    """owner-a's project, agent-1 its deputy; drc and nrp reached it (their first steps opened), fire did not."""
    project = await project_for(api, "agent-1")
    opened = {s["department"] for s in steps(project).values() if s["status"] != "pending"}
    assert {"drc", "nrp"} <= opened and "fire" not in opened, opened
    return str(project["code"])


@pytest.fixture(scope="module")
async def small(settings: Settings) -> AsyncIterator[Api]:
    """The app with a 1 MiB upload limit, on the same database and storage."""
    async for opened in open_api(create_app(settings.model_copy(update={"max_upload_mb": 1}))):
        yield opened


async def rows(settings: Settings, model: Any, where: Any) -> list[Any]:
    engine = make_engine(settings.database_url)
    try:
        async with session_factory(engine)() as db:
            return list((await db.exec(select(model).where(where))).all())
    finally:
        await engine.dispose()


# ---- what may be uploaded ----------------------------------------------------------------------


@pytest.mark.parametrize(("name", "content", "media_type"), samples.ACCEPTED, ids=[n for n, _, _ in samples.ACCEPTED])
async def test_each_accepted_kind_is_judged_from_its_bytes(
    api: Api, code: str, name: str, content: bytes, media_type: str
) -> None:
    # Named as some other kind: the bytes decide, not the name.
    document = await uploaded(api, code, "owner-a", "附件.bin", content)
    assert document["content_type"] == media_type
    assert document["size"] == len(content)
    assert document["sha256"] == hashlib.sha256(content).hexdigest()
    assert document["uploaded_by"] == "owner-a" and document["attached_at"] is None
    r = await api.get(f"/documents/{document['id']}", "owner-a")
    assert r.status_code == 200, r.text
    assert r.content == content
    assert r.headers["content-type"] == media_type
    assert r.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(("name", "content"), samples.REFUSED, ids=[n for n, _ in samples.REFUSED])
async def test_other_files_are_refused_whatever_their_name(
    api: Api, settings: Settings, code: str, name: str, content: bytes
) -> None:
    before = (await api.get(f"/projects/{code}/documents", "owner-a")).json()
    body = assert_problem(await upload(api, code, "owner-a", name, content), 415, "unsupported_document")
    assert "PDF" in body["detail"]
    assert (await api.get(f"/projects/{code}/documents", "owner-a")).json() == before
    assert stored_files(settings, hashlib.sha256(content).hexdigest()) == []


async def test_a_body_that_is_not_one_file_is_refused(api: Api, code: str) -> None:
    path = f"/projects/{code}/documents"
    before = (await api.get(path, "owner-a")).json()
    r = await api.post(path, "owner-a", json={"file": "申报材料.pdf"})
    assert_problem(r, 415, "unsupported_media_type")
    body, headers = multipart("a.pdf", samples.pdf(), field="attachment")
    r = await api.call("POST", path, "owner-a", content=body, headers=headers)
    assert assert_problem(r, 422, "invalid_input")["errors"][0]["loc"] == ["body", "attachment"]
    boundary = headers["Content-Type"].rsplit("=", 1)[1]
    only_step = f'--{boundary}\r\nContent-Disposition: form-data; name="step"\r\n\r\nsurvey\r\n--{boundary}--\r\n'
    r = await api.call("POST", path, "owner-a", content=only_step.encode(), headers=headers)
    assert assert_problem(r, 422, "invalid_input")["errors"][0]["loc"] == ["body", "file"]
    body, headers = multipart("a.pdf", samples.pdf())
    boundary = headers["Content-Type"].rsplit("=", 1)[1]
    cut = body[: body.rindex(b"--" + boundary.encode() + b"--")]  # no closing boundary
    assert_problem(await api.call("POST", path, "owner-a", content=cut, headers=headers), 400, "bad_request")
    assert (await api.get(path, "owner-a")).json() == before


async def test_a_step_is_one_of_the_project(api: Api, code: str) -> None:
    document = await uploaded(api, code, "owner-a", "用地预审申请表.pdf", samples.pdf(), step="land_prereview")
    assert document["step"] == "land_prereview"
    listed = (await api.get(f"/projects/{code}/documents?step=land_prereview", "owner-a")).json()
    assert [d["id"] for d in listed] == [document["id"]]
    everything = (await api.get(f"/projects/{code}/documents", "owner-a")).json()
    assert document["id"] in [d["id"] for d in everything] and len(everything) > len(listed)
    r = await upload(api, code, "owner-a", "a.pdf", samples.pdf(), step="no_such_step")
    assert_problem(r, 422, "unknown_document_step")
    r = await upload(api, code, "owner-a", "a.pdf", samples.pdf(), step="Land Prereview")
    assert assert_problem(r, 422, "invalid_input")["errors"][0]["loc"] == ["body", "step"]


# ---- limits ------------------------------------------------------------------------------------


async def test_a_file_over_the_limit_is_refused_and_not_kept(small: Api, settings: Settings, code: str) -> None:
    limit = 1024 * 1024
    exactly = samples.pdf() + b"\0" * (limit - len(samples.pdf()))
    assert len(exactly) == limit
    assert (await upload(small, code, "owner-a", "exactly.pdf", exactly)).status_code == 201
    for size in (limit + 1, 3 * limit):  # streamed past the limit; declared past it in Content-Length
        content = samples.pdf() + b"\1" * (size - len(samples.pdf()))
        r = await upload(small, code, "owner-a", "too-large.pdf", content)
        assert "1 MiB" in assert_problem(r, 413, "document_too_large")["detail"]
        assert stored_files(settings, hashlib.sha256(content).hexdigest()) == []
    names = [d["filename"] for d in (await small.get(f"/projects/{code}/documents", "owner-a")).json()]
    assert "exactly.pdf" in names and "too-large.pdf" not in names


# ---- names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\Windows\\System32\\批复.pdf", "批复.pdf"),
        (b"C:\\Users\\\xe5\xbc\xa0\xe4\xb8\x89\\\xe6\x8a\xa5\xe5\x91\x8a.pdf", "报告.pdf"),  # a full Windows path
        ("re\x00port\x1b[31m\x7f.pdf", "report[31m.pdf"),
        ("发票\u202efdp.exe", "发票fdp.exe"),  # a right-to-left override that would show "exe.pdf"
        ("a<b>c:d|e?.pdf", "a_b_c_d_e_.pdf"),
        ("  ...  ", "document.pdf"),
        ("环评报告（修订版）.pdf".encode("gb18030"), "环评报告（修订版）.pdf"),  # an older Chinese Windows client
    ],
)
async def test_hostile_names_are_cleaned(api: Api, code: str, sent: str | bytes, kept: str) -> None:
    document = await uploaded(api, code, "owner-a", sent, samples.pdf())
    assert document["filename"] == kept


async def test_a_long_name_is_cut_and_keeps_its_extension(api: Api, code: str) -> None:
    for stem in ("a" * 296, "报" * 296):
        document = await uploaded(api, code, "owner-a", f"{stem}.pdf", samples.pdf())
        name = document["filename"]
        assert name.endswith(".pdf") and set(name[:-4]) == {stem[0]}
        assert 150 <= len(name.encode()) <= 200, len(name.encode())


async def test_a_chinese_name_survives_the_round_trip(api: Api, code: str) -> None:
    name = "某某产业园建设项目环境影响报告表（报批稿）.pdf"
    document = await uploaded(api, code, "owner-a", name, samples.pdf())
    assert document["filename"] == name
    r = await api.get(f"/documents/{document['id']}", "reviewer-nrp")
    assert r.status_code == 200, r.text
    fallback, exact = saved_name(r.headers["content-disposition"])
    assert exact == name
    assert fallback == "document.pdf" and fallback.isascii()
    assert r.headers["content-type"] == "application/pdf"


# ---- who may -----------------------------------------------------------------------------------


async def test_the_applicant_uploads_and_whoever_sees_the_project_reads(api: Api, code: str) -> None:
    mine = await uploaded(api, code, "owner-a", "owner.pdf", samples.pdf())
    deputy = await uploaded(api, code, "agent-1", "deputy.pdf", samples.png())
    assert deputy["uploaded_by"] == "agent-1"
    for user in ("reviewer-nrp", "reviewer-drc", "chief-initiation", "office-1", "leader-1"):
        assert (await api.get(f"/documents/{mine['id']}", user)).status_code == 200, user
        listed = (await api.get(f"/projects/{code}/documents", user)).json()
        assert {mine["id"], deputy["id"]} <= {d["id"] for d in listed}, user
    for user in ("reviewer-drc", "office-1", "leader-1", "chief-initiation"):
        assert_problem(await upload(api, code, user, "x.pdf", samples.pdf()), 403, "forbidden_role")


async def test_who_may_not_see_the_project_gets_404_for_its_documents(api: Api, code: str) -> None:
    document = await uploaded(api, code, "owner-a", "保密.pdf", samples.pdf())
    never = str(uuid.uuid4())
    for user in ("owner-b", "reviewer-fire", "agent-2"):
        hidden = assert_problem(await api.get(f"/documents/{document['id']}", user), 404, "not_found")
        unknown = assert_problem(await api.get(f"/documents/{never}", user), 404, "not_found")
        assert hidden["detail"].replace(document["id"], never) == unknown["detail"]  # nothing tells them apart
        assert_problem(await api.get(f"/projects/{code}/documents", user), 404, "not_found")
    assert_problem(await upload(api, code, "owner-b", "x.pdf", samples.pdf()), 404, "not_found")
    assert_problem(await upload(api, code, "agent-2", "x.pdf", samples.pdf()), 404, "not_found")


async def test_an_ended_project_takes_no_more_documents(api: Api) -> None:
    ended = (await project_for(api, "agent-1"))["code"]
    r = await api.post(f"/projects/{ended}/withdraw", "owner-a", json={"reason": "plans changed"})
    assert r.status_code == 200, r.text
    assert_problem(await upload(api, ended, "owner-a", "late.pdf", samples.pdf()), 409, "project_ended")


# ---- storage -----------------------------------------------------------------------------------


async def test_the_same_bytes_are_stored_once(api: Api, settings: Settings, code: str) -> None:
    content = samples.pdf() + uuid.uuid4().bytes  # bytes no other test uploads
    first = await uploaded(api, code, "owner-a", "营业执照.pdf", content)
    second = await uploaded(api, code, "agent-1", "营业执照（副本）.pdf", content)
    assert first["id"] != second["id"] and first["sha256"] == second["sha256"]
    assert len(stored_files(settings, first["sha256"])) == 1
    assert len(await rows(settings, StoredObjectRow, col(StoredObjectRow.sha256) == first["sha256"])) == 1
    for document in (first, second):
        assert (await api.get(f"/documents/{document['id']}", "owner-a")).content == content


async def test_a_repeated_upload_with_its_key_is_one_document(api: Api, settings: Settings, code: str) -> None:
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await upload(api, code, "owner-a", "重复.pdf", samples.pdf(), headers=key)
    again = await upload(api, code, "owner-a", "重复.pdf", samples.pdf(), headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == f"/documents/{first.json()['id']}"
    assert len(await rows(settings, DocumentRow, col(DocumentRow.filename) == "重复.pdf")) == 1
    other = await upload(api, code, "owner-a", "另一个.pdf", samples.pdf(), headers=key)
    assert_problem(other, 422, "idempotency_key_reused")
    bad = await upload(api, code, "owner-a", "a.pdf", samples.pdf(), headers={"Idempotency-Key": "two words"})
    assert_problem(bad, 422, "invalid_idempotency_key")


# ---- submissions -------------------------------------------------------------------------------


async def test_a_submission_records_exactly_which_files_it_named(api: Api, settings: Settings) -> None:
    code = (await project_for(api, "agent-1"))["code"]
    plan = await uploaded(api, code, "owner-a", "项目建议书.pdf", samples.pdf(), step="project_approval")
    budget = await uploaded(api, code, "agent-1", "投资估算.xlsx", samples.xlsx())
    body = {"note": "材料齐全", "documents": [plan["id"], budget["id"], plan["id"]]}
    r = await api.post(f"/projects/{code}/steps/project_approval/submit", "owner-a", json=body)
    assert r.status_code == 200, r.text
    events = (await api.get(f"/projects/{code}/events", "reviewer-drc")).json()
    submitted = next(e for e in events if e["action"] == "submitted")
    assert submitted["detail"]["documents"] == [
        {"id": plan["id"], "filename": "项目建议书.pdf", "sha256": plan["sha256"]},
        {"id": budget["id"], "filename": "投资估算.xlsx", "sha256": budget["sha256"]},
    ]
    listed = {d["id"]: d for d in (await api.get(f"/projects/{code}/documents", "owner-a")).json()}
    assert listed[plan["id"]]["attached_at"] is not None and listed[budget["id"]]["attached_at"] is not None


async def test_an_unknown_or_foreign_document_submits_nothing(api: Api, settings: Settings, code: str) -> None:
    other = (await project_for(api, "agent-1"))["code"]
    foreign = await uploaded(api, other, "owner-a", "别的项目.pdf", samples.pdf())
    own = await uploaded(api, code, "owner-a", "本项目.pdf", samples.pdf())
    events = len((await api.get(f"/projects/{code}/events", "owner-a")).json())
    for named in ([str(uuid.uuid4())], [own["id"], foreign["id"]]):
        r = await api.post(f"/projects/{code}/steps/project_approval/submit", "owner-a", json={"documents": named})
        assert_problem(r, 422, "unknown_document")
    assert len((await api.get(f"/projects/{code}/events", "owner-a")).json()) == events
    assert steps(await view(api, code))["project_approval"]["status"] == "awaiting_submission"
    for document in (own, foreign):
        (row,) = await rows(settings, DocumentRow, col(DocumentRow.id) == document["id"])
        assert row.attached_at is None  # a refused submission attaches nothing
    r = await api.post(f"/projects/{code}/steps/project_approval/submit", "owner-a", json={"documents": ["plan.pdf"]})
    assert_problem(r, 422, "invalid_input")  # names, as before uploads, are no ids
