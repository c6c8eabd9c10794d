"""Projects for enterprises, deputies and reviewers: the list (/p, /p.csv), a new project
(/p/new), finding a project by its code (/p/lookup) and the printable project-code card.

The list reads through the same query as `GET /projects`; a new project is validated by the
API's own body schema and created by the same command as `POST /projects`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import segno
from fastapi import Depends, Form, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from api.commands import CommandsDep
from api.deps import ServicesDep, SessionDep, actor_of, request_key
from api.errors import ApiError
from api.queries import display_names, list_projects, organisation_names, project_state, visible_project
from api.schemas import PRINTABLE, ProjectCreate, ProjectSummary
from domain.access import require_role
from domain.catalog import Catalog
from domain.codes import (
    InvalidCode,
    credit_code_check_char,
    project_check_char,
    validate_credit_code,
    validate_project_code,
)
from web import labels
from web.export import csv_response
from web.i18n import Language
from web.labels import N_
from web.pages import Caller, FormChecked, PageCode, page, page_router, see_other
from web.refusals import CHECK_THIS, FIELD_MESSAGES, refusal_message
from web.render import caller_language

router = page_router()
PAGE_SIZE = 50
LIST_TITLES = {"owner": N_("My projects"), "agent": N_("Projects I shepherd")}
LIST_INTROS = {
    "owner": N_("The projects of your enterprise."),
    "agent": N_("The projects you are the deputy (代办员) of: you act on behalf of their enterprises."),
    "reviewer": N_("The projects that have reached your department."),
}

# ---- the list --------------------------------------------------------------------------------


@dataclass
class ProjectFilters:
    """The list's filters, as `GET /projects` takes them ("" = any)."""

    colour: str = ""
    stage: str = ""
    status: str = ""
    category: str = ""
    q: str = ""

    def query(self) -> dict[str, str | None]:
        return {name: getattr(self, name) or None for name in ("colour", "stage", "status", "category")}

    def url(self, path: str, **more: str) -> str:
        """`path` with these filters (and `more`) as its query string."""
        params = {k: v for k, v in {**vars(self), **more}.items() if v}
        return f"{path}?{urlencode(params)}" if params else path


async def project_filters(
    svc: ServicesDep,
    db: SessionDep,
    colour: str = "",
    stage: str = "",
    status: str = "",
    category: Annotated[str, Query(max_length=40)] = "",
    q: Annotated[str, Query(max_length=100, pattern=PRINTABLE)] = "",
) -> ProjectFilters:
    """The filters of the request; a value no option of the form offers is refused (the 422 page)."""
    catalog = await svc.catalog.get(db)
    choices = {
        "colour": (colour, labels.COLOUR),
        "stage": (stage, labels.STAGE),
        "status": (status, labels.PROJECT_STATUS),
        "category": (category, {c.key: c.name for c in catalog.categories}),
    }
    for name, (value, allowed) in choices.items():
        if value and value not in allowed:
            raise ApiError(422, "invalid_input", f"{name} {value!r} is not one of the options")
    return ProjectFilters(colour, stage, status, category, q.strip())


Filters = Annotated[ProjectFilters, Depends(project_filters)]


@router.get("/p")
async def project_list(
    request: Request,
    user: Caller,
    svc: ServicesDep,
    db: SessionDep,
    filters: Filters,
    cursor: Annotated[str, Query(max_length=24, pattern=PRINTABLE)] = "",
) -> Response:
    """The projects the caller may see, filtered, 50 a page."""
    items, next_cursor = await list_projects(
        db, actor_of(user), filters.query(), filters.q or None, PAGE_SIZE, cursor or None
    )
    catalog = await svc.catalog.get(db)
    lang = caller_language(request)
    tables = {"colour": labels.COLOUR, "stage": labels.STAGE, "status": labels.PROJECT_STATUS}
    choices = {name: [(key, lang.gettext(words)) for key, words in table.items()] for name, table in tables.items()}
    choices["category"] = [(c.key, lang.name(c)) for c in catalog.categories]
    return page(
        request,
        "projects.html",
        title=LIST_TITLES.get(user.role, N_("Projects")),
        intro=LIST_INTROS.get(user.role, N_("Every project of the district.")),
        items=items,
        categories={c.key: c for c in catalog.categories},
        choices=choices,
        filters=filters,
        next_url=filters.url("/p", cursor=next_cursor) if next_cursor else "",
        first_url=filters.url("/p") if cursor else "",
        csv_url=filters.url("/p.csv"),
    )


