"""A whole city in the read model: projects over every category, their steps, timelines, problems at
every level of the ladder (open and resolved), ratings, rectifications, and users of every role.

Every project is a real domain `Project` driven through its actions (submit, decide, verify, rate,
raise and resolve problems, withdraw) on the working-day calendar, then projected by the worker's
own row builders (activities/publish.py: project_row, step_row, event_row, problem_row,
rectification_row). To be fast, a few hundred such projects are built as templates; each city
project is one of them under its own code, name, owner, deputy and dates (shifted by whole weeks,
so weekdays hold), written with COPY.

    python -m bench.city --database postgresql+psycopg://postgres@127.0.0.1:5432/city --projects 100000

The database must exist and be empty; the schema is migrated first. PostgreSQL only.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import Table
from sqlalchemy.engine import make_url

from activities.publish import event_row, problem_row, project_row, rectification_row, step_row
from domain.access import Actor
from domain.calendar import WorkCalendar
from domain.catalog import CategorySpec, default_catalog
from domain.clock import compute_timing
from domain.codes import make_credit_code, project_check_char
from domain.errors import ActionRefused
from domain.holidays import seed_years
from domain.project import (
    AnswerRectification,
    CreateProject,
    Decide,
    JudgeRectification,
    OpenProblem,
    Project,
    RaiseProblem,
    Rate,
    ResolveProblem,
    Submit,
    Verify,
    Withdraw,
)
from launch.databases import migrate
from models import totals
from models.passwords import hash_password
from models.seed import DEMO_USERS
from models.tables import NO_DEADLINE, EventRow, ProblemRow, ProjectRow, RectificationRow, StepRow, UserRow

REGION = "310115"
# What a template stands in for, replaced in each city project.
T_CODE = "2020-310115-01-01-00001" + project_check_char("2020-310115-01-01-00001")
T_NAME = "@@NAME@@"
T_ORG = make_credit_code("91310115MA1K4TPL0")
T_OWNER = "owner-@@template"
T_AGENT = "agent-@@template"
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})")
TABLES: list[type[Any]] = [ProjectRow, StepRow, EventRow, ProblemRow, RectificationRow]
DEPARTMENTS = ("drc", "nrp", "housing", "fire", "cad", "archives", "survey")
STAGES = ("initiation", "engineering", "construction", "acceptance")
WEEK = timedelta(days=7)
# How the city's projects stand: (profile, share). Live ones first: about a fifth still runs.
PROFILES: list[tuple[str, float]] = [
    ("fresh", 0.03),
    ("early", 0.05),
    ("midway", 0.07),
    ("overdue", 0.04),
    ("suspended", 0.01),
    ("completed", 0.62),
    ("troubled_completed", 0.10),
    ("withdrawn", 0.08),
]
# Most projects are of the general kind; the light categories are fewer.
CATEGORY_SHARES = {
    "general": 0.30,
    "low_risk": 0.15,
    "expansion": 0.12,
    "decoration": 0.12,
    "ev_charging": 0.08,
    "energy_storage": 0.08,
    "photovoltaic": 0.08,
    "tech_renovation": 0.07,
}
LIVE_PROFILES = {"fresh", "early", "midway", "overdue", "suspended"}
NAMES = ("张江", "金桥", "外高桥", "川沙", "惠南", "周浦", "康桥", "三林", "北蔡", "高行", "曹路", "唐镇", "航头")
WORKS = ("厂房", "研发楼", "物流仓库", "光伏电站", "充电站", "储能站", "改扩建", "装修工程", "技改项目", "数据中心")
COMPANIES = ("建设", "置业", "科技", "能源", "实业", "制造", "物流", "医药")


def reviewer(department: str) -> Actor:
    return Actor(username=f"reviewer-{department}", role="reviewer", department=department)


OWNER = Actor(username=T_OWNER, role="owner", organisation=T_ORG)
AGENT = Actor(username=T_AGENT, role="agent")
HOLDERS = [AGENT, Actor(username="chief-", role="section_chief"), Actor(username="office-1", role="office")]
LEADER = Actor(username="leader-1", role="leader")


class Driver:
    """Drives one project through its actions, with the clock of a real working-day calendar.

    Each action happens on the next working day (a few hours apart within it); the clocks are timed
    after each change as the workflow's time_clocks activity would.
    """

    def __init__(self, project: Project, calendar: WorkCalendar, start: datetime, rng: random.Random) -> None:
        self.project, self.calendar, self.now, self.rng = project, calendar, start, rng
        self.time()

    def time(self) -> None:
        stale = self.project.stale_clocks()
        if stale:
            self.project.apply_timings([compute_timing(self.calendar, q) for q in stale], self.now)

    def later(self, days: float = 1.0) -> None:
        self.now = self.calendar.add_working_days(self.now, days * self.rng.uniform(0.3, 1.0))
        self.project.tick(self.now)
        self.time()

    def act(self, action: Any) -> str | None:
        try:
            created = self.project.act(action, self.now)
        except ActionRefused:
            return None
        self.time()
        return created

    def open_steps(self, *statuses: str) -> list[str]:
        return [s.key for s in self.project.steps if s.status in statuses]

    def advance(self, decisions: int, returns: float = 0.15, commitments: float = 0.2) -> int:
        """Submit and decide steps in chain order until `decisions` were made or nothing is open."""
        made = 0
        while made < decisions:
            reviewing = self.open_steps("in_review")
            waiting = self.open_steps("awaiting_submission", "returned", "rejected")
            granted = self.open_steps("granted")
            if granted and self.rng.random() < 0.5:
                self.act(
                    Verify(step=granted[0], actor=reviewer(self.project.step(granted[0]).department), outcome="pass")
                )
            elif reviewing:
                key = reviewing[0]
                step = self.project.step(key)
                back = self.rng.random() < returns and step.attempt < 2
                outcome = "return" if back else "approve"
                self.act(Decide(step=key, actor=reviewer(step.department), outcome=outcome, comment="请补正材料"))
                made += 1
            elif waiting:
                key = waiting[0]
                promise = self.rng.random() < commitments
                if self.act(Submit(step=key, actor=OWNER, commitment=promise)) is None and promise:
                    self.act(Submit(step=key, actor=OWNER))
            elif granted:
                self.act(
                    Verify(step=granted[0], actor=reviewer(self.project.step(granted[0]).department), outcome="pass")
                )
            else:
                break
            self.later(self.rng.choice((0.5, 1, 2, 3)))
        return made

    def submit_open(self) -> None:
        """Submit every step that waits for the owner: they go into review."""
        for key in self.open_steps("awaiting_submission", "returned"):
            self.act(Submit(step=key, actor=OWNER))

    def problem(self, level: int, resolve: bool) -> None:
        """A problem opened by the owner, raised by its holders to `level`, resolved when asked."""
        steps = [s for s in self.project.steps if s.opened_at is not None] or self.project.steps
        step = self.rng.choice(steps)
        problem_id = self.act(OpenProblem(actor=OWNER, summary=f"{step.name}：协调事项", step=step.key))
        if problem_id is None:
            return
        problem = self.project.problem(problem_id)
        while problem.level < level:
            holder = HOLDERS[problem.level - 1]
            if holder.role == "section_chief":
                holder = Actor(username=f"chief-{problem.stage.value}", role="section_chief", stage=problem.stage)
            self.later(0.5)
            if self.act(RaiseProblem(actor=holder, problem_id=problem_id, reason="未获答复")) is None:
                break
        if resolve and problem.status == "open":
            self.later(1)
            self.act(ResolveProblem(actor=LEADER, problem_id=problem_id, resolution="已协调解决"))

    def rate_all(self) -> None:
        """The owner rates ended steps; a bad rating opens a rectification, answered and judged."""
        for step in [s for s in self.project.steps if s.ended_at is not None and s.rating is None]:
            score = self.rng.choices((5, 4, 3, 2, 1), (55, 25, 10, 6, 4))[0]
            if self.rng.random() < 0.7:
                self.act(Rate(actor=OWNER, step=step.key, score=score, comment="" if score > 2 else "跑了三次"))
        for rect in list(self.project.rectifications):
            if self.rng.random() < 0.8:
                answer = AnswerRectification(actor=reviewer(rect.department), rectification_id=rect.id, answer="已整改")
                self.act(answer)
                self.act(
                    JudgeRectification(
                        actor=OWNER, rectification_id=rect.id, accept=self.rng.random() < 0.8, comment="未整改到位"
                    )
                )


def build(
    category: CategorySpec,
    profile: str,
    calendar: WorkCalendar,
    start: datetime,
    seed: int,
    driver: Callable[..., Driver] = Driver,
) -> Project:
    """One template project of a category, driven to where its profile stands (by `driver`)."""
    rng = random.Random(seed)
    phases = ["一期", "二期"] if category.key == "general" and rng.random() < 0.3 else []
    create = CreateProject(
        code=T_CODE,
        name=T_NAME,
        category=category,
        owner_org=T_ORG,
        agent=T_AGENT,
        region_code=REGION,
        investment_wan=round(rng.uniform(50, 200000), 1),
        key_project=rng.random() < 0.1,
        phases=phases,
        sections=[],
        actor=OWNER,
    )
    project = Project.create(create, start, "statutory")
    drive = driver(project, calendar, start, rng)
    steps = len(project.steps)
    if profile == "fresh":
        drive.submit_open()
    elif profile == "early":
        drive.advance(max(1, steps // 4))
        drive.submit_open()
    elif profile == "midway":
        drive.advance(max(1, steps // 2), returns=0.3)
        drive.submit_open()
        drive.problem(rng.choice((1, 2)), resolve=rng.random() < 0.5)
    elif profile == "overdue":
        drive.advance(rng.randrange(0, max(1, steps - 1)))
        drive.submit_open()
        drive.later(25)  # past every limit: overdue, and the ladder climbs by itself
        drive.later(6)
        drive.problem(rng.choice((1, 2, 3, 4)), resolve=False)
    elif profile == "suspended":
        drive.advance(max(1, steps // 3), commitments=1.0)
        granted = drive.open_steps("granted")
        if granted:
            step = project.step(granted[0])
            drive.act(Verify(step=step.key, actor=reviewer(step.department), outcome="fail", comment="承诺事项未落实"))
        drive.submit_open()
    elif profile in ("completed", "troubled_completed"):
        for _ in range(3):
            drive.advance(steps * 2, returns=0.35 if profile == "troubled_completed" else 0.25)
        if profile == "troubled_completed":
            for level in (1, 2, 3, 4):
                drive.problem(level, resolve=rng.random() < 0.9)
        drive.later(2)
        for problem in [p for p in project.problems if p.status == "open" and rng.random() < 0.95]:
            drive.act(ResolveProblem(actor=LEADER, problem_id=problem.id, resolution="已协调解决"))
        drive.rate_all()
    elif profile == "withdrawn":
        drive.advance(rng.randrange(1, max(2, steps)))
        drive.problem(rng.choice((1, 2)), resolve=True)
        drive.later(3)
        drive.act(Withdraw(actor=OWNER, reason="资金未落实"))
    drive.later(0.2)
    return project


# --- COPY text ------------------------------------------------------------------------------------


def copy_value(value: Any) -> str:
    """A value in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        text = value.astimezone(UTC).isoformat()
    elif isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    else:
        text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def columns(model: type[Any]) -> list[str]:
    table: Table = model.__table__
    return [c.name for c in table.columns]


