"""The read side under load: 16 clients against the API on a city's read model (bench/city.py).

Each scenario runs its requests through every client at once and reports p50 and p99 against
its target: p99 under 50 ms for every list, inbox and detail, under 200 ms for `/stats`.

    python -m bench.city --database postgresql+psycopg://postgres@127.0.0.1:5432/city --projects 100000
    python -m bench.readmodel_load --database postgresql+psycopg://postgres@127.0.0.1:5432/city

The API runs as its own process on that database (with a Temporal dev server, which it connects
to at start; nothing here writes). Its resident memory is measured too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg

from bench.city import connect, write_city
from bench.light_http import LightPool
from bench.procstat import memory_kib, tree_cpu_seconds
from bench.stack import choose_database, tail
from bench.stats import summary_ms, verdict
from launch.databases import create_database, drop_database
from launch.processes import ChildProcess, TemporalDevServer, free_port, service_env, start_api
from settings import Settings

LIST_P99_MS = 50.0
STATS_P99_MS = 200.0
FILTERS = {
    "colour": ("green", "yellow", "red"),
    "stage": ("initiation", "engineering", "construction", "acceptance"),
    "status": ("active", "suspended", "completed", "withdrawn"),
    "category": ("general", "low_risk", "photovoltaic", "ev_charging", "expansion", "decoration"),
}


@dataclass
class City:
    """What the scenarios draw from: sample codes, name fragments, the busiest reviewer."""

    codes: list[str]
    fragments: list[str]
    reviewer: str
    reviewer_open_steps: int


def read_city(url: str, sample: int = 2000) -> City:
    with connect(url) as conn:
        codes = [c for (c,) in conn.execute("SELECT code FROM projects TABLESAMPLE SYSTEM (5) LIMIT %s", (sample,))]
        if len(codes) < 10:
            codes = [c for (c,) in conn.execute("SELECT code FROM projects LIMIT %s", (sample,))]
        names = [n for (n,) in conn.execute("SELECT name FROM projects WHERE code = ANY(%s)", (codes[:200],))]
        department, open_steps = _busiest(conn)
    rng = random.Random(3)
    # What people type: a place and a kind of works, a whole name, or the head of a code.
    fragments = [n[:4] for n in names[:50]] + names[50:80] + [c[:14] for c in codes[:20]]
    rng.shuffle(fragments)
    return City(codes, fragments, f"reviewer-{department}", open_steps)


def _busiest(conn: psycopg.Connection[Any]) -> tuple[str, int]:
    row = conn.execute(
        "SELECT s.department, count(*) FROM steps s JOIN projects p ON p.code = s.code"
        " WHERE s.status IN ('in_review', 'granted') AND p.status IN ('active', 'suspended')"
        " GROUP BY s.department ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()
    return (str(row[0]), int(row[1])) if row else ("drc", 0)


class Clients:
    """Signed-in HTTP clients; `run` sends requests through `n` of them at once."""

    def __init__(self, ports: list[int], n: int) -> None:
        # Sign-in and health through httpx; the measured requests through a client that costs
        # little CPU, its connections spread over the API processes.
        self.http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports[0]}", timeout=60, trust_env=False)
        self.pool = LightPool(ports, n)
        self.tokens: dict[str, str] = {}
        self.n = n
        self.errors: list[str] = []

    async def sign_in(self, username: str) -> None:
        r = await self.http.post("/auth/token", data={"username": username, "password": "demo"})
        r.raise_for_status()
        self.tokens[username] = r.json()["access_token"]

    async def get(self, user: str, path: str, params: dict[str, Any] | None = None) -> tuple[float, dict[str, Any]]:
        began = time.perf_counter()
        status, body = await self.pool.get_json(path, params, {"Authorization": f"Bearer {self.tokens[user]}"})
        took = time.perf_counter() - began
        if status != 200:
            self.errors.append(f"{path} {params}: {status} {str(body)[:200]}")
            return took, {}
        return took, body if isinstance(body, dict) else {"items": body}

    async def run(self, jobs: list[Callable[[], Awaitable[list[float]]]]) -> list[float]:
        """Run the jobs `n` at a time; every request's duration."""
        queue = list(reversed(jobs))
        durations: list[float] = []

        async def client() -> None:
            while queue:
                durations.extend(await queue.pop()())

        await asyncio.gather(*(client() for _ in range(self.n)))
        return durations


