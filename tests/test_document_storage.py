"""Where documents live: the S3 backend against a real S3-protocol server on loopback (moto's),
the hourly clean-up of unattached uploads through its Temporal schedule, and the API's memory
while a 50 MiB file goes in and out."""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy import update
from sqlmodel import col
from temporalio.client import Client, ScheduleActionExecutionStartWorkflow
from temporalio.testing import ActivityEnvironment

from activities.documents import DocumentCleanup, Removed
from api.main import create_app
from bench.procstat import memory_kib
from launch.processes import HOST, ChildProcess, free_port, service_env, start_api, wait_for_port
from models.db import make_engine, session_factory
from models.storage import S3Storage, make_storage
from models.tables import DocumentRow
from settings import Settings
from tests.api.support import project_for
from tests.chain import steps
from tests.conftest import Api, eventually, open_api
from tests.support import samples
from tests.support.uploads import saved_name, stored_files, uploaded
from workflows.documents import schedule_cleanup

pytestmark = pytest.mark.asyncio(loop_scope="session")

BUCKET = "approvals-documents"
MiB = 1024 * 1024


@pytest.fixture(scope="module")
async def code(api: Api) -> str:
    return str((await project_for(api, "agent-1"))["code"])


async def backdate(settings: Settings, hours: float, *documents: dict[str, Any]) -> None:
    """Make documents look uploaded `hours` ago."""
    engine = make_engine(settings.database_url)
    try:
        async with session_factory(engine)() as db:
            ids = [d["id"] for d in documents]
            when = datetime.now(UTC) - timedelta(hours=hours)
            await db.execute(update(DocumentRow).where(col(DocumentRow.id).in_(ids)).values(uploaded_at=when))
            await db.commit()
    finally:
        await engine.dispose()


# ---- S3 ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3-protocol server on a loopback port, with the bucket created as docker-compose's job does."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request
    server = ThreadedMotoServer(ip_address=HOST, port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="module")
def s3_settings(settings: Settings, s3_endpoint: str) -> Settings:
    values = {"s3_endpoint": s3_endpoint, "s3_access_key": "minio-user", "s3_secret_key": "minio-password"}
    s3 = settings.model_copy(update={"storage_url": f"s3://{BUCKET}/approvals", **values})
    storage = make_storage(s3)
    assert isinstance(storage, S3Storage)
    storage.client.create_bucket(Bucket=BUCKET)
    return s3


@pytest.fixture(scope="module")
async def s3_api(s3_settings: Settings) -> AsyncIterator[Api]:
    async for opened in open_api(create_app(s3_settings)):
        yield opened


def bucket_keys(s3_settings: Settings) -> list[str]:
    storage = make_storage(s3_settings)
    assert isinstance(storage, S3Storage)
    listed = storage.client.list_objects_v2(Bucket=BUCKET)
    return sorted(item["Key"] for item in listed.get("Contents", []))


async def test_s3_stores_the_same_bytes_once_and_serves_them_back(
    s3_api: Api, s3_settings: Settings, code: str
) -> None:
    content = samples.pdf() + uuid.uuid4().bytes
    first = await uploaded(s3_api, code, "owner-a", "规划许可申请.pdf", content)
    second = await uploaded(s3_api, code, "agent-1", "规划许可申请（重交）.pdf", content)
    assert first["sha256"] == second["sha256"]
    assert bucket_keys(s3_settings).count(f"approvals/sha256/{first['sha256']}") == 1
    r = await s3_api.get(f"/documents/{second['id']}", "reviewer-nrp")
    assert r.status_code == 200, r.text
    assert r.content == content and r.headers["content-type"] == "application/pdf"
    assert saved_name(r.headers["content-disposition"])[1] == "规划许可申请（重交）.pdf"


