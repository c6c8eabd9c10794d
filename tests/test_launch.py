"""The launch helpers in launch/ start, stop and clean up what they promise."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from launch.databases import create_database, drop_database
from launch.processes import TEMPORAL, ChildProcess, TemporalDevServer, free_port, wait_for_port
from workflows.search import SEARCH_ATTRIBUTES


def temporal_cli(server: TemporalDevServer, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [str(TEMPORAL), *args, "--address", server.address]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30)


def test_free_port_can_be_bound() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
    assert 0 < port < 65536


def test_wait_for_port_returns_once_listening_and_times_out_otherwise() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        wait_for_port("127.0.0.1", listener.getsockname()[1], timeout=5)

    started = time.monotonic()
    with pytest.raises(TimeoutError):
        wait_for_port("127.0.0.1", free_port(), timeout=0.3)
    assert time.monotonic() - started < 5


def test_dev_server_keeps_workflows_across_kill_and_restart(tmp_path: Path) -> None:
    server = TemporalDevServer.start(db_file=tmp_path / "temporal.db")
    try:
        host, port = server.address.split(":")
        assert host == "127.0.0.1" and int(port) == server.port

        listed = temporal_cli(server, "operator", "search-attribute", "list")
        assert listed.returncode == 0, listed.stderr
        assert all(key.name in listed.stdout for key in SEARCH_ATTRIBUTES), listed.stdout

        start = ["workflow", "start", "--type", "Probe", "--task-queue", "probe", "--workflow-id", "probe-1"]
        started = temporal_cli(server, *start, "--output", "json")
        assert started.returncode == 0, started.stderr
        run_id = json.loads(started.stdout)["runId"]

        # A crash, then a restart on the same port and file: the workflow must still be there.
        server.kill()
        assert server.process is not None and server.process.returncode == -9
        server.restart()
        described = temporal_cli(server, "workflow", "describe", "--workflow-id", "probe-1", "--output", "json")
        assert described.returncode == 0, described.stderr + server.log_text()
        execution = json.loads(described.stdout)["workflowExecutionInfo"]
        assert execution["execution"]["runId"] == run_id
        assert execution["status"] == "WORKFLOW_EXECUTION_STATUS_RUNNING"
    finally:
        server.stop()
    assert server.process is not None and server.process.returncode is not None
    with pytest.raises(TimeoutError):
        wait_for_port("127.0.0.1", server.port, timeout=0.3)


def test_child_process_runs_from_project_root_with_env_and_log() -> None:
    script = "import os, time; print(os.getcwd(), os.environ['PROBE'], flush=False); time.sleep(60)"
    child = ChildProcess.start([sys.executable, "-c", script], env={"PROBE": "hello"})
    try:
        deadline = time.monotonic() + 10
        while "hello" not in child.log_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        # Printed without flushing: only an unbuffered child gets this far before being killed.
        assert child.log_text().split() == [str(Path(__file__).resolve().parents[1]), "hello"]
        assert child.running
    finally:
        child.kill()
    assert child.process.returncode == -9
    assert not child.running


def test_child_process_stop_is_graceful() -> None:
    child = ChildProcess.start([sys.executable, "-c", "import time; time.sleep(60)"])
    started = time.monotonic()
    child.stop()
    assert child.process.returncode == -15  # ended by SIGTERM, well before the SIGKILL deadline
    assert time.monotonic() - started < 5


def test_database_is_created_empty_and_dropped() -> None:
    # PostgreSQL when CI (or a developer) points at one, else a SQLite file.
    url = create_database(os.environ.get("APPROVALS_TEST_DATABASE_URL"))
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE probe (id INTEGER PRIMARY KEY)"))
            conn.execute(text("INSERT INTO probe (id) VALUES (1)"))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM probe")).scalar_one() == 1
        # An open connection, as a test's leftover pool would hold, must not stop the drop.
        leftover = engine.connect()
        drop_database(url)
        leftover.invalidate()
    finally:
        engine.dispose()

    if url.startswith("sqlite"):
        assert not Path(url.removeprefix("sqlite:///")).exists()
    else:
        with pytest.raises(OperationalError):
            create_engine(url).connect().close()
