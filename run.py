"""Launcher behind `make run`: the embedded Temporal dev server, schema, demo seed, worker and API,
each restarted when it dies, until Ctrl-C (launch/embedded.py, launch/supervisor.py)."""

from __future__ import annotations

import signal
import sys
from types import FrameType

import structlog

from launch.embedded import Embedded, EmbeddedSettings, hide_password
from launch.processes import HOST, answers
from launch.supervisor import CannotStart, StopRequested, Supervisor
from logs import configure_logging
from settings import get_settings

log = structlog.get_logger("approvals.run")


class StopSignals:
    """Ctrl-C and SIGTERM ask for one orderly stop; repeating them, even during the stop, changes nothing.

    The handler only takes note: the supervisor stops the parts in order at its next look, and a
    child is never left half-started by an exception raised in the middle of launching it.
    """

    def __init__(self) -> None:
        self.received = False
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._note)

    def _note(self, signum: int, frame: FrameType | None) -> None:
        self.received = True

    def requested(self) -> bool:
        return self.received


def banner(embedded: Embedded) -> str:
    api = f"http://{HOST}:{embedded.api_port}"
    return (
        f"\nApprovals is running:\n"
        f"  API          {api}   (OpenAPI docs: {api}/docs)\n"
        f"  Temporal     {HOST}:{embedded.temporal_port}     (web UI: http://{HOST}:{embedded.ui_port})\n"
        f"  Read model   {hide_password(embedded.settings.database_url)}\n"
        f"  Logs         {embedded.log_file('*')}\n"
        f"A part that stops is started again. Press Ctrl-C to stop.\n"
    )


def main() -> int:
    settings = get_settings()  # invalid settings fail here, before anything has started
    configure_logging(settings.log_json, settings.log_level)
    try:
        embedded = Embedded.configure(settings, EmbeddedSettings())
    except ValueError as error:
        print(f"run: {error}", file=sys.stderr)
        return 1
    taken = embedded.taken_ports()
    if taken:
        held = ", ".join(f"{port} ({name})" for name, port in taken.items())
        ports = "port" if len(taken) == 1 else "ports"
        print(f"run: {ports} {held} already in use (an earlier `make run` still running?)", file=sys.stderr)
        return 1
    signals = StopSignals()
    supervisor = Supervisor(embedded.parts(), lambda port: answers(HOST, port), signals.requested)
    try:
        supervisor.bring_up("temporal")
        embedded.prepare_read_model()
        supervisor.bring_up("worker")
        supervisor.bring_up("api")
        print(banner(embedded), flush=True)
        supervisor.watch()
    except StopRequested:
        log.info("stopping")
    except CannotStart as error:
        tail = "".join(f"  | {line}\n" for line in error.tail.splitlines())
        print(f"\nrun: {error}\n{tail}run: stopping everything else", file=sys.stderr)
        return 1
    finally:
        supervisor.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
