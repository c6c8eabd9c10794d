"""`make run` keeps the service up: the real run.py on free ports and a data folder of its own,
its parts killed in turn, a part that cannot start, and Ctrl-C."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from launch.databases import create_database, drop_database
from launch.processes import HOST, ROOT, free_port, port_taken

T = TypeVar("T")
START_SECONDS = 90.0  # Temporal, migrations, seed, worker and API on a busy two-core machine


def wait_until(check: Callable[[], T | None], within: float, what: str) -> T:
    """Poll `check` until it returns something other than None; fail naming `what` after `within` s."""
    deadline = time.monotonic() + within
    while True:
        found = check()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {within:.0f} s")
        time.sleep(0.2)


class RunPy:
    """`python run.py` as `make run` starts it, with its output (JSON log lines) in a file."""

    def __init__(self, data: Path, database_url: str, **env: str) -> None:
        self.data = data
        self.api_port, self.temporal_port, self.ui_port = free_port(), free_port(), free_port()
        self.output = data.parent / "run.out"
        overrides = {
            "APPROVALS_DATA_DIR": str(data),
            "APPROVALS_API_PORT": str(self.api_port),
            "APPROVALS_TEMPORAL_ADDRESS": f"{HOST}:{self.temporal_port}",
            "APPROVALS_TEMPORAL_UI_PORT": str(self.ui_port),
            "DATABASE_URL": database_url,
            "APPROVALS_TASK_QUEUE": f"run-test-{uuid.uuid4().hex[:8]}",
            "APPROVALS_SEED_DEMO": "true",
            "APPROVALS_DEMO_PASSWORD": "demo",
            "APPROVALS_LOG_JSON": "true",
            **env,
        }
        with self.output.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "run.py"],
                cwd=ROOT,
                env={**os.environ, **overrides},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.http = httpx.Client(base_url=f"http://{HOST}:{self.api_port}", timeout=60, trust_env=False)

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def events(self, name: str, **fields: Any) -> list[dict[str, Any]]:
        """The supervisor's log lines with this event name and these field values."""
        found = []
        for line in self.text().splitlines():
            if line.startswith("{"):
                entry = json.loads(line)
                if entry.get("event") == name and all(entry.get(k) == v for k, v in fields.items()):
                    found.append(entry)
        return found

    def pid(self, part: str) -> int:
        """The part's current process id."""
        started: int = self.events("part_started", part=part)[-1]["pid"]
        return started

    def wait_restarted(self, part: str, killed: int) -> None:
        """Return once the part runs in a new process; fail after a minute."""

        def new_pid() -> int | None:
            pid = self.pid(part)
            return pid if pid != killed else None

        wait_until(new_pid, 60, f"the {part} started again")

    def all_pids(self) -> set[int]:
        return {entry["pid"] for entry in self.events("part_started")}

    def healthy(self) -> bool | None:
        try:
            return True if self.http.get("/health").status_code == 200 else None
        except httpx.HTTPError:
            return None

    def wait_healthy(self, within: float = START_SECONDS) -> None:
        def check() -> bool | None:
            assert self.process.poll() is None, f"run.py ended with {self.process.returncode}:\n{self.text()}"
            return self.healthy()

        wait_until(check, within, "GET /health answering 200")

    def wait_exit(self, within: float) -> int:
        try:
            return self.process.wait(within)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"run.py still running after {within:.0f} s:\n{self.text()}") from None

    def close(self) -> None:
        """Whatever a failed test left: stop run.py as Ctrl-C would, then make sure."""
        self.http.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pid in self.all_pids():
            if alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)