def copy_lines(model: type[Any], rows: list[dict[str, Any]]) -> str:
    names = columns(model)
    return "".join("\t".join(copy_value(row[name]) for name in names) + "\n" for row in rows)


@dataclass
class Template:
    """A projected project as COPY text per table, with its variable parts cut out.

    `parts[table]` alternates literal text and slots: a slot is the name of what fills it
    (code, name, org, owner, agent) or the index of an instant in `instants`.
    """

    category: str
    profile: str
    parts: dict[str, list[str | int]]
    instants: list[datetime]
    zulu: list[bool]  # whether each instant was written with "Z" (Pydantic's JSON) or "+00:00"
    last: datetime  # the latest instant in the project: where "now" was when it was built
    counts: dict[str, int]
    adds: totals.Totals  # what the project adds to the running totals (models/totals.py)
    open_steps: Counter[str] = field(default_factory=Counter)  # department -> steps waiting on it
    shifted: dict[int, dict[str, list[str]]] = field(default_factory=dict)

    def text_for(self, weeks: int) -> dict[str, list[str]]:
        """The parts with every instant moved by whole weeks (cached per shift)."""
        found = self.shifted.get(weeks)
        if found is None:
            delta = weeks * WEEK
            moved = [_instant_text(i + delta, z) for i, z in zip(self.instants, self.zulu, strict=True)]
            found = {
                table: [moved[p] if isinstance(p, int) else p for p in parts] for table, parts in self.parts.items()
            }
            self.shifted[weeks] = found
        return found


