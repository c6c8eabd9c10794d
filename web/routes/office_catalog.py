"""The office's catalog page (/office/catalog): each category with its steps (names, department,
mode, limit, verification window, what happens when a step is overdue), and a form per category
to change its steps' limits in working days. Saving is exactly `PUT /catalog/{category}`
(api/office.py): the same body schema, the same checks, the same store. Running projects keep
the category as it was when they started."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Path, Request
from fastapi.responses import Response
from pydantic import TypeAdapter, ValidationError

from api.deps import ServicesDep, SessionDep, actor_of
from api.errors import ApiError, not_found
from api.office import save_category_body
from api.schemas import CategoryBody
from domain.access import require_role
from domain.catalog import CategorySpec
from models.catalog_store import effective_catalog
from web import labels
from web.export import csv_response
from web.labels import N_
from web.pages import Caller, FormChecked, page, page_router, see_other
from web.refusals import CHECK_THIS
from web.render import caller_language

router = page_router()


async def may_manage(user: Caller) -> None:
    """The office only (the 403 page for anyone else)."""
    require_role(actor_of(user), "manage")


router.dependencies.append(Depends(may_manage))
CategoryPath = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{1,39}$")]
OVERDUE = {"problem": N_("A problem is raised"), "deemed_approval": N_("Deemed approved at the deadline")}
PROJECT_TYPE = {"01": N_("01 · approval (审批)"), "02": N_("02 · verification (核准)"), "03": N_("03 · filing (备案)")}
LIMIT_MESSAGES = {
    "greater_than_equal": N_("At least 1 working day."),
    "less_than_equal": N_("At most 120 working days."),
}
WHOLE_DAYS = N_("Enter a whole number of working days.")


def limit_field(category: str, step: str) -> str:
    """The id of a step's limit on the page (its form field is `limit-{step}`)."""
    return f"limit-{category}-{step}"


def body_with_limits(spec: CategorySpec, form: dict[str, str]) -> dict[str, Any]:
    """The category as `PUT /catalog/{category}` takes it, with the limits the form gives (as typed:
    the schema refuses what is not a whole number)."""
    body = spec.model_dump(mode="json", exclude={"name", "description"})
    for step in body["steps"]:
        step.pop("name", None)
        typed = form.get(f"limit-{step['key']}")
        if typed is not None:
            typed = typed.strip()
            step["limit_working_days"] = int(typed) if typed.isascii() and typed.isdigit() else typed
    return body


async def catalog_page(request: Request, db: SessionDep, status: int = 200, **context: Any) -> Response:
    catalog = await effective_catalog(db)
    context.setdefault("errors", {})
    context.setdefault("typed", {})
    return page(
        request,
        "office_catalog.html",
        status,
        title=N_("Catalog"),
        categories=catalog.categories,
        overdue=OVERDUE,
        project_types=PROJECT_TYPE,
        limit_field=limit_field,
        **context,
    )


@router.get("/office/catalog")
async def catalog(request: Request, db: SessionDep, done: str | None = None) -> Response:
    saved = (await effective_catalog(db)).get(done) if done else None
    flash = None
    if saved is not None:
        lang = caller_language(request)
        name = lang.name(saved)
        flash = lang.gettext(
            N_(
                "The limits of %(name)s were saved. New projects use them; running projects keep the limits they started with."
            )
        ) % {"name": name}
    return await catalog_page(request, db, flash=flash)


@router.post("/office/catalog/{category}", dependencies=[FormChecked])
async def save_limits(
    request: Request, category: CategoryPath, user: Caller, svc: ServicesDep, db: SessionDep
) -> Response:
    """Change the limits of one category's steps, saved as `PUT /catalog/{category}` saves."""
    spec = (await effective_catalog(db)).get(category)
    if spec is None:
        raise not_found(f"category {category}")
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    body = body_with_limits(spec, form)
    lang = caller_language(request)
    try:
        spec_body = TypeAdapter(CategoryBody).validate_python(body)
        await save_category_body(db, category, spec_body, user.username, svc.catalog)
    except ValidationError as err:
        errors: dict[str, str] = {}
        for error in err.errors():
            loc = error["loc"]
            step = body["steps"][int(loc[1])]["key"] if len(loc) > 1 and loc[0] == "steps" else ""
            field = limit_field(category, step) if step and loc[-1] == "limit_working_days" else ""
            message = LIMIT_MESSAGES.get(error["type"], WHOLE_DAYS if field else CHECK_THIS)
            errors.setdefault(field, lang.gettext(message))
        return await catalog_page(request, db, 422, errors=errors, typed={category: form})
    except ApiError as err:
        return await catalog_page(request, db, err.status, errors={"": err.detail})
    return see_other(f"/office/catalog?done={category}#{category}")


@router.get("/office/catalog.csv")
async def catalog_csv(request: Request, svc: ServicesDep, db: SessionDep) -> Response:
    """Every step of every category, with its department, mode, limit, window and overdue policy."""
    lang = caller_language(request)
    _ = lang.gettext
    rows = [
        (
            category.key,
            lang.name(category),
            step.key,
            lang.name(step),
            _(labels.STAGE[step.stage.value]),
            lang.department(step.department),
            _(labels.MODE[step.mode]),
            step.limit_working_days,
            step.verify_working_days,
            _(OVERDUE[step.overdue]),
        )
        for category in (await effective_catalog(db)).categories
        for step in category.steps
    ]
    header = (
        _("Category key"),
        _("Category"),
        _("Step key"),
        _("Step"),
        _("Stage"),
        _("Department"),
        _("Mode"),
        _("Limit (working days)"),
        _("Verification window (working days)"),
        _("When overdue"),
    )
    return csv_response(_("catalog"), datetime.now(ZoneInfo(svc.settings.timezone)).date(), header, rows)