async def every_project(db: SessionDep, user: Any, filters: ProjectFilters) -> AsyncIterator[ProjectSummary]:
    """Every project the filters keep, page after page of the list's own query."""
    cursor: str | None = None
    while True:
        items, cursor = await list_projects(db, actor_of(user), filters.query(), filters.q or None, 200, cursor)
        for item in items:
            yield item
        if cursor is None:
            return


@router.get("/p.csv")
async def project_list_csv(
    request: Request, user: Caller, svc: ServicesDep, db: SessionDep, filters: Filters
) -> Response:
    """The list as a spreadsheet, every page of it."""
    lang = caller_language(request)
    _ = lang.gettext
    catalog = await svc.catalog.get(db)
    rows = [item async for item in every_project(db, user, filters)]
    names = await organisation_names(db, {item.owner for item in rows})
    people = await display_names(db, {item.agent for item in rows})
    header = [
        _("Project code"),
        _("Name"),
        _("Light"),
        _("Category"),
        _("Stage"),
        _("Status"),
        _("Enterprise"),
        _("Credit code"),
        _("Deputy"),
        _("Key project"),
        _("Created"),
    ]
    table = [
        [
            item.code,
            item.name,
            _(labels.COLOUR[item.colour]),
            category_name(lang, catalog, item.category),
            _(labels.STAGE.get(item.stage, item.stage)),
            _(labels.PROJECT_STATUS.get(item.status, item.status)),
            lang.words(names.get(item.owner, "")),
            item.owner,
            lang.words(people.get(item.agent, item.agent)),
            _("Yes") if item.key_project else _("No"),
            lang.date(item.created_at.astimezone(ZoneInfo(svc.settings.timezone))),
        ]
        for item in rows
    ]
    title = LIST_TITLES.get(user.role, N_("Projects"))
    return csv_response(_(title), office_today(svc), header, table)


def category_name(lang: Language, catalog: Catalog, key: str) -> str:
    found = catalog.get(key)
    return lang.name(found) if found else key


def office_today(svc: ServicesDep) -> date:
    return datetime.now(ZoneInfo(svc.settings.timezone)).date()


# ---- a new project ---------------------------------------------------------------------------

# Refusals of the creation command, by the field they are about, in words.
CREATE_REFUSALS = {
    "unknown_category": ("category", N_("Choose a category of the list.")),
    "not_own_organisation": ("owner_credit_code", N_("An enterprise creates projects for itself only.")),
    "phases_not_applicable": ("phases", N_("This category has no phased construction permit: leave this empty.")),
    "sections_not_applicable": ("sections", N_("This category has no joint acceptance: leave this empty.")),
    "no_agent": ("", N_("No deputy is available to take the project. Contact the government affairs office.")),
}
CREATE_FIELDS = {
    ("owner_credit_code", "string_pattern_mismatch"): N_(
        "A unified social credit code has 18 characters: digits and capital letters (no I, O, Z, S, V)."
    ),
    ("investment_wan", "float_type"): N_("Enter the investment as a number of 万元, such as 1200 or 350.5."),
    ("investment_wan", "greater_than"): N_("The investment must be more than 0."),
    ("investment_wan", "less_than_equal"): N_("The investment is too large: it is counted in 万元."),
    ("category", "string_pattern_mismatch"): N_("Choose a category of the list."),
}
WRONG_CHECK_CHARACTER = N_(
    "The last character (the check character) does not match the others: one character is mistyped."
)
WRONG_CREDIT_CODE = N_("This is not a valid unified social credit code: check it against the business licence.")