def _instant_text(instant: datetime, zulu: bool) -> str:
    text = instant.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z") if zulu else text


# A slot's name starts with NUL, which COPY text never holds.
SLOTS = {T_CODE: "\0code", T_NAME: "\0name", T_ORG: "\0org", T_OWNER: "\0owner", T_AGENT: "\0agent"}
SLOT_PATTERN = re.compile("|".join(re.escape(s) for s in SLOTS) + "|" + TIMESTAMP.pattern)


def template_of(project: Project, category: str, profile: str) -> Template:
    """Project the template with the worker's own row builders, then cut its variable parts out."""
    now = max(e.at for e in project.pending_events)
    code = project.code
    project_fields = project_row(project, now)
    steps = [step_row(code, s) for s in project.steps]
    problems = [problem_row(code, p) for p in project.problems]
    rows = {
        "projects": copy_lines(ProjectRow, [project_fields]),
        "steps": copy_lines(StepRow, steps),
        "events": copy_lines(EventRow, [event_row(code, e) for e in project.pending_events]),
        "problems": copy_lines(ProblemRow, problems),
        "rectifications": copy_lines(RectificationRow, [rectification_row(code, r) for r in project.rectifications]),
    }
    instants: dict[str, int] = {}
    parts: dict[str, list[str | int]] = {}
    for table, text in rows.items():
        cut: list[str | int] = []
        at = 0
        for match in SLOT_PATTERN.finditer(text):
            cut.append(text[at : match.start()])
            found = match.group(0)
            if found in SLOTS:
                cut.append(SLOTS[found])
            elif found.startswith(f"{NO_DEADLINE.year}-"):
                cut.append(found)  # no deadline: it stays after every real one, wherever the project moves
            else:
                cut.append(instants.setdefault(found, len(instants)))
            at = match.end()
        cut.append(text[at:])
        parts[table] = cut
    parsed = [datetime.fromisoformat(t.replace(" ", "T").replace("Z", "+00:00")) for t in instants]
    waiting = Counter(s.department for s in project.steps if s.status in ("in_review", "granted"))
    counts = {"steps": len(project.steps), "events": len(project.pending_events), "problems": len(project.problems)}
    zulu = [t.endswith("Z") for t in instants]
    # What the project adds to the running totals: the same wherever its dates are moved by whole weeks.
    adds = totals.contributions(project_fields, steps, problems)
    return Template(
        category, profile, parts, parsed, zulu, now, counts, adds, waiting if not project.ended else Counter()
    )


