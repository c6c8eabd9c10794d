"""Launcher behind `make run`: the embedded Temporal dev server, schema, demo seed, worker and API."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from settings import get_settings
from workflows.search import SEARCH_ATTRIBUTES

ROOT = Path(__file__).resolve().parent
DATA = ROOT / ".data"
# The venv's bin folder, unresolved: resolving the symlinked interpreter would leave the venv.
BIN = Path(sys.executable).parent
HOST, TEMPORAL_PORT, UI_PORT, API_PORT = "127.0.0.1", 7233, 8233, 8000
STOP_SECONDS = 10.0

Children = list[tuple[str, subprocess.Popen[bytes]]]


class LaunchError(Exception):
    """A step failed; the message says which and where to look."""


def answers(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def start(children: Children, name: str, argv: list[str], log: Path | None = None) -> None:
    # A session of its own: Ctrl-C reaches only this launcher, which then stops children in order.
    if log is None:
        proc = subprocess.Popen(argv, cwd=ROOT, start_new_session=True)
    else:
        with log.open("ab") as out:
            proc = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    children.append((name, proc))


def check_alive(children: Children) -> None:
    for name, proc in children:
        if proc.poll() is not None:
            raise LaunchError(f"{name} exited unexpectedly with code {proc.returncode}")


def wait_for(children: Children, port: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not answers(port):
        check_alive(children)
        if time.monotonic() > deadline:
            raise LaunchError(f"nothing answered on {HOST}:{port} within {seconds:.0f} s")
        time.sleep(0.2)


def step(*argv: str | Path) -> None:
    command = [str(arg) for arg in argv]
    if subprocess.run(command, cwd=ROOT).returncode != 0:
        raise LaunchError(f"`{' '.join(command)}` failed")


def register_search_attributes() -> None:
    # start-dev registers them from --search-attribute; older CLIs did not, and `create` on an existing
    # attribute either succeeds or complains "already exists" depending on the version: accept both.
    create = [str(BIN / "temporal"), "operator", "search-attribute", "create", "--address", f"{HOST}:{TEMPORAL_PORT}"]
    for key in SEARCH_ATTRIBUTES:
        done = subprocess.run([*create, "--name", key.name, "--type", "Keyword"], capture_output=True, text=True)
        if done.returncode != 0 and "already" not in (done.stdout + done.stderr).lower():
            raise LaunchError(f"registering search attribute {key.name} failed: {done.stderr.strip()}")


def stop(children: Children) -> None:
    # Shutting down already: a second Ctrl-C must not abandon children halfway.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # Reverse order: the API and worker finish their calls while Temporal is still there.
    for name, proc in reversed(children):
        signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            print(f"run: {name} ignored SIGTERM for {STOP_SECONDS:.0f} s; killing it", file=sys.stderr)
            signal_group(proc, signal.SIGKILL)
            proc.wait()


def signal_group(proc: subprocess.Popen[bytes], signum: signal.Signals) -> None:
    # The whole group, so that anything a child spawned goes too; it may all have exited already.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signum)


def main() -> int:
    settings = get_settings()  # invalid settings fail here, before anything has started
    DATA.mkdir(exist_ok=True)
    busy = [port for port in (TEMPORAL_PORT, UI_PORT, API_PORT) if answers(port)]
    if busy:
        print(f"run: ports {busy} are already in use (an earlier `make run` still running?)", file=sys.stderr)
        return 1
    # Ctrl-C and SIGTERM take one way out, even when started from a shell that ignores SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    children: Children = []
    temporal_log = DATA / "temporal.log"
    try:
        attributes = [arg for key in SEARCH_ATTRIBUTES for arg in ("--search-attribute", f"{key.name}=Keyword")]
        temporal = [str(BIN / "temporal"), "server", "start-dev", "--db-filename", str(DATA / "temporal.db")]
        temporal += ["--ip", HOST, "--port", str(TEMPORAL_PORT), "--ui-port", str(UI_PORT), "--log-level", "warn"]
        start(children, "temporal", temporal + attributes, log=temporal_log)
        wait_for(children, TEMPORAL_PORT, 60)
        register_search_attributes()
        step(BIN / "alembic", "upgrade", "head")
        if settings.seed_demo:
            step(sys.executable, "-m", "models.seed")
        start(children, "worker", [sys.executable, "worker.py"])
        uvicorn = [str(BIN / "uvicorn"), "api.main:app", "--host", HOST, "--port", str(API_PORT)]
        start(children, "api", uvicorn)
        wait_for(children, API_PORT, 60)
        database = re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", settings.database_url)
        print(
            f"\nApprovals is running:\n"
            f"  API          http://{HOST}:{API_PORT}   (OpenAPI docs: http://{HOST}:{API_PORT}/docs)\n"
            f"  Temporal     {HOST}:{TEMPORAL_PORT}     (web UI: http://{HOST}:{UI_PORT}, log: {temporal_log})\n"
            f"  Read model   {database}\n"
            f"Press Ctrl-C to stop.\n",
            flush=True,
        )
        while True:
            check_alive(children)
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nrun: stopping", file=sys.stderr)
        return 0
    except LaunchError as error:
        print(f"\nrun: {error}; stopping the rest (Temporal's log: {temporal_log})", file=sys.stderr)
        return 1
    finally:
        stop(children)


if __name__ == "__main__":
    sys.exit(main())
