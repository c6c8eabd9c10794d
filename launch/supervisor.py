"""Keeps the service's parts running: a part that exits is logged and started again after a backoff;
one that cannot start at all ends the supervision.

Plain code over a clock, a port probe and process handles, so that tests can drive it with fakes.
"""

from __future__ import annotations

import enum
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, Protocol

import structlog

TAIL_LINES = 10


class Handle(Protocol):
    """A running part's process (launch.processes.ChildProcess is one)."""

    @property
    def pid(self) -> int: ...

    def poll(self) -> int | None: ...

    def stop(self) -> None: ...


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass(frozen=True)
class Part:
    """One supervised part: how to start it, the port that says it is up, the parts it needs, where it logs."""

    name: str
    launch: Callable[[], Handle]
    port: int | None = None
    needs: tuple[str, ...] = ()
    log_file: Path | None = None


@dataclass(frozen=True)
class Policy:
    first_backoff: float = 1.0
    max_backoff: float = 30.0
    # A run this long proves the part can start: its backoff and its count of failed starts reset.
    steady_seconds: float = 30.0
    # This many runs in a row that end before steady_seconds: the part cannot start.
    failed_starts: int = 5
    # A part whose port does not answer within this after starting cannot start.
    ready_seconds: float = 60.0
    tick_seconds: float = 0.2


class CannotStart(Exception):
    """A part cannot start; the message names it, says why and where to look; `tail` is its last output."""

    def __init__(self, part: str, reason: str, log_file: Path | None = None, tail: str = "") -> None:
        where = f"; its log: {log_file}" if log_file is not None else ""
        super().__init__(f"{part} cannot start: {reason}{where}")
        self.part = part
        self.tail = tail


class StopRequested(Exception):
    """Ctrl-C or SIGTERM: the caller stops everything."""


class State(enum.Enum):
    WAITING = "waiting"  # for its backoff to pass and the parts it needs to be up
    STARTING = "starting"  # launched, its port not answering yet
    UP = "up"


@dataclass
class _Supervised:
    part: Part
    backoff: float
    state: State = State.WAITING
    handle: Handle | None = None
    started_at: float = 0.0
    restart_at: float = 0.0
    log_offset: int = 0  # where the current run's output begins in the part's log file
    failures: int = 0
    restarts: int = -1  # the first launch is not a restart


def describe_exit(code: int) -> str:
    """`code 1`, or `signal SIGKILL` (Popen reports a signal as its negated number)."""
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"code {code}"


def log_size(log_file: Path | None) -> int:
    return log_file.stat().st_size if log_file is not None and log_file.exists() else 0


def log_tail(log_file: Path | None, since: int = 0, lines: int = TAIL_LINES) -> str:
    """The last lines a log file got after byte `since`; empty when there is none."""
    if log_file is None or not log_file.exists():
        return ""
    with log_file.open("rb") as log:
        log.seek(max(since, log_size(log_file) - 16_384))
        text = log.read().decode(errors="replace")
    return "\n".join(text.splitlines()[-lines:])