def wrong_check_character(code: str, body: int, check: Callable[[str], str], validate: Callable[[str], str]) -> bool:
    """Whether `code` would be valid but for its last character, the check character."""
    if len(code) != body + 1:
        return False
    try:
        validate(code[:body] + check(code[:body]))
    except InvalidCode:
        return False
    return True


def lines(text: str) -> list[str] | None:
    """The non-empty lines of a text area, or None."""
    found = [line.strip() for line in text.splitlines() if line.strip()]
    return found or None


def amount(text: str) -> Any:
    """A number of 万元 as JSON sends it (a float), or the text as typed (the schema refuses it)."""
    cleaned = text.strip().replace(",", "").replace("，", "")
    try:
        return float(cleaned)
    except ValueError:
        return text


def create_errors(request: Request, err: ValidationError) -> dict[str, str]:
    """The first problem of each field of the form (a phase's error is the phases field's)."""
    translate = caller_language(request).gettext
    found: dict[str, str] = {}
    for error in err.errors():
        name = str(error["loc"][0]) if error["loc"] else ""
        message = CREATE_FIELDS.get((name, error["type"])) or FIELD_MESSAGES.get(error["type"], CHECK_THIS)
        found.setdefault(name, translate(message))
    return found


def refused_create(request: Request, err: ApiError | InvalidCode, credit: str) -> dict[str, str]:
    """A refusal of the creation command, next to the field it is about."""
    translate = caller_language(request).gettext
    if isinstance(err, InvalidCode):
        code = credit.strip().upper()
        wrong = wrong_check_character(code, 17, credit_code_check_char, validate_credit_code)
        return {"owner_credit_code": translate(WRONG_CHECK_CHARACTER if wrong else WRONG_CREDIT_CODE)}
    field, message = CREATE_REFUSALS.get(err.code, ("", ""))
    return {field: translate(message) if message else refusal_message(request, err.code)}


async def new_project_form(
    request: Request, svc: ServicesDep, db: SessionDep, status: int = 200, **context: Any
) -> Response:
    catalog = await svc.catalog.get(db)  # what creation accepts (api/routes/projects.py)
    phased = [c for c in catalog.categories if any(s.mode == "phased" for s in c.steps)]
    joint = [c for c in catalog.categories if any(s.joint_role for s in c.steps)]
    values = {"idempotency_key": str(uuid.uuid4()), **context.pop("values", {})}
    return page(
        request,
        "project_new.html",
        status,
        title=N_("New project"),
        categories=catalog.categories,
        phased=phased,
        joint=joint,
        values=values,
        **context,
    )


@router.get("/p/new")
async def new_project(request: Request, user: Caller, svc: ServicesDep, db: SessionDep) -> Response:
    require_role(actor_of(user), "create_project")
    return await new_project_form(request, svc, db)


# An Idempotency key as the API takes it: 1 to 200 visible ASCII characters.
FORM_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
FormText = Annotated[str, Form(max_length=20000)]


