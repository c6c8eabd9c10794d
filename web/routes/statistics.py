"""Statistics for section chiefs, the office and district leaders (/statistics): on-time rate and
satisfaction per department, stage durations against their limits, problems by level and the mean
time to resolve one. The numbers are `GET /stats`'s; each chart is an SVG drawn here, with its
data as a table beside it, and every table downloads as CSV (/statistics/<table>.csv)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.responses import Response

from api.deps import ServicesDep, SessionDep, actor_of
from api.queries import statistics
from domain.access import require_role
from domain.catalog import DEPARTMENT_NAMES
from web import labels
from web.export import csv_response
from web.i18n import Language
from web.labels import N_
from web.pages import Caller, page, page_router
from web.render import caller_language

router = page_router()


async def may_read_statistics(user: Caller) -> None:
    """Section chiefs, the office and leaders (the 403 page for anyone else)."""
    require_role(actor_of(user), "read_statistics")


router.dependencies.append(Depends(may_read_statistics))
TableName = Literal["on_time", "stages", "satisfaction", "problems", "resolution"]


@dataclass
class Bar:
    """One bar of a chart: its length on the chart's scale, the words written after it, its series."""

    value: float
    text: str
    series: int = 0


@dataclass
class Table:
    """One table of the page: its CSV name, title, header, rows as shown, and the chart drawn from it."""

    name: TableName
    title: str
    header: list[str]
    rows: list[list[Any]]
    chart: list[tuple[str, list[Bar]]] = field(default_factory=list)  # (label, bars) per row
    scale: float = 1.0  # the value of a full-length bar
    legend: list[str] = field(default_factory=list)  # one word per series, when there are several


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def number(value: float | None) -> str:
    """A mean as an office writes it: at most two decimals, no trailing zeros (3, 3.5, 0.25)."""
    return "—" if value is None else f"{value:.2f}".rstrip("0").rstrip(".")


def tables(stats: dict[str, Any], lang: Language) -> list[Table]:
    """The page's tables, in the caller's language."""
    _ = lang.gettext

    dept = lang.department

    order = {code: i for i, code in enumerate(DEPARTMENT_NAMES)}
    departments = sorted(stats["departments"].items(), key=lambda item: (order.get(item[0], len(order)), item[0]))
    on_time = Table(
        "on_time",
        _("On-time rate per department"),
        [_("Department"), _("Steps decided"), _("Decided within the limit")],
        [[dept(d), s["decided_steps"], percent(s["on_time_rate"])] for d, s in departments],
        [(dept(d), [Bar(s["on_time_rate"] or 0, percent(s["on_time_rate"]))]) for d, s in departments],
    )
    stages = stats["stages"]
    longest = max([max(s["mean_working_days"], s["mean_limit_working_days"]) for s in stages.values()] or [1.0])
    took, limit = _("took %(n)s"), _("limit %(n)s")
    durations = Table(
        "stages",
        _("Stage durations against their limits (working days)"),
        [_("Stage"), _("Steps decided"), _("Mean working days taken"), _("Mean limit in working days")],
        [
            [
                _(labels.STAGE[k]),
                s["decided_steps"],
                number(s["mean_working_days"]),
                number(s["mean_limit_working_days"]),
            ]
            for k, s in stages.items()
        ],
        [
            (
                _(labels.STAGE[k]),
                [
                    Bar(s["mean_working_days"], took % {"n": number(s["mean_working_days"])}, 0),
                    Bar(s["mean_limit_working_days"], limit % {"n": number(s["mean_limit_working_days"])}, 1),
                ],
            )
            for k, s in stages.items()
        ],
        scale=longest or 1.0,
        legend=[_("Mean working days taken"), _("Mean limit in working days")],
    )
    rated = [(d, s) for d, s in departments if s["ratings"]]
    satisfaction = Table(
        "satisfaction",
        _("Satisfaction per department (ratings of 4 or 5 stars)"),
        [_("Department"), _("Ratings"), _("Rated 4 or 5")],
        [[dept(d), s["ratings"], percent(s["satisfaction_rate"])] for d, s in rated],
        [(dept(d), [Bar(s["satisfaction_rate"] or 0, percent(s["satisfaction_rate"]))]) for d, s in rated],
    )
    ladder = stats["problems"]
    by_level = [(level, ladder["open_by_level"].get(str(level), 0)) for level in labels.LEVEL]
    problems = Table(
        "problems",
        _("Open problems by level"),
        [_("Level"), _("Open problems")],
        [[_(labels.LEVEL[level]), n] for level, n in by_level],
        [(_(labels.LEVEL[level]), [Bar(n, str(n))]) for level, n in by_level],
        scale=max([n for _level, n in by_level] + [1]),
    )
    resolution = Table(
        "resolution",
        _("Problems resolved"),
        [_("Problems resolved"), _("Mean hours to resolve")],
        [[ladder["resolved"], number(ladder["mean_hours_to_resolve"])]],
    )
    return [on_time, durations, satisfaction, problems, resolution]


@router.get("/statistics")
async def statistics_page(request: Request, db: SessionDep) -> Response:
    found = tables(await statistics(db), caller_language(request))
    return page(request, "statistics.html", title=N_("Statistics"), tables=found)


@router.get("/statistics/{name}.csv")
async def statistics_csv(request: Request, name: TableName, svc: ServicesDep, db: SessionDep) -> Response:
    """One table of the page, as shown there."""
    lang = caller_language(request)
    table = next(t for t in tables(await statistics(db), lang) if t.name == name)
    today = datetime.now(ZoneInfo(svc.settings.timezone)).date()
    return csv_response(lang.gettext("statistics") + f"-{name}", today, table.header, table.rows)