async def test_s3_cleanup_deletes_bytes_only_when_no_document_names_them(
    s3_api: Api, s3_settings: Settings, code: str
) -> None:
    content = samples.png() + uuid.uuid4().bytes
    old = await uploaded(s3_api, code, "owner-a", "旧.png", content)
    newer = await uploaded(s3_api, code, "owner-a", "新.png", content)
    key = f"approvals/sha256/{old['sha256']}"
    engine = make_engine(s3_settings.database_url)
    cleanup = DocumentCleanup(session_factory(engine), make_storage(s3_settings), timedelta(hours=24))
    try:
        await backdate(s3_settings, 25, old)
        removed = await ActivityEnvironment().run(cleanup.remove_unattached_documents)
        assert removed.documents >= 1
        assert (await s3_api.get(f"/documents/{old['id']}", "owner-a")).status_code == 404
        assert key in bucket_keys(s3_settings)  # the newer upload still names these bytes
        assert (await s3_api.get(f"/documents/{newer['id']}", "owner-a")).content == content
        await backdate(s3_settings, 25, newer)
        await ActivityEnvironment().run(cleanup.remove_unattached_documents)
        assert key not in bucket_keys(s3_settings)
    finally:
        await engine.dispose()


# ---- the clean-up, on its schedule ------------------------------------------------------------


async def run_cleanup_now(client: Client, settings: Settings) -> Removed:
    """Trigger the clean-up schedule the worker creates and wait for that run's outcome."""
    handle = client.get_schedule_handle(await schedule_cleanup(client, settings.task_queue))

    async def runs() -> set[tuple[str, str]]:
        actions = (await handle.describe()).info.recent_actions
        return {
            (a.action.workflow_id, a.action.first_execution_run_id)
            for a in actions
            if isinstance(a.action, ScheduleActionExecutionStartWorkflow)
        }

    before = await runs()
    await handle.trigger()

    async def started() -> tuple[str, str]:
        new = await runs() - before
        assert new, "the schedule has not started the clean-up yet"
        return new.pop()

    workflow_id, run_id = await eventually(started)
    removed: Removed = await client.get_workflow_handle(workflow_id, run_id=run_id, result_type=Removed).result()
    return removed


async def test_the_cleanup_removes_old_unattached_uploads_and_keeps_the_rest(
    api: Api, settings: Settings, temporal_client: Client
) -> None:
    project = await project_for(api, "agent-1")
    code = project["code"]
    assert steps(project)["project_approval"]["status"] == "awaiting_submission"
    shared = samples.pdf() + uuid.uuid4().bytes
    forgotten = await uploaded(api, code, "owner-a", "忘了提交.pdf", samples.jpeg() + uuid.uuid4().bytes)
    attached = await uploaded(api, code, "owner-a", "已提交.pdf", samples.pdf() + uuid.uuid4().bytes)
    recent = await uploaded(api, code, "owner-a", "刚上传.pdf", samples.png() + uuid.uuid4().bytes)
    old_copy = await uploaded(api, code, "owner-a", "旧副本.pdf", shared)
    new_copy = await uploaded(api, code, "agent-1", "新副本.pdf", shared)
    r = await api.post(
        f"/projects/{code}/steps/project_approval/submit", "owner-a", json={"documents": [attached["id"]]}
    )
    assert r.status_code == 200, r.text
    await backdate(settings, 24.5, forgotten, attached, old_copy)
    await backdate(settings, 23.5, recent)

    removed = await run_cleanup_now(temporal_client, settings)

    assert removed.documents >= 2 and removed.objects >= 1
    listed = {d["id"] for d in (await api.get(f"/projects/{code}/documents", "owner-a")).json()}
    assert listed == {attached["id"], recent["id"], new_copy["id"]}
    assert stored_files(settings, forgotten["sha256"]) == [], "the forgotten upload's bytes are still stored"
    for kept in (attached, recent, new_copy):
        r = await api.get(f"/documents/{kept['id']}", "owner-a")
        assert r.status_code == 200 and len(r.content) == kept["size"], kept["filename"]


# ---- memory ------------------------------------------------------------------------------------