def one(
    clients: Clients, user: str, path: str, params: dict[str, Any] | None = None
) -> Callable[[], Awaitable[list[float]]]:
    async def job() -> list[float]:
        return [(await clients.get(user, path, params))[0]]

    return job


def walk(
    clients: Clients, user: str, path: str, params: dict[str, Any], max_pages: int
) -> Callable[[], Awaitable[list[float]]]:
    """Follow a list's cursors from its first page to its last (or `max_pages`)."""

    async def job() -> list[float]:
        took: list[float] = []
        cursor = None
        for _ in range(max_pages):
            seconds, body = await clients.get(user, path, {**params, **({"cursor": cursor} if cursor else {})})
            took.append(seconds)
            cursor = body.get("next_cursor")
            if not cursor:
                break
        return took

    return job


def scenarios(clients: Clients, city: City, requests: int, max_pages: int) -> dict[str, list[Any]]:
    """Each scenario's jobs, by name; the target is the lists' unless the name says `stats`."""
    rng = random.Random(11)
    leader = "leader-1"
    found: dict[str, list[Any]] = {}
    for name, values in FILTERS.items():
        found[f"GET /projects?{name}="] = [
            one(clients, leader, "/projects", {name: rng.choice(values)}) for _ in range(requests)
        ]
    found["GET /projects?q="] = [
        one(clients, leader, "/projects", {"q": rng.choice(city.fragments)}) for _ in range(requests)
    ]
    found["GET /projects (cursor paging to the end)"] = [
        walk(clients, leader, "/projects", {"limit": 200, "status": status}, max_pages)
        for status in ("active", "suspended", "withdrawn", "completed")
    ] + [walk(clients, leader, "/projects", {"limit": 200}, max_pages)]
    found[f"GET /tasks ({city.reviewer}, {city.reviewer_open_steps} open steps)"] = [
        walk(clients, city.reviewer, "/tasks", {"limit": 50}, 8) for _ in range(max(1, requests // 8))
    ]
    found["GET /problems (leader)"] = [
        walk(clients, leader, "/problems", {"limit": 50}, 8) for _ in range(max(1, requests // 8))
    ]
    found["GET /stats"] = [one(clients, "office-1", "/stats") for _ in range(max(4, requests // 4))]
    found["GET /projects/{code}"] = [
        one(clients, leader, f"/projects/{rng.choice(city.codes)}") for _ in range(requests)
    ]
    found["GET /projects/{code}/events"] = [
        one(clients, leader, f"/projects/{rng.choice(city.codes)}/events") for _ in range(requests)
    ]
    return found


async def measure(
    database: str, clients_n: int, requests: int, max_pages: int, api_processes: int = 1
) -> dict[str, Any]:
    """Every scenario through `clients_n` clients against `api_processes` API processes, each on a
    port of its own, the clients' connections spread over them as a load balancer would."""
    city = read_city(database)
    settings = Settings.model_validate({"environment": "test", "database_url": database, "seed_demo": False})
    temporal = TemporalDevServer.start()
    apis: list[ChildProcess] = []
    try:
        settings = settings.model_copy(update={"temporal_address": temporal.address})
        env = service_env(settings) | {"APPROVALS_LOG_LEVEL": "WARNING"}
        ports = [free_port() for _ in range(api_processes)]
        apis = [start_api(env, port) for port in ports]
        clients = Clients(ports, clients_n)
        for api, port in zip(apis, ports, strict=True):
            await wait_up(clients, api, port)
        for user in ("leader-1", "office-1", city.reviewer):
            await clients.sign_in(user)
        figures: dict[str, Any] = {
            "clients": clients_n,
            "api_processes": api_processes,
            "reviewer_open_steps": city.reviewer_open_steps,
            "scenarios": {},
        }
        for name, jobs in scenarios(clients, city, requests, max_pages).items():
            await clients.run(jobs[:clients_n])  # warm: plans, caches, connections
            cpu_before, own_before = _cpu(apis), time.process_time()
            durations = await clients.run(jobs)
            own_ms = (time.process_time() - own_before) * 1000 / max(1, len(durations))
            # The API's own CPU per request (all its processes): on a shared machine the
            # latencies measure the queue for a core as much as the service, this does not.
            cpu_ms = (_cpu(apis) - cpu_before) * 1000 / max(1, len(durations))
            target = STATS_P99_MS if "stats" in name else LIST_P99_MS
            stats = summary_ms(durations)
            figures["scenarios"][name] = {
                **stats,
                "api_cpu_ms": round(cpu_ms, 2),
                "client_cpu_ms": round(own_ms, 2),
                "target_p99_ms": target,
                "met": stats["p99_ms"] < target,
            }
            print(_line(name, figures["scenarios"][name]), flush=True)
        memory = [memory_kib(api.pid) for api in apis]  # the largest API process
        figures["api_rss_mib"] = round(max(m.get("VmRSS", 0) for m in memory) / 1024, 1)
        figures["api_peak_rss_mib"] = round(max(m.get("VmHWM", 0) for m in memory) / 1024, 1)
        figures["errors"] = clients.errors[:20]
        await clients.http.aclose()
        clients.pool.close()
        return figures
    finally:
        for api in apis:
            api.stop()
        temporal.stop()


def _cpu(apis: list[ChildProcess]) -> float:
    return sum(tree_cpu_seconds(api.pid) for api in apis)


async def wait_up(clients: Clients, api: ChildProcess, port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not api.running:
            raise RuntimeError(f"the API exited:\n{tail(api)}")
        try:
            if (await clients.http.get(f"http://127.0.0.1:{port}/health")).status_code in (200, 503):
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise TimeoutError(f"the API did not answer within 60 s:\n{tail(api)}")


def _line(name: str, f: dict[str, Any]) -> str:
    return (
        f"{name}: n={f['n']} p50={f['p50_ms']:.1f} ms p99={f['p99_ms']:.1f} ms"
        f" (target p99 < {f['target_p99_ms']:.0f} ms): {verdict(f['met'])}; CPU a request: API {f['api_cpu_ms']:.1f} ms,"
        f" clients {f['client_cpu_ms']:.1f} ms"
    )


async def run(
    projects: int = 100_000, clients: int = 16, requests: int = 400, max_pages: int = 1000, api_processes: int = 1
) -> dict[str, Any]:
    """A city of `projects` written into a throwaway PostgreSQL database, then measured (`make bench`)."""
    base = choose_database()
    if base is None:
        raise RuntimeError("the city is written to PostgreSQL, and none answers")
    url = create_database(base)
    try:
        city = await asyncio.to_thread(write_city, url, projects)
        figures = await measure(url, clients, requests, max_pages, api_processes)
        return {"city": city, **figures}
    finally:
        drop_database(url)


def summary(figures: dict[str, Any]) -> list[str]:
    """One line per scenario, for `make bench`."""
    lines = [_line(name, f) for name, f in figures["scenarios"].items()]
    return [
        *lines,
        f"read-model API resident memory {figures['api_rss_mib']} MiB (peak {figures['api_peak_rss_mib']} MiB)",
    ]


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", required=True, help="a city written by bench.city (SQLAlchemy URL)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=400, help="requests of each scenario")
    parser.add_argument("--max-pages", type=int, default=1000, help="pages a cursor walk follows at most")
    parser.add_argument(
        "--api-processes", type=int, default=1, help="API processes, each on its own port, the clients spread over them"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    figures = asyncio.run(measure(args.database, args.clients, args.requests, args.max_pages, args.api_processes))
    print(f"API resident memory: {figures['api_rss_mib']} MiB (peak {figures['api_peak_rss_mib']} MiB)")
    if figures["errors"]:
        print("errors:", *figures["errors"], sep="\n  ")
    if args.json:
        print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
