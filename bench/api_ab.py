"""Benchmark: the API of two source trees side by side, on the same machine at the same time.

This machine's speed drifts by a third from one minute to the next, so two runs of
`bench.readmodel_load` minutes apart cannot show a change of a tenth in the API's CPU per read.
This starts one API process from each tree (say, a `git worktree` of the last commit and the
working tree), both on the same read model, and sends each scenario of `bench.readmodel_load` to
them in turns, alternating which goes first; it prints each side's API CPU per request in every
turn and their means. The read model must suit both trees' code (migrated to the newer one).
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from bench.light_http import LightPool
from bench.procstat import tree_cpu_seconds
from bench.readmodel_load import Clients, read_city, scenarios, wait_up
from launch.processes import ROOT, ChildProcess, TemporalDevServer, free_port, service_env, start_api
from settings import Settings

SIGNED_IN = ("leader-1", "office-1")


async def compare(
    database: str, trees: dict[str, Path], wanted: list[str], turns: int, requests: int
) -> dict[str, Any]:
    """Each scenario's API CPU ms a request, by tree and turn, and the requests that failed."""
    city = read_city(database)
    settings = Settings.model_validate({"environment": "test", "database_url": database, "seed_demo": False})
    temporal = TemporalDevServer.start()
    apis: dict[str, ChildProcess] = {}
    try:
        env = service_env(settings.model_copy(update={"temporal_address": temporal.address}))
        env |= {"APPROVALS_LOG_LEVEL": "WARNING"}
        clients: dict[str, Clients] = {}
        found: dict[str, dict[str, list[float]]] = {}
        ports = {name: free_port() for name in trees}
        for name, tree in trees.items():
            apis[name] = start_api(env, ports[name], cwd=tree)
            clients[name] = Clients([ports[name]], 16)
            await wait_up(clients[name], apis[name], ports[name])
            for user in (*SIGNED_IN, city.reviewer):
                await clients[name].sign_in(user)
        for scenario in wanted:
            cpu_ms: dict[str, list[float]] = {name: [] for name in trees}
            for turn in range(turns):
                for name in list(trees)[:: 1 if turn % 2 == 0 else -1]:
                    # New connections each turn: an API closes those left idle while the other ran.
                    clients[name].pool.close()
                    clients[name].pool = LightPool([ports[name]], 16)
                    jobs = next(
                        j for n, j in scenarios(clients[name], city, requests, 1000).items() if n.startswith(scenario)
                    )
                    if turn == 0:
                        await clients[name].run(jobs[:16])  # warm: plans, caches, connections
                    before = tree_cpu_seconds(apis[name].pid)
                    done = len(await clients[name].run(jobs))
                    cpu_ms[name].append((tree_cpu_seconds(apis[name].pid) - before) * 1000 / done)
            found[scenario] = cpu_ms
            for name, figures in cpu_ms.items():
                turns_text = " ".join(f"{ms:.2f}" for ms in figures)
                print(
                    f"{scenario} [{name}]: API CPU ms a request by turn {turns_text}; mean {sum(figures) / turns:.2f}"
                )
        errors = [error for each in clients.values() for error in each.errors]
        for each in clients.values():
            await each.http.aclose()
            each.pool.close()
        return {"cpu_ms": found, "errors": errors}
    finally:
        for api in apis.values():
            api.stop()
        temporal.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="the read model, e.g. a city from bench.city")
    parser.add_argument("--base", type=Path, required=True, help="the tree to compare with, e.g. a git worktree")
    parser.add_argument("--new", type=Path, default=ROOT, help="the tree compared (this one by default)")
    parser.add_argument("--scenario", action="append", help="a scenario's name or its start, e.g. 'GET /tasks'")
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--requests", type=int, default=160, help="requests of each scenario a turn")
    args = parser.parse_args(argv)
    wanted = args.scenario or ["GET /tasks", "GET /projects/{code}", "GET /projects?status"]
    trees = {"base": args.base.resolve(), "new": args.new.resolve()}
    asyncio.run(compare(args.database, trees, wanted, args.turns, args.requests))


if __name__ == "__main__":
    main()
