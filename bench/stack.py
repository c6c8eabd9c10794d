"""The stack every benchmark runs on: Temporal dev server, a fresh read model, workers and API as OS processes."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy.engine import make_url

from bench.procstat import find_postmaster
from launch.databases import create_database, drop_database, migrate
from launch.processes import ChildProcess, TemporalDevServer, free_port, service_env, start_api, start_worker
from models.seed import seed
from settings import Settings

# The production read model is PostgreSQL; the benchmarks use this server when it answers.
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
HEALTH_SECONDS = 60.0


def choose_database(wanted: str | None = None) -> str | None:
    """Base URL for create_database: `wanted`, else APPROVALS_BENCH_DATABASE_URL ('sqlite' forces SQLite),
    else local PostgreSQL if up."""
    wanted = wanted or os.environ.get("APPROVALS_BENCH_DATABASE_URL")
    if wanted:
        if wanted == "sqlite" or wanted.startswith("sqlite"):
            return None
        host = make_url(wanted).host or "127.0.0.1"
        if host not in LOOPBACK:
            raise SystemExit(f"APPROVALS_BENCH_DATABASE_URL must point at this machine (loopback), not {host}")
        return wanted
    url = make_url(DEFAULT_POSTGRES)
    try:
        psycopg.connect(host=url.host, port=url.port, user=url.username, dbname="postgres", connect_timeout=2).close()
    except psycopg.Error:
        return None
    return DEFAULT_POSTGRES


@dataclass
class Stack:
    """A running stack; `pids` names every process worth measuring."""

    temporal: TemporalDevServer
    database_url: str
    task_queue: str
    workday_seconds: float
    workers: list[ChildProcess]  # all poll the same task queue, as a scaled-out deployment does
    api: ChildProcess
    api_port: int
    env: dict[str, str]  # what runs a worker or the API on this stack

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def children(self) -> list[ChildProcess]:
        """The processes running now: the workers, then the API."""
        return [*self.workers, self.api]

    def start_worker_again(self, index: int = 0) -> None:
        """A new worker process in place of one that has died; its output goes on in the same log."""
        self.workers[index] = start_worker(self.env, log_file=self.workers[index].log_file)

    def start_api_again(self) -> None:
        """A new API process on the same port in place of one that has died; same log."""
        self.api = start_api(self.env, self.api_port, log_file=self.api.log_file)

    @property
    def backend(self) -> str:
        """`postgresql` or `sqlite`."""
        return make_url(self.database_url).get_backend_name()

    def pids(self) -> dict[str, int]:
        """temporal, worker, api, postgres (when local) and this benchmark process itself."""
        found = {"temporal": self.temporal.process.pid if self.temporal.process else 0}
        found.update(self.worker_pids())
        found["api"] = self.api.pid
        postmaster = find_postmaster() if self.backend == "postgresql" else None
        if postmaster is not None:
            found["postgres"] = postmaster
        found["bench"] = os.getpid()
        return found

    def worker_pids(self) -> dict[str, int]:
        """`worker` alone, or `worker1`, `worker2`, ... when there are several."""
        if len(self.workers) == 1:
            return {"worker": self.workers[0].pid}
        return {f"worker{i}": child.pid for i, child in enumerate(self.workers, 1)}

    def check_alive(self) -> None:
        """Fail with the process's log tail if a worker or the API has died."""
        named = zip(self.worker_pids(), self.workers, strict=True)
        for name, child in (*named, ("api", self.api)):
            if not child.running:
                raise RuntimeError(f"the {name} process exited with {child.process.returncode}:\n{tail(child)}")


def tail(child: ChildProcess, lines: int = 40) -> str:
    """The last lines of a child's output."""
    return "\n".join(child.log_text().splitlines()[-lines:])


async def wait_healthy(stack: Stack) -> None:
    """Return once GET /health answers 200 (database and Temporal up); fail after HEALTH_SECONDS."""
    deadline = time.monotonic() + HEALTH_SECONDS
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=5, trust_env=False) as http:
        while True:
            stack.check_alive()
            try:
                if (await http.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"the API did not become healthy within {HEALTH_SECONDS} s:\n{tail(stack.api)}")
            await asyncio.sleep(0.1)


@asynccontextmanager
async def open_stack(
    workday_seconds: float,
    workers: int = 1,
    max_cached_workflows: int | None = None,
    database: str | None = None,
    temporal: TemporalDevServer | None = None,
    region_code: str | None = None,
    update_wait_seconds: float | None = None,
    log_dir: Path | None = None,
    whole_days: bool = False,
    tuning: Mapping[str, Any] | None = None,
) -> AsyncIterator[Stack]:
    """Start everything, yield the stack, then stop every process and drop the database.

    `database` is a base URL as choose_database takes it; with `temporal`, the stack runs on that
    server (and leaves it running) instead of a dev server of its own. A stack that shares a
    server needs a `region_code` of its own: project codes, the workflow ids, start with it.
    With `log_dir`, the processes write their output there (worker1.log, ..., api.log).
    With `whole_days`, deadlines are counted in whole compressed days (APPROVALS_WORKDAY_WHOLE_DAYS);
    `tuning` sets more of the workers' settings (e.g. `{"workflow_sandbox": False}`).
    """
    base = choose_database(database)
    own_temporal = temporal is None
    temporal = temporal or TemporalDevServer.start()
    children: list[ChildProcess] = []
    stack: Stack | None = None
    database_url: str | None = None
    try:
        database_url = create_database(base)
        migrate(database_url)
        task_queue = f"approvals-bench-{uuid.uuid4().hex[:8]}"
        values = {"environment": "test", "database_url": database_url, "seed_demo": True, "demo_password": "demo"}
        values |= {"temporal_address": temporal.address, "task_queue": task_queue, "workday_seconds": workday_seconds}
        values["workday_whole_days"] = whole_days
        values |= tuning or {}
        if max_cached_workflows is not None:
            values["max_cached_workflows"] = max_cached_workflows
        if region_code is not None:
            values["region_code"] = region_code
        if update_wait_seconds is not None:
            values["update_wait_seconds"] = update_wait_seconds
        settings = Settings.model_validate(values)
        await seed(settings)
        env = service_env(settings) | {"APPROVALS_LOG_LEVEL": "WARNING"}
        for i in range(1, workers + 1):
            children.append(start_worker(env, log_file=log_dir / f"worker{i}.log" if log_dir else None))
        worker_processes = list(children)
        port = free_port()
        api = start_api(env, port, log_file=log_dir / "api.log" if log_dir else None)
        children.append(api)
        stack = Stack(temporal, database_url, task_queue, workday_seconds, worker_processes, api, port, env)
        await wait_healthy(stack)
        print(
            f"stack: read model {stack.backend}, temporal {temporal.address}, api {stack.api_url}, {workers} worker(s)",
            flush=True,
        )
        yield stack
    finally:
        # A stack may have replaced a process that died: stop the ones running now.
        for child in reversed(stack.children() if stack is not None else children):
            child.stop()
        if own_temporal:
            temporal.stop()
        if database_url is not None:
            drop_database(database_url)