def fill(parts: list[str], values: dict[str, str]) -> str:
    """The parts with their named slots filled (instants were filled by text_for)."""
    return "".join(values[p] if p[:1] == "\0" else p for p in parts)


# --- the city --------------------------------------------------------------------------------------


@dataclass
class City:
    projects: int
    seed: int = 7
    templates_per_kind: int = 12
    organisations: int = 0  # 0: one per five projects
    agents: int = 0  # 0: one per 400 projects
    years: int = 3


def templates(city: City, calendar: WorkCalendar, now: datetime) -> dict[tuple[str, str], list[Template]]:
    """Templates by profile and category, a few seeds of each."""
    catalog = default_catalog()
    found: dict[tuple[str, str], list[Template]] = {}
    start = _monday(now - timedelta(days=420))
    for index, (profile, _) in enumerate(PROFILES):
        for category in catalog.categories:
            for n in range(city.templates_per_kind):
                seed = city.seed * 1_000_003 + index * 10_007 + n * 101 + hash(category.key) % 97
                project = build(category, profile, calendar, start, seed)
                found.setdefault((profile, category.key), []).append(template_of(project, category.key, profile))
    return found


def _monday(instant: datetime) -> datetime:
    day = instant.date() - timedelta(days=instant.weekday())
    return datetime(day.year, day.month, day.day, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai


def project_code(created: datetime, serials: Counter[str], rng: random.Random) -> str:
    """A valid project code for the year it was created in: unique by serial."""
    kind = rng.choice(("01", "02", "03"))
    department = rng.choice(("01", "02", "03", "05"))
    prefix = f"{created.year}-{REGION}-{department}-{kind}"
    serials[prefix] += 1
    body = f"{prefix}-{serials[prefix]:05d}"
    return body + project_check_char(body)


def organisation(n: int) -> str:
    return make_credit_code(f"91310115MA{n:07d}")


def generate(city: City, conn: psycopg.Connection[Any], log: Callable[[str], None] = print) -> dict[str, Any]:
    """Write the city; figures of what was written and how long it took."""
    began = time.monotonic()
    rng = random.Random(city.seed)
    now = datetime.now(UTC)
    calendar = WorkCalendar(seed_years(), tz="Asia/Shanghai")
    kinds = templates(city, calendar, now)
    built = time.monotonic() - began
    log(f"city: {sum(len(t) for t in kinds.values())} templates built in {built:.1f} s")
    organisations = city.organisations or max(2, city.projects // 5)
    agents = city.agents or max(2, city.projects // 400)
    orgs = [organisation(n) for n in range(organisations)]
    written: Counter[str] = Counter()
    waiting: Counter[str] = Counter()
    serials: Counter[str] = Counter()
    kept: totals.Totals = defaultdict(float)  # the running totals of every project written
    profiles, shares = zip(*PROFILES, strict=True)
    categories, category_shares = zip(*CATEGORY_SHARES.items(), strict=True)
    span_weeks = city.years * 52
    batch = {table: io.StringIO() for table in ("projects", "steps", "events", "problems", "rectifications")}
    with conn.cursor() as cur:
        for index in range(city.projects):
            profile = rng.choices(profiles, shares)[0]
            category = rng.choices(categories, category_shares)[0]
            template = rng.choice(kinds[(profile, category)])
            # Live projects were last touched lately; ended ones any time in the last years.
            behind = rng.randrange(0, 3) if profile in LIVE_PROFILES else rng.randrange(2, span_weeks)
            weeks = (now - template.last) // WEEK - behind
            created = template.instants[0] + weeks * WEEK
            org_n = rng.randrange(organisations)
            values = {
                "\0code": project_code(created, serials, rng),
                "\0name": f"{rng.choice(NAMES)}{rng.choice(WORKS)}{index:06d}",
                "\0org": orgs[org_n],
                "\0owner": f"owner-{org_n:06d}",
                "\0agent": f"agent-{rng.randrange(agents):04d}",
            }
            for table, parts in template.text_for(weeks).items():
                batch[table].write(fill(parts, values))
            written["projects"] += 1
            for kind, n in template.counts.items():
                written[kind] += n
            waiting.update(template.open_steps)
            for key, value in template.adds.items():
                kept[key] += value
            if (index + 1) % 2000 == 0 or index + 1 == city.projects:
                _flush(cur, batch)
                conn.commit()
                if (index + 1) % 20000 == 0:
                    log(f"city: {index + 1} projects in {time.monotonic() - began:.0f} s")
        users = _users(cur, organisations, orgs, agents)
        add_totals = (
            "INSERT INTO totals (name, key, value) VALUES (%s, %s, %s)"
            " ON CONFLICT (name, key) DO UPDATE SET value = totals.value + excluded.value"
        )
        cur.executemany(add_totals, [(name, key, value) for (name, key), value in sorted(kept.items())])
        conn.commit()
    seconds = time.monotonic() - began
    log(f"city: vacuum and analyse after {seconds:.0f} s")
    conn.autocommit = True
    conn.execute("VACUUM ANALYZE")  # the visibility map too, or index-only scans read the heap
    return {
        "projects": written["projects"],
        "steps": written["steps"],
        "events": written["events"],
        "problems": written["problems"],
        "users": users,
        "templates": sum(len(t) for t in kinds.values()),
        "open_steps_by_department": dict(waiting.most_common()),
        "seconds": round(time.monotonic() - began, 1),
    }


def _flush(cur: psycopg.Cursor[Any], batch: dict[str, io.StringIO]) -> None:
    models = dict(zip(("projects", "steps", "events", "problems", "rectifications"), TABLES, strict=True))
    for table, buffer in batch.items():
        text = buffer.getvalue()
        if text:
            with cur.copy(f"COPY {table} ({', '.join(columns(models[table]))}) FROM STDIN") as copy:
                copy.write(text)
        buffer.seek(0)
        buffer.truncate()


def _users(cur: psycopg.Cursor[Any], organisations: int, orgs: list[str], agents: int) -> int:
    """The demo directory (reviewers of every department, chiefs, office, leader) and the city's
    owners and deputies; every password is `demo`."""
    hashed = hash_password("demo")
    rows: list[dict[str, Any]] = [dict(spec) for spec in DEMO_USERS]
    rows += [{"username": f"owner-{n:06d}", "role": "owner", "organisation": orgs[n]} for n in range(organisations)]
    rows += [{"username": f"agent-{n:04d}", "role": "agent"} for n in range(agents)]
    names = columns(UserRow)
    defaults = {name: None for name in names} | {
        "password_hash": hashed,
        "display_name": "",
        "active": True,
        "failed_logins": 0,
        "language": "zh-CN",
        "email_enabled": True,
        "webhook_enabled": True,
    }
    with cur.copy(f"COPY users ({', '.join(names)}) FROM STDIN") as copy:
        copy.write("".join("\t".join(copy_value((defaults | row)[n]) for n in names) + "\n" for row in rows))
    return len(rows)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", required=True, help="an empty PostgreSQL database (SQLAlchemy URL)")
    parser.add_argument("--projects", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    return parser.parse_args(argv)


def connect(url: str) -> psycopg.Connection[Any]:
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise SystemExit("the city is written to PostgreSQL")
    return psycopg.connect(
        host=parsed.host, port=parsed.port, user=parsed.username, password=parsed.password, dbname=parsed.database
    )


def write_city(url: str, projects: int, seed: int = 7, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Migrate the (empty) database, then write a city of `projects` into it."""
    migrate(url)
    with connect(url) as conn:
        return generate(City(projects=projects, seed=seed), conn, log)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    figures = write_city(args.database, args.projects, args.seed)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for name, value in figures.items():
            print(f"{name}: {value}")


if __name__ == "__main__":
    main()
