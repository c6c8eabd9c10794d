"""The dashboard of section chiefs, the office and district leaders: how many projects show each
light, stand at each stage, have each status, and how many problems wait at each level of the
ladder. Each count opens the list behind it; the counts refresh themselves every 15 seconds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.responses import Response

from api.deps import ServicesDep, SessionDep, actor_of
from api.queries import project_counts
from domain.access import require_role
from models.figures import open_problems_by_level
from web import labels
from web.export import csv_response
from web.labels import N_
from web.pages import Caller, page, page_router
from web.render import caller_language

router = page_router()


async def may_read_statistics(user: Caller) -> None:
    """Section chiefs, the office and leaders (the 403 page for anyone else)."""
    require_role(actor_of(user), "read_statistics")


router.dependencies.append(Depends(may_read_statistics))
COLOURS = ("red", "yellow", "green")


async def counts(db: SessionDep) -> dict[str, Any]:
    """What the dashboard shows, read at this moment."""
    return {"projects": await project_counts(db), "levels": await open_problems_by_level(db), "at": datetime.now(UTC)}


@router.get("/dashboard")
async def dashboard(request: Request, db: SessionDep) -> Response:
    return page(request, "dashboard.html", title=N_("Dashboard"), colours=COLOURS, **await counts(db))


@router.get("/dashboard/counts")
async def dashboard_counts(request: Request, db: SessionDep) -> Response:
    """The counts alone, swapped in place by htmx."""
    return page(request, "dashboard_counts.html", colours=COLOURS, **await counts(db))


@router.get("/dashboard.csv")
async def dashboard_csv(request: Request, svc: ServicesDep, db: SessionDep) -> Response:
    """Every count of the dashboard, one per line."""
    _ = caller_language(request).gettext
    projects, levels = await project_counts(db), await open_problems_by_level(db)
    groups = (
        (N_("Light"), labels.COLOUR, COLOURS, projects["by_colour"]),
        (N_("Stage"), labels.STAGE, tuple(labels.STAGE), projects["by_stage"]),
        (N_("Status"), labels.PROJECT_STATUS, tuple(labels.PROJECT_STATUS), projects["by_status"]),
        (N_("Open problems"), {str(k): v for k, v in labels.LEVEL.items()}, tuple(map(str, labels.LEVEL)), levels),
    )
    rows = [(_(group), _(words[key]), found.get(key, 0)) for group, words, keys, found in groups for key in keys]
    today = datetime.now(ZoneInfo(svc.settings.timezone)).date()
    return csv_response(_("dashboard"), today, (_("Group"), _("Item"), _("Count")), rows)