@router.post("/p/new", dependencies=[FormChecked])
async def create_project(
    request: Request,
    user: Caller,
    svc: ServicesDep,
    db: SessionDep,
    send: CommandsDep,
    category: FormText = "",
    name: FormText = "",
    owner_credit_code: FormText = "",
    investment_wan: FormText = "",
    key_project: FormText = "",
    phases: FormText = "",
    sections: FormText = "",
    idempotency_key: FormText = "",
) -> Response:
    """Create the project as `POST /projects` does; the form's key makes a double submit create one."""
    actor = actor_of(user)
    require_role(actor, "create_project")
    credit = (actor.organisation or "") if actor.role == "owner" else owner_credit_code
    typed = {"category": category, "name": name, "owner_credit_code": credit, "investment_wan": investment_wan}
    values = {**typed, "key_project": key_project, "phases": phases, "sections": sections}
    values["idempotency_key"] = idempotency_key if FORM_KEY.match(idempotency_key) else str(uuid.uuid4())
    fields = {
        **typed,
        "investment_wan": amount(investment_wan),
        "key_project": key_project == "true",
        "phases": lines(phases),
        "sections": lines(sections),
    }
    try:
        body = ProjectCreate.model_validate(fields)
    except ValidationError as err:
        return await new_project_form(request, svc, db, 422, errors=create_errors(request, err), values=values)
    catalog = await svc.catalog.get(db)
    key = request_key(user, values["idempotency_key"])
    try:
        try:
            code = await send.create_project(db, catalog, actor, body.model_dump(), key)
        except IntegrityError:  # the same form sent twice at once: the other request issued the code
            await db.rollback()
            code = await send.create_project(db, catalog, actor, body.model_dump(), key)
    except (ApiError, InvalidCode) as err:
        errors = refused_create(request, err, credit)
        status = err.status if isinstance(err, ApiError) else 422
        return await new_project_form(request, svc, db, status, errors=errors, values=values)
    return see_other(f"/p/{code}?done=created")


# ---- finding a project by its code -----------------------------------------------------------

CODE_SHAPE = N_("A project code has 24 characters, such as 2026-310115-01-01-00001X.")


def code_of(text: str) -> str:
    """The code in what was typed, scanned or pasted: a code, or an address that ends with one."""
    found = "".join(text.split())
    if "/" in found:
        found = found.split("#")[0].split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    return found


@router.get("/p/lookup")
async def lookup(
    request: Request, user: Caller, db: SessionDep, code: Annotated[str | None, Query(max_length=2000)] = None
) -> Response:
    """Find a project by its code: a visible one opens; a hidden or unknown one is not found."""
    context: dict[str, Any] = {"title": N_("Find a project"), "code": code or ""}
    if code is None:
        return page(request, "lookup.html", **context)
    typed = code_of(code)
    translate = caller_language(request).gettext
    if not typed:
        return page(request, "lookup.html", 422, errors={"code": translate(N_("Enter a project code."))}, **context)
    try:
        found = validate_project_code(typed)
    except InvalidCode:
        wrong = wrong_check_character(typed.upper(), 23, project_check_char, validate_project_code)
        message = translate(WRONG_CHECK_CHARACTER if wrong else CODE_SHAPE)
        return page(request, "lookup.html", 422, errors={"code": message}, **context)
    await visible_project(db, actor_of(user), found)
    return see_other(f"/p/{found}")


# ---- the project-code card -------------------------------------------------------------------


def project_url(request: Request, svc: ServicesDep, code: str) -> str:
    """The project page's address as people reach the service (the public address, else this request's)."""
    base = svc.settings.public_url or str(request.base_url)
    return f"{base.rstrip('/')}/p/{code}"


def qr_svg(url: str, title: str) -> str:
    """The QR code of `url` as inline SVG, scaled by CSS."""
    return str(segno.make(url, error="m").svg_inline(scale=4, omitsize=True, title=title, svgclass="qr", light="#fff"))


@router.get("/p/{code}/card")
async def code_card(request: Request, code: PageCode, user: Caller, svc: ServicesDep, db: SessionDep) -> Response:
    """A printable card: the project code large, the project, and a QR code that opens its page."""
    project = await project_state(db, actor_of(user), code)
    url = project_url(request, svc, code)
    lang = caller_language(request)
    title = lang.gettext(N_("QR code of the project page"))
    return page(
        request,
        "project_card.html",
        title=N_("Project code card"),
        project=project,
        category=(await svc.catalog.get(db)).get(project.category),
        organisations=await organisation_names(db, [project.owner_org]),
        url=url,
        qr=qr_svg(url, title),
    )
