"""Polls the read model for overdue problems every 100 ms in a thread of its own, noting when each first appears.

A poll reads only the codes, through the driver's own cursor: it runs beside the service on the
same cores, and reading every problem's row through SQLAlchemy ten times a second cost a tenth of
a core once thousands were open. When each problem opened is read once, as the poller stops.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime

from sqlalchemy import Connection, create_engine, func, select
from sqlmodel import col

from bench.procstat import memory_kib
from models.db import sync_url
from models.tables import ProblemRow

INTERVAL = 0.1


class ProblemPoller(threading.Thread):
    """One query per tick for all projects; also samples the workers' memory once a second."""

    def __init__(self, database_url: str, worker_pids: list[int], stop_after: float) -> None:
        super().__init__(name="problem-poller", daemon=True)
        self.engine = create_engine(sync_url(database_url))
        self.worker_pids = worker_pids
        self.stop_after = stop_after  # time.monotonic() past which the thread ends on its own
        self.halt = threading.Event()
        self.seen: dict[str, float] = {}  # code -> start of the poll that first saw it, epoch s
        self.opened: dict[str, datetime] = {}  # code -> its problem's opened_at, read by `stop`
        self.polls = 0
        self.slowest_poll = 0.0
        self.peak_rss_kib = 0  # the largest sample of any one worker
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.engine.connect() as conn:
                cursor = conn.connection.cursor()
                while not self.halt.is_set() and time.monotonic() < self.stop_after:
                    tick = time.monotonic()
                    started = time.time()
                    cursor.execute("SELECT code FROM problems WHERE origin = 'overdue'")
                    codes = cursor.fetchall()
                    conn.rollback()  # end the snapshot so the next poll sees new commits
                    for (code,) in codes:
                        self.seen.setdefault(code, started)
                    self.polls += 1
                    self.slowest_poll = max(self.slowest_poll, time.monotonic() - tick)
                    if self.polls % 10 == 0:
                        sampled = (memory_kib(pid).get("VmRSS", 0) for pid in self.worker_pids)
                        self.peak_rss_kib = max(self.peak_rss_kib, *sampled)
                    self.halt.wait(max(0.0, INTERVAL - (time.monotonic() - tick)))
        except BaseException as err:  # reported by the benchmark, which owns the thread
            self.error = err

    def stop(self) -> None:
        """End the polls, then read when each problem seen opened (the earliest, per project)."""
        self.halt.set()
        self.join(10)
        try:
            with self.engine.connect() as conn:
                self.opened = _opened(conn)
        finally:
            self.engine.dispose()


def _opened(conn: Connection) -> dict[str, datetime]:
    query = (
        select(col(ProblemRow.code), func.min(col(ProblemRow.opened_at)))
        .where(col(ProblemRow.origin) == "overdue")
        .group_by(col(ProblemRow.code))
    )
    return {code: opened_at for code, opened_at in conn.execute(query)}
