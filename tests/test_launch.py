"""The launch helpers in launch/ start, stop and clean up what they promise."""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from structlog.testing import capture_logs

from launch.databases import create_database, drop_database
from launch.processes import TEMPORAL, ChildProcess, TemporalDevServer, free_port, wait_for_port
from launch.supervisor import CannotStart, Part, Policy, State, StopRequested, Supervisor
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


def go_runtime_of(server: TemporalDevServer) -> dict[str, str]:
    assert server.process is not None
    environ = Path(f"/proc/{server.process.pid}/environ").read_bytes().split(b"\0")
    pairs = dict(entry.decode().split("=", 1) for entry in environ if entry)
    return {name: pairs.get(name, "") for name in ("GOGC", "GOMEMLIMIT")}


def test_dev_server_collects_at_four_times_its_heap_unless_the_environment_says_otherwise(
    temporal_server: TemporalDevServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert go_runtime_of(temporal_server) == {"GOGC": "400", "GOMEMLIMIT": "1GiB"}
    monkeypatch.setenv("GOGC", "150")
    server = TemporalDevServer.start()
    try:
        assert go_runtime_of(server) == {"GOGC": "150", "GOMEMLIMIT": "1GiB"}
    finally:
        server.stop()


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


# The supervisor (launch/supervisor.py), driven by a fake clock and fake processes: what it does
# at each second is what the office sees when a part dies.


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class FakeProcess:
    """A part's process; `exit_code` set is the process having exited."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.exit_code: int | None = None
        self.stopped = False

    def poll(self) -> int | None:
        return self.exit_code

    def stop(self) -> None:
        self.stopped = True
        if self.exit_code is None:
            self.exit_code = -signal.SIGTERM


class FakeMachine:
    """Launches fake processes, keeps time; a part's port answers while its process runs, unless silent."""

    def __init__(self, log_dir: Path | None = None) -> None:
        self.clock = FakeClock()
        self.parts: dict[int, str] = {}
        self.launched: dict[str, list[tuple[float, FakeProcess]]] = {}
        self.dies_at_once: set[str] = set()
        self.silent: set[str] = set()
        self.squatted: set[int] = set()  # ports another program holds
        self.stop_after: float | None = None
        self.log_dir = log_dir

    def part(self, name: str, port: int | None = None, needs: tuple[str, ...] = ()) -> Part:
        log_file = self.log_dir / f"{name}.log" if self.log_dir else None

        def launch() -> FakeProcess:
            process = FakeProcess(1000 + sum(map(len, self.launched.values())))
            if name in self.dies_at_once:
                process.exit_code = 1
            self.launched.setdefault(name, []).append((self.clock.now, process))
            if log_file is not None:
                with log_file.open("a") as log:
                    log.write("".join(f"run {len(self.launched[name])}, line {n}\n" for n in range(1, 16)))
            return process

        if port is not None:
            self.parts[port] = name
        return Part(name, launch, port=port, needs=needs, log_file=log_file)

    def answers(self, port: int) -> bool:
        if port in self.squatted:
            return True
        name = self.parts[port]
        return name in self.launched and self.current(name).exit_code is None and name not in self.silent

    def current(self, name: str) -> FakeProcess:
        return self.launched[name][-1][1]

    def launch_times(self, name: str) -> list[float]:
        return [at for at, _ in self.launched[name]]

    def supervisor(self, *parts: Part) -> Supervisor:
        return Supervisor(
            parts,
            answers=self.answers,
            stop_requested=lambda: self.stop_after is not None and self.clock.now >= self.stop_after,
            clock=self.clock,
        )

    def run_for(self, supervisor: Supervisor, seconds: float) -> None:
        """Let the supervisor watch for `seconds` of fake time."""
        self.stop_after = self.clock.now + seconds
        with pytest.raises(StopRequested):
            supervisor.watch()
        self.stop_after = None


def events(logs: list[MutableMapping[str, Any]], name: str) -> list[MutableMapping[str, Any]]:
    return [entry for entry in logs if entry["event"] == name]


def test_a_part_that_dies_is_restarted_with_doubling_backoff_reset_once_steady() -> None:
    machine = FakeMachine()
    deaths: list[float] = []
    with capture_logs() as logs:
        supervisor = machine.supervisor(machine.part("worker"))
        supervisor.bring_up("worker")
        # Up for 100 s, then four short runs of 20 s, then one steady run of 40 s.
        for ran in (100, 20, 20, 20, 40):
            machine.run_for(supervisor, ran)
            machine.current("worker").exit_code = -signal.SIGKILL
            deaths.append(machine.clock.now)
        machine.run_for(supervisor, 5)

    restarted = machine.launch_times("worker")[1:]
    delays = [later - died for later, died in zip(restarted, deaths, strict=True)]
    # 1 s after a steady run, doubling while runs stay short, 1 s again after a steady run.
    assert delays == pytest.approx([1, 2, 4, 8, 1], abs=0.45)
    assert [e["in_seconds"] for e in events(logs, "part_restarting")] == [1, 2, 4, 8, 1]
    assert [e["failed_starts"] for e in events(logs, "part_restarting")] == [0, 1, 2, 3, 0]
    exited = events(logs, "part_exited")
    assert [e["exit"] for e in exited] == ["signal SIGKILL"] * 5
    assert [e["pid"] for e in exited] == [process.pid for _, process in machine.launched["worker"][:5]]
    assert exited[0]["ran_seconds"] == pytest.approx(100, abs=0.5)
    assert [e["restarts"] for e in events(logs, "part_started")] == [0, 1, 2, 3, 4, 5]
    assert not events(logs, "giving_up")


def test_a_part_that_keeps_dying_at_once_cannot_start(tmp_path: Path) -> None:
    machine = FakeMachine(log_dir=tmp_path)
    (tmp_path / "api.log").write_text("a run of the day before\n")
    machine.dies_at_once.add("api")
    with capture_logs() as logs:
        supervisor = machine.supervisor(machine.part("api", port=8000))
        with pytest.raises(CannotStart) as refused:
            supervisor.bring_up("api")

    # Five starts, 1, 2, 4 and 8 s apart (and a tick to notice each exit), then it gives up.
    started = machine.launch_times("api")
    assert [later - earlier for earlier, later in itertools.pairwise(started)] == pytest.approx([1, 2, 4, 8], abs=0.45)
    assert refused.value.part == "api"
    message = str(refused.value)
    assert message.startswith("api cannot start: it exited 5 times in a row within 30 s of starting (last: code 1)")
    assert str(tmp_path / "api.log") in message
    assert [e["part"] for e in events(logs, "giving_up")] == ["api"]
    # Each exit shows the last ten lines of its own run's output.
    tails = [e["log_tail"].splitlines() for e in events(logs, "part_exited")]
    assert tails == [[f"run {run}, line {n}" for n in range(6, 16)] for run in range(1, 6)]
    assert refused.value.tail.splitlines() == [f"run 5, line {n}" for n in range(1, 16)]


def test_a_part_whose_port_never_answers_cannot_start() -> None:
    machine = FakeMachine()
    machine.silent.add("temporal")
    supervisor = machine.supervisor(machine.part("temporal", port=7233))
    with (
        capture_logs() as logs,
        pytest.raises(CannotStart, match="temporal cannot start: nothing answered on port 7233"),
    ):
        supervisor.bring_up("temporal")
    assert 60 <= machine.clock.now <= 60.5
    assert events(logs, "giving_up")[0]["part"] == "temporal"
    # Still running: stop() ends it with the rest.
    assert not machine.current("temporal").stopped
    supervisor.stop()
    assert machine.current("temporal").stopped


def test_a_port_another_program_took_meanwhile_is_given_up_on_at_once() -> None:
    machine = FakeMachine()
    supervisor = machine.supervisor(machine.part("api", port=8000))
    supervisor.bring_up("api")
    machine.current("api").exit_code = -signal.SIGKILL
    machine.squatted.add(8000)
    with capture_logs() as logs, pytest.raises(CannotStart, match=r"^api cannot start: port 8000 is in use by another"):
        machine.run_for(supervisor, 5)
    # Not started again into a port it cannot have, nor taken for up because something answers there.
    assert len(machine.launched["api"]) == 1
    assert not events(logs, "part_started")
    assert machine.clock.now < 1.5


def test_parts_wait_for_temporal_and_are_not_blamed_for_its_absence() -> None:
    machine = FakeMachine()
    with capture_logs() as logs:
        supervisor = machine.supervisor(
            machine.part("temporal", port=7233), machine.part("api", port=8000, needs=("temporal",))
        )
        supervisor.bring_up("temporal")
        supervisor.bring_up("api")
        machine.run_for(supervisor, 60)
        # Temporal dies and comes back slowly; the API dies with it.
        machine.silent.add("temporal")
        machine.current("temporal").exit_code = -signal.SIGKILL
        machine.current("api").exit_code = 1
        machine.run_for(supervisor, 10)
        assert len(machine.launched["temporal"]) == 2
        assert supervisor.state("temporal") is State.STARTING
        assert len(machine.launched["api"]) == 1  # not started against a Temporal that is not there
        machine.silent.discard("temporal")
        machine.run_for(supervisor, 1)

    assert supervisor.state("temporal") is State.UP and supervisor.state("api") is State.UP
    assert len(machine.launched["api"]) == 2
    assert machine.launch_times("api")[1] > machine.launch_times("temporal")[1]
    restarting = {e["part"]: e["failed_starts"] for e in events(logs, "part_restarting")}
    assert restarting == {"temporal": 0, "api": 0}


def test_stop_goes_in_reverse_order_and_a_stop_request_starts_nothing() -> None:
    machine = FakeMachine()
    parts = (machine.part("temporal", port=7233), machine.part("worker"), machine.part("api", port=8000))
    with capture_logs() as logs:
        supervisor = machine.supervisor(*parts)
        for part in parts:
            supervisor.bring_up(part.name)
        machine.run_for(supervisor, 1)
        supervisor.stop()
    assert [e["part"] for e in events(logs, "part_stopped")] == ["api", "worker", "temporal"]
    assert all(machine.current(part.name).stopped for part in parts)

    machine.stop_after = machine.clock.now
    late = machine.supervisor(machine.part("worker"))
    with pytest.raises(StopRequested):
        late.bring_up("worker")
    assert len(machine.launched["worker"]) == 1


def test_real_processes_killed_are_restarted_and_stopped_by_group(tmp_path: Path) -> None:
    launched: list[ChildProcess] = []

    def sleeper() -> ChildProcess:
        script = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)"
        launched.append(ChildProcess.start([sys.executable, "-c", script], own_session=True))
        return launched[-1]

    quick = Policy(first_backoff=0.05, tick_seconds=0.05)
    with capture_logs() as logs:
        supervisor = Supervisor(
            [Part("sleeper", sleeper)], lambda port: False, lambda: len(launched) == 2, policy=quick
        )
        supervisor.bring_up("sleeper")
        launched[0].process.send_signal(signal.SIGKILL)
        with pytest.raises(StopRequested):
            supervisor.watch()
        supervisor.stop()
    assert [e["exit"] for e in events(logs, "part_exited")] == ["signal SIGKILL"]
    assert launched[1].process.returncode == -signal.SIGTERM
    # What each one spawned went with its group, the killed one's too.
    for child in launched:
        with pytest.raises(ProcessLookupError):
            os.killpg(child.pid, 0)


def test_a_real_process_that_exits_at_once_is_given_up_on_with_its_log(tmp_path: Path) -> None:
    log_file = tmp_path / "flaky.log"

    def flaky() -> ChildProcess:
        script = "import sys; print('no configuration found'); sys.exit(3)"
        return ChildProcess.start([sys.executable, "-c", script], log_file=log_file, own_session=True)

    quick = Policy(first_backoff=0.05, failed_starts=3, tick_seconds=0.05)
    flaky_part = Part("flaky", flaky, log_file=log_file)
    with capture_logs() as logs:
        supervisor = Supervisor([flaky_part], lambda port: False, lambda: False, policy=quick)
        supervisor.bring_up("flaky")
        with pytest.raises(
            CannotStart, match=r"flaky cannot start: it exited 3 times in a row .*\(last: code 3\)"
        ) as refused:
            supervisor.watch()
    exited = events(logs, "part_exited")
    assert [e["exit"] for e in exited] == ["code 3"] * 3
    # Each tail holds only its own run's output, though the log file keeps them all.
    assert [e["log_tail"] for e in exited] == ["no configuration found"] * 3
    assert refused.value.tail == "no configuration found"
    assert log_file.read_text().splitlines() == ["no configuration found"] * 3