class Office:
    """The owner of the demo directory, creating and reading projects through the HTTP API."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        token = http.post("/auth/token", data={"username": "owner-a", "password": "demo"}).json()["access_token"]
        self.headers = {"Authorization": f"Bearer {token}"}
        self.organisation = http.get("/me", headers=self.headers).json()["organisation"]

    def create(self) -> str:
        """A new project; retried with the same Idempotency-Key while a part is still coming back."""
        body = {
            "name": "Warehouse",
            "category": "general",
            "owner_credit_code": self.organisation,
            "investment_wan": 5000,
        }
        headers = {**self.headers, "Idempotency-Key": str(uuid.uuid4())}

        def attempt() -> str | None:
            try:
                r = self.http.post("/projects", json=body, headers=headers)
            except httpx.TransportError:
                return None
            assert r.status_code in (201, 503), r.text
            return str(r.json()["code"]) if r.status_code == 201 else None

        return wait_until(attempt, 60, "a project created")

    def status(self, code: str) -> int:
        return self.http.get(f"/projects/{code}", headers=self.headers).status_code


def alive(pid: int) -> bool:
    """Whether a process with this id still exists (not even as a zombie)."""
    try:
        return not Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except (FileNotFoundError, IndexError):
        return False


def failed_run(data: Path, database_url: str, within: float, **env: str) -> RunPy:
    """run.py started and ended with status 1 within `within` seconds."""
    run = RunPy(data, database_url, **env)
    try:
        assert run.wait_exit(within) == 1, run.text()
    finally:
        run.close()
    return run


@pytest.fixture
def database_url() -> Iterator[str]:
    url = create_database(os.environ.get("APPROVALS_TEST_DATABASE_URL"))
    yield url
    drop_database(url)


@pytest.fixture
def started(tmp_path: Path, database_url: str) -> Iterator[RunPy]:
    run = RunPy(tmp_path / "data", database_url)
    try:
        run.wait_healthy()
        yield run
    finally:
        run.close()


def test_each_part_killed_comes_back_and_ctrl_c_stops_everything(started: RunPy) -> None:
    run = started
    office = Office(run.http)
    before = office.create()

    for part in ("worker", "api", "temporal"):
        killed = run.pid(part)
        os.kill(killed, signal.SIGKILL)
        run.wait_restarted(part, killed)
        [exited] = run.events("part_exited", pid=killed)
        assert exited["part"] == part and exited["exit"] == "signal SIGKILL", exited
        assert run.events("part_restarting", part=part), run.text()
        run.wait_healthy(within=60)
        assert office.status(before) == 200
        office.create()  # needs the worker: after a Temporal restart too, it has reconnected

    # Ctrl-C, and a second one during the shutdown, which must change nothing.
    pids = run.all_pids()
    run.process.send_signal(signal.SIGINT)
    wait_until(lambda: run.events("stopping") or None, 10, "the stop begun")
    run.process.send_signal(signal.SIGINT)
    assert run.wait_exit(40) == 0, run.text()
    stopped = [entry["part"] for entry in run.events("part_stopped")]
    assert stopped == ["api", "worker", "temporal"], run.text()
    assert not [pid for pid in pids if alive(pid)]
    assert not [port for port in (run.api_port, run.temporal_port, run.ui_port) if port_taken(port)]


def test_a_part_that_cannot_start_ends_run_naming_it(tmp_path: Path, database_url: str) -> None:
    # Temporal's data file is damaged: each start fails at once, five times 1, 2, 4 and 8 s apart.
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "temporal.db").write_text("this is not a database\n" * 100)
    run = failed_run(tmp_path / "data", database_url, within=60)
    output = run.text()
    log_file = tmp_path / "data" / "temporal.log"
    assert (
        f"run: temporal cannot start: it exited 5 times in a row within 30 s of starting (last: code 1); its log: {log_file}"
        in output
    ), output
    assert "file is not a database" in output  # the tail of Temporal's log, printed with the message
    assert [entry["part"] for entry in run.events("part_exited")] == ["temporal"] * 5
    assert [entry["in_seconds"] for entry in run.events("part_restarting")] == [1, 2, 4, 8]
    assert [entry["part"] for entry in run.events("giving_up")] == ["temporal"]
    assert not run.events("part_started")
    assert not [pid for pid in run.all_pids() if alive(pid)]


def test_a_port_in_use_at_the_start_ends_run_at_once(tmp_path: Path, database_url: str) -> None:
    with socket.socket() as squatter:
        squatter.bind((HOST, 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        run = failed_run(tmp_path / "data", database_url, within=30, APPROVALS_API_PORT=str(taken))
    assert f"run: port {taken} (API) already in use" in run.text(), run.text()
    assert not run.events("part_started")
    assert not (tmp_path / "data" / "temporal.db").exists()


def test_a_broken_read_model_ends_run_naming_it(tmp_path: Path) -> None:
    # Nothing listens on port 1: the migration cannot connect. The password must not be shown.
    broken = f"postgresql+psycopg://approvals:s3cret-pw@{HOST}:1/approvals"
    run = failed_run(tmp_path / "data", broken, within=60)
    output = run.text()
    assert "run: read model cannot start: preparing postgresql+psycopg://approvals:***@" in output, output
    assert "s3cret-pw" not in output
    assert [entry["part"] for entry in run.events("part_stopped")] == ["temporal"]
    assert not [pid for pid in run.all_pids() if alive(pid)]
