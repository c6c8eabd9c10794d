"""Benchmark: how long a page takes beside the JSON that serves the same data.

Two heavy pages, on a real stack: the project page of a project with a long timeline (returned
and resubmitted until it has `--events` audit events; the page shows the latest of them, and
all of them with `?timeline=all`), against `GET /projects/{code}` and `GET /projects/{code}/events`; and a reviewer's to-do list with `--inbox` open steps, against
`GET /tasks`. One caller, requests interleaved, so both sides see the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from bench.client import STEP, ApiClient, create_projects, expect, login, submit_projects
from bench.procstat import wait_quiet
from bench.stack import open_stack
from bench.stats import line, summary_ms, verdict
from web.routes.project import TIMELINE_LATEST
from web.session import SESSION_COOKIE

P99_TARGET_MS = 50.0
SETUP_CONCURRENCY = 8
OWNER, REVIEWER = "owner-a", "reviewer-drc"


async def long_timeline(api: ApiClient, events: int) -> tuple[str, int]:
    """A project returned and resubmitted until its timeline holds at least `events` events."""
    [code] = await create_projects(api, 1, 1, creators=(OWNER,))
    auth = {"Authorization": f"Bearer {api.tokens[REVIEWER]}"}
    path = f"/projects/{code}/steps/{STEP}"
    while True:
        expect(await api.submit(OWNER, code), 200, f"submit {code}")
        count = len(expect(await api.http.get(f"/projects/{code}/events", headers=auth), 200, "events"))
        if count >= events:
            return code, count
        body = {"outcome": "return", "comment": "请补充项目建议书的投资估算明细"}
        expect(await api.http.post(f"{path}/decision", json=body, headers=auth), 200, f"return {code}")


async def timed_get(api: ApiClient, path: str, user: str, page: bool) -> float:
    """Seconds for one GET as `user`: a page with the session cookie, JSON with the bearer token."""
    token = api.tokens[user]
    headers = {"Cookie": f"{SESSION_COOKIE}={token}"} if page else {"Authorization": f"Bearer {token}"}
    started = time.perf_counter()
    r = await api.http.get(path, headers=headers)
    elapsed = time.perf_counter() - started
    if r.status_code != 200:
        raise RuntimeError(f"GET {path}: {r.status_code} {r.text[:300]}")
    return elapsed


async def measure(api: ApiClient, rounds: int, warmup: int, calls: dict[str, tuple[str, str, bool]]) -> dict[str, Any]:
    """p50/p99 of each named call, the calls interleaved round after round."""
    series: dict[str, list[float]] = {name: [] for name in calls}
    for i in range(rounds + warmup):
        for name, (path, user, page) in calls.items():
            elapsed = await timed_get(api, path, user, page)
            if i >= warmup:
                series[name].append(elapsed)
    return {name: summary_ms(values) for name, values in series.items()}


async def run(events: int = 200, inbox: int = 500, rounds: int = 300, warmup: int = 20) -> dict[str, Any]:
    async with open_stack(workday_seconds=3600.0) as stack:
        tokens = await login(stack.api_url, (OWNER, "agent-1", REVIEWER))
        async with ApiClient(stack.api_url, tokens, connections=SETUP_CONCURRENCY) as api:
            code, event_count = await long_timeline(api, events)
            codes = await create_projects(api, inbox - 1, SETUP_CONCURRENCY)
            await submit_projects(api, codes, SETUP_CONCURRENCY)
            busy = wait_quiet()
            project = await measure(
                api,
                rounds,
                warmup,
                {
                    "project_page": (f"/p/{code}", OWNER, True),
                    "whole_timeline_page": (f"/p/{code}?timeline=all", OWNER, True),
                    "project_json": (f"/projects/{code}", OWNER, False),
                    "events_json": (f"/projects/{code}/events", OWNER, False),
                },
            )
            todo = await measure(
                api,
                rounds,
                warmup,
                {"inbox_page": ("/inbox", REVIEWER, True), "tasks_json": ("/tasks", REVIEWER, False)},
            )
    pages_p99 = max(project["project_page"]["p99_ms"], todo["inbox_page"]["p99_ms"])
    return {
        "timeline_events": event_count,
        "inbox_open_steps": inbox,
        "rounds": rounds,
        **project,
        **todo,
        "machine_busy_before_percent": busy,
        "p99_target_ms": P99_TARGET_MS,
        "target_met": pages_p99 < P99_TARGET_MS,
    }


def summary(figures: dict[str, Any]) -> list[str]:
    """One line per target, for `make bench`."""
    return [
        f"project page p99 {figures['project_page']['p99_ms']} ms ({figures['timeline_events']} events, "
        f"the latest {TIMELINE_LATEST} shown), inbox page p99 {figures['inbox_page']['p99_ms']} ms "
        f"({figures['inbox_open_steps']} steps) (target < {P99_TARGET_MS:.0f} ms): {verdict(figures['target_met'])}",
        f"  the whole timeline on request (?timeline=all) p99 {figures['whole_timeline_page']['p99_ms']} ms "
        "(no target of its own)",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200, help="timeline events of the project page")
    parser.add_argument("--inbox", type=int, default=500, help="open steps in the reviewer's to-do list")
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    figures = asyncio.run(run(args.events, args.inbox, args.rounds, args.warmup))
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    for name in ("project_page", "whole_timeline_page", "project_json", "events_json", "inbox_page", "tasks_json"):
        print(line(name, figures[name]))
    print(*summary(figures), sep="\n")


if __name__ == "__main__":
    main()
