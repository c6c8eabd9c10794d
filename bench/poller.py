"""Polls the read model for overdue problems every 100 ms in a thread of its own, noting when each first appears."""

from __future__ import annotations

import threading
import time
from datetime import datetime

from sqlalchemy import create_engine, func, select
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
        self.seen: dict[str, tuple[float, datetime]] = {}  # code -> (poll start, epoch s; problem opened_at)
        self.polls = 0
        self.slowest_poll = 0.0
        self.peak_rss_kib = 0  # the largest sample of any one worker
        self.error: BaseException | None = None

    def run(self) -> None:
        query = (
            select(col(ProblemRow.code), func.min(col(ProblemRow.opened_at)))
            .where(col(ProblemRow.origin) == "overdue")
            .group_by(col(ProblemRow.code))
        )
        try:
            with self.engine.connect() as conn:
                while not self.halt.is_set() and time.monotonic() < self.stop_after:
                    tick = time.monotonic()
                    started = time.time()
                    rows = conn.execute(query).all()
                    conn.rollback()  # end the snapshot so the next poll sees new commits
                    for code, opened_at in rows:
                        if code not in self.seen:
                            self.seen[code] = (started, opened_at)
                    self.polls += 1
                    self.slowest_poll = max(self.slowest_poll, time.monotonic() - tick)
                    if self.polls % 10 == 0:
                        sampled = (memory_kib(pid).get("VmRSS", 0) for pid in self.worker_pids)
                        self.peak_rss_kib = max(self.peak_rss_kib, *sampled)
                    self.halt.wait(max(0.0, INTERVAL - (time.monotonic() - tick)))
        except BaseException as err:  # reported by the benchmark, which owns the thread
            self.error = err
        finally:
            self.engine.dispose()

    def stop(self) -> None:
        self.halt.set()
        self.join(10)