class Supervisor:
    """Parts join with bring_up() in order, are restarted on exit, and stop in reverse order."""

    def __init__(
        self,
        parts: Sequence[Part],
        answers: Callable[[int], bool],
        stop_requested: Callable[[], bool],
        clock: Clock | None = None,
        policy: Policy | None = None,
    ) -> None:
        self.parts = {part.name: part for part in parts}
        self.answers = answers
        self.stop_requested = stop_requested
        self.clock = clock or SystemClock()
        self.policy = policy or Policy()
        self.log: Any = structlog.get_logger("approvals.run")
        self._supervised: dict[str, _Supervised] = {}

    def state(self, name: str) -> State | None:
        """None for a part not brought up."""
        supervised = self._supervised.get(name)
        return supervised.state if supervised else None

    def bring_up(self, name: str) -> None:
        """Start a part and return once it is up; the parts already up stay supervised meanwhile."""
        self._check_stop()
        supervised = _Supervised(self.parts[name], backoff=self.policy.first_backoff)
        self._supervised[name] = supervised
        self._launch(supervised)
        while supervised.state is not State.UP:
            self._pause()
            self.tick()

    def watch(self) -> None:
        """Supervise until a stop is requested (StopRequested) or a part cannot start (CannotStart)."""
        while True:
            self._pause()
            self.tick()

    def tick(self) -> None:
        """Look at every part once: start what is due, mark what came up, handle what exited."""
        now = self.clock.monotonic()
        for supervised in self._supervised.values():
            if supervised.state is State.WAITING:
                if now >= supervised.restart_at and self._needs_up(supervised.part):
                    self._launch(supervised)
                continue
            assert supervised.handle is not None
            code = supervised.handle.poll()
            if code is not None:
                self._exited(supervised, code, now)
            elif supervised.state is State.STARTING:
                self._check_started(supervised, now)

    def stop(self) -> None:
        """Stop every part, the last brought up first: the API and the worker finish while Temporal is there."""
        for supervised in reversed(self._supervised.values()):
            if supervised.handle is not None:
                supervised.handle.stop()
                self.log.info("part_stopped", part=supervised.part.name, pid=supervised.handle.pid)
                supervised.handle = None
            supervised.state = State.WAITING

    def _pause(self) -> None:
        self._check_stop()
        self.clock.sleep(self.policy.tick_seconds)

    def _check_stop(self) -> None:
        if self.stop_requested():
            raise StopRequested

    def _needs_up(self, part: Part) -> bool:
        return all(self.state(need) is State.UP for need in part.needs)

    def _launch(self, supervised: _Supervised) -> None:
        part = supervised.part
        if part.port is not None and self.answers(part.port):
            # Not this part: it starts only once its last process has exited. Another program took
            # the port, and answering there would pass for this part being up.
            self._give_up(supervised, f"port {part.port} is in use by another program")
        # Logs are appended to across restarts: a tail shows only this run's output.
        supervised.log_offset = log_size(part.log_file)
        supervised.handle = part.launch()
        supervised.started_at = self.clock.monotonic()
        supervised.restarts += 1
        supervised.state = State.STARTING
        self._check_started(supervised, supervised.started_at)

    def _check_started(self, supervised: _Supervised, now: float) -> None:
        part, handle = supervised.part, supervised.handle
        assert handle is not None
        if part.port is None or self.answers(part.port):
            supervised.state = State.UP
            self.log.info("part_started", part=part.name, pid=handle.pid, port=part.port, restarts=supervised.restarts)
        elif now - supervised.started_at > self.policy.ready_seconds:
            reason = f"nothing answered on port {part.port} within {self.policy.ready_seconds:.0f} s"
            self._give_up(supervised, reason)

    def _exited(self, supervised: _Supervised, code: int, now: float) -> None:
        part, handle = supervised.part, supervised.handle
        assert handle is not None
        ran = now - supervised.started_at
        exit_ = describe_exit(code)
        self.log.warning(
            "part_exited",
            part=part.name,
            pid=handle.pid,
            exit=exit_,
            ran_seconds=round(ran, 1),
            log=str(part.log_file) if part.log_file else None,
            log_tail=log_tail(part.log_file, supervised.log_offset),
        )
        handle.stop()  # at once for an exited process; with a group of its own, what it spawned goes too
        supervised.handle = None
        supervised.state = State.WAITING
        if ran >= self.policy.steady_seconds:
            supervised.failures = 0
            supervised.backoff = self.policy.first_backoff
        elif self._needs_up(part):
            # Dying while a part it needs is down is not this part's fault: no count towards giving up.
            supervised.failures += 1
        if supervised.failures >= self.policy.failed_starts:
            reason = (
                f"it exited {supervised.failures} times in a row within {self.policy.steady_seconds:.0f} s "
                f"of starting (last: {exit_})"
            )
            self._give_up(supervised, reason)
        delay = supervised.backoff
        supervised.backoff = min(delay * 2, self.policy.max_backoff)
        supervised.restart_at = now + delay
        self.log.warning("part_restarting", part=part.name, in_seconds=delay, failed_starts=supervised.failures)

    def _give_up(self, supervised: _Supervised, reason: str) -> NoReturn:
        part = supervised.part
        self.log.error("giving_up", part=part.name, reason=reason, log=str(part.log_file) if part.log_file else None)
        tail = log_tail(part.log_file, supervised.log_offset, lines=2 * TAIL_LINES)
        raise CannotStart(part.name, reason, part.log_file, tail)