class PeakRss:
    """The highest resident set of a process, sampled every few milliseconds in a thread."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_kib = max(self.peak_kib, memory_kib(self.pid).get("VmRSS", 0))
            self._stop.wait(0.005)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture(scope="module")
def fifty_mib() -> Iterator[Path]:
    """A 50 MiB PDF (a header, then random bytes) on disk: exactly the default limit."""
    path = Path(tempfile.mkdtemp(prefix="upload-")) / "big.pdf"
    with path.open("wb") as out:
        out.write(b"%PDF-1.7\n")
        remaining = 50 * MiB - 9
        while remaining:
            block = os.urandom(min(MiB, remaining))
            out.write(block)
            remaining -= len(block)
    yield path
    path.unlink()


@pytest.fixture(scope="module")
def api_process(settings: Settings, temporal_server: Any) -> Iterator[tuple[str, ChildProcess]]:
    """The API as its own process (as `make run` and docker-compose run it), with a storage of its own."""
    port = free_port()
    storage = tempfile.mkdtemp(prefix="documents-process-")
    process = start_api({**service_env(settings), "APPROVALS_STORAGE_DIR": storage}, port)
    try:
        wait_for_port(HOST, port, 60)
        yield f"http://{HOST}:{port}", process
    finally:
        process.stop()


async def signed_in(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    r = await client.post("/auth/token", data={"username": username, "password": "demo"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def test_memory_stays_flat_while_50_mib_go_in_and_out(
    api_process: tuple[str, ChildProcess], code: str, fifty_mib: Path
) -> None:
    base_url, process = api_process
    async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:
        headers = await signed_in(client, "owner-a")
        url = f"/projects/{code}/documents"
        # Every code path once, so that the measurement sees the file's cost, not first imports.
        warm = await client.post(url, headers=headers, files={"file": ("warm.pdf", samples.pdf() * 1000)})
        assert warm.status_code == 201, warm.text
        assert (await client.get(f"/documents/{warm.json()['id']}", headers=headers)).status_code == 200
        before = memory_kib(process.pid)["VmRSS"]
        with PeakRss(process.pid) as rss, fifty_mib.open("rb") as file:
            r = await client.post(url, headers=headers, files={"file": ("总平面图集.pdf", file, "application/pdf")})
            assert r.status_code == 201, r.text
            assert r.json()["size"] == 50 * MiB
            received = 0
            async with client.stream("GET", f"/documents/{r.json()['id']}", headers=headers) as download:
                assert download.status_code == 200
                async for chunk in download.aiter_bytes():
                    received += len(chunk)
            assert received == 50 * MiB
    growth = (rss.peak_kib - before) / 1024
    print(
        f"API resident memory: {before / 1024:.1f} MiB before, peak {rss.peak_kib / 1024:.1f} MiB (+{growth:.1f} MiB)"
    )
    assert growth < 20, f"the API grew by {growth:.1f} MiB while a 50 MiB file went in and out"


async def test_an_upload_cut_off_midway_is_dropped_quietly(
    api: Api, api_process: tuple[str, ChildProcess], code: str
) -> None:
    base_url, process = api_process
    async with httpx.AsyncClient(base_url=base_url) as client:
        authorization = (await signed_in(client, "owner-a"))["Authorization"]
    before = [d["id"] for d in (await api.get(f"/projects/{code}/documents", "owner-a")).json()]
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="cut.pdf"\r\n\r\n'
    ).encode() + samples.pdf()
    request = (
        f"POST /projects/{code}/documents HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: {authorization}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {5 * MiB}\r\n\r\n"
    ).encode()
    port = int(base_url.rsplit(":", 1)[1])
    with socket.create_connection((HOST, port)) as connection:
        connection.sendall(request + head + b"\0" * 200_000)  # then the client goes away
    await eventually(lambda: _logged(process, "upload_interrupted"))
    assert "unhandled_error" not in process.log_text() and "Traceback" not in process.log_text()
    after = [d["id"] for d in (await api.get(f"/projects/{code}/documents", "owner-a")).json()]
    assert after == before


async def _logged(process: ChildProcess, event: str) -> None:
    assert event in process.log_text(), f"no {event} in the API's log yet"
