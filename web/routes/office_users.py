"""The office's users page (/office/users): every user with its role, binding, e-mail address,
mobile number and account state; creating one, deactivating or reactivating it, resetting its
password, lifting a login lock, changing where notices reach it.

Each form is validated by the API's own body schema (`UserCreate`, `UserUpdate`) and saved by
the same service as `POST /users` and `PATCH /users/{username}` (api/users.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Depends, Path, Request
from fastapi.responses import Response
from pydantic import TypeAdapter, ValidationError

from api import users
from api.deps import ServicesDep, SessionDep, actor_of
from api.errors import ApiError
from api.schemas import NewUser, UserCreate, UserUpdate
from domain.access import ROLES, require_role
from domain.catalog import DEPARTMENT_NAMES
from domain.codes import InvalidCode
from models.tables import UserRow
from web import labels
from web.export import csv_response
from web.i18n import Language
from web.labels import N_
from web.pages import Caller, FormChecked, page, page_router, see_other
from web.refusals import CHECK_THIS, CONTACT_HELP, FIELD_MESSAGES
from web.render import caller_language

router = page_router()


async def may_manage(user: Caller) -> None:
    """The office only (the 403 page for anyone else)."""
    require_role(actor_of(user), "manage")


router.dependencies.append(Depends(may_manage))
UsernamePath = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_.-]{2,63}$")]
FIELDS = ("username", "display_name", "password", "role", "department", "stage", "organisation", "email", "mobile")
# What each role is bound to (api/schemas.py refuses any other binding): for the form's words only.
BINDING = {"owner": "organisation", "reviewer": "department", "section_chief": "stage"}
NEEDED = {
    "organisation": N_("An enterprise user needs its unified social credit code."),
    "department": N_("A reviewer needs a department."),
    "stage": N_("A section chief needs a stage."),
}
NOT_TAKEN = N_("Leave this empty: the role chosen is not bound to it.")
# What a field's refusal means, where the general words (web/refusals.py) would not say enough.
PASSWORD_HELP = N_("Use 8 to 128 characters.")
CREDIT_CODE_HELP = N_("This is not a unified social credit code: 18 characters, the last one a check character.")
FIELD_HELP = {
    "username": N_(
        "Use 3 to 64 characters: lower-case letters, digits, dots, dashes or underscores, starting with a letter."
    ),
    "password": PASSWORD_HELP,
    "organisation": CREDIT_CODE_HELP,
    **CONTACT_HELP,
}
CHOOSE_ONE = FIELD_MESSAGES["literal_error"]
CHANGES: dict[str, dict[str, Any]] = {
    "deactivate": {"active": False},
    "reactivate": {"active": True},
    "unlock": {"unlock": True},
    "password": {},
    "contacts": {},
}
DONE = {
    "created": N_("The user %(who)s was created."),
    "deactivate": N_("%(who)s was deactivated: their sessions have ended."),
    "reactivate": N_("%(who)s may sign in again."),
    "unlock": N_("The login lock of %(who)s was lifted."),
    "password": N_("The password of %(who)s was reset: their sessions have ended."),
    "contacts": N_("The e-mail address and mobile number of %(who)s were saved."),
}


def binding_words(user: users.UserOut, lang: Language) -> str:
    """What the user is bound to, in the caller's language."""
    if user.department:
        return lang.department(user.department)
    if user.stage:
        return lang.gettext(labels.STAGE.get(user.stage, user.stage))
    return user.organisation or ""


def create_errors(lang: Language, err: ValidationError, given: dict[str, str]) -> dict[str, str]:
    """The schema's refusals on the create form's fields, in the caller's language."""
    role = given.get("role", "")
    found: dict[str, str] = {}
    for error in err.errors():
        kind, loc = error["type"], [str(part) for part in error["loc"]]
        if kind == "binding_required":
            needed = BINDING.get(role, "role")
            found.setdefault(needed, lang.gettext(NEEDED.get(needed, CHECK_THIS)))
        elif kind == "binding_not_allowed":
            for extra in (
                b for b in ("department", "stage", "organisation") if given.get(b) and BINDING.get(role) != b
            ):
                found.setdefault(extra, lang.gettext(NOT_TAKEN))
        elif kind in ("union_tag_invalid", "union_tag_not_found") or not loc or loc[-1] not in FIELDS:
            found.setdefault("role", lang.gettext(CHOOSE_ONE))
        else:
            name = loc[-1]
            message = FIELD_HELP.get(name) if kind != "missing" else None
            found.setdefault(name, lang.gettext(message or FIELD_MESSAGES.get(kind, CHECK_THIS)))
    return found


def identity_errors(lang: Language, sent: dict[str, str]) -> dict[str, str]:
    """What is wrong with the username, name and password, which a refused binding leaves unchecked."""
    identity = {k: v for k, v in sent.items() if k in NewUser.model_fields}
    try:
        NewUser.model_validate(identity)
    except ValidationError as err:
        return create_errors(lang, err, sent)
    return {}


def form_options(lang: Language) -> dict[str, list[tuple[str, str]]]:
    """The choices of the create form's lists, in the caller's language."""
    none = lang.gettext("None")
    return {
        "role": [("", lang.gettext("Choose a role"))] + [(r, lang.gettext(labels.ROLE[r])) for r in ROLES],
        "department": [("", none)] + [(code, name.in_language(lang.tag)) for code, name in DEPARTMENT_NAMES.items()],
        "stage": [("", none)] + [(stage, lang.gettext(words)) for stage, words in labels.STAGE.items()],
    }


async def users_page(request: Request, db: SessionDep, status: int = 200, **context: Any) -> Response:
    lang = caller_language(request)
    listed = await users.every_user(db)
    context.setdefault("given", {})
    context.setdefault("errors", {})
    context.setdefault("given_contacts", {})
    return page(
        request,
        "office_users.html",
        status,
        title=N_("Users"),
        users=listed,
        bindings={u.username: binding_words(u, lang) for u in listed},
        now=datetime.now(UTC),
        options=form_options(lang),
        **context,
    )


@router.get("/office/users")
async def users_list(request: Request, db: SessionDep, done: str | None = None, who: str | None = None) -> Response:
    flash = None
    if done in DONE and who and await db.get(UserRow, who) is not None:
        flash = caller_language(request).gettext(DONE[done]) % {"who": who}
    return await users_page(request, db, flash=flash)


def after(done: str, who: str) -> Response:
    return see_other(f"/office/users?{urlencode({'done': done, 'who': who})}#user-{who}")


@router.post("/office/users", dependencies=[FormChecked])
async def create_user(request: Request, db: SessionDep) -> Response:
    """Create a user as `POST /users` does; the form again with what to correct otherwise."""
    lang = caller_language(request)
    form = await request.form()
    given = {name: value for name in FIELDS if isinstance(value := form.get(name), str)}
    sent = {
        k: v if k in ("password", "display_name") else v.strip()
        for k, v in given.items()
        if v.strip() or k == "display_name"
    }
    try:
        body = TypeAdapter(UserCreate).validate_python(sent)
        created = await users.create_user(db, body)
    except ValidationError as err:
        found = create_errors(lang, err, sent) | identity_errors(lang, sent)
        errors = {name: found[name] for name in FIELDS if name in found}
        return await users_page(request, db, 422, errors=errors, given=given)
    except InvalidCode:
        errors = {"organisation": lang.gettext(CREDIT_CODE_HELP)}
        return await users_page(request, db, 422, errors=errors, given=given)
    except ApiError as err:
        if err.code != "user_exists":
            raise
        errors = {"username": lang.gettext(N_("A user with this username exists already."))}
        return await users_page(request, db, err.status, errors=errors, given=given)
    return after("created", created.username)


@router.post("/office/users/{username}", dependencies=[FormChecked])
async def change_user(
    request: Request, username: UsernamePath, user: Caller, svc: ServicesDep, db: SessionDep
) -> Response:
    """Deactivate, reactivate, unlock, reset the password or change the e-mail address and mobile
    number, as `PATCH /users/{username}` does."""
    lang = caller_language(request)
    form = await request.form()
    change = form.get("change")
    if not isinstance(change, str) or change not in CHANGES:
        raise ApiError(422, "invalid_input", "change: choose one of the options")
    fields = CHANGES[change] or {
        name: value.strip() if name in CONTACT_HELP else value
        for name in (CONTACT_HELP if change == "contacts" else ("password",))
        if isinstance(value := form.get(name, ""), str)
    }
    try:
        await users.update_user(db, username, UserUpdate.model_validate(fields), user, svc.callers)
    except ValidationError as err:
        wrong = [str(e["loc"][-1]) for e in err.errors() if e["loc"]] or ["password"]
        errors = {f"{name}-{username}": lang.gettext(FIELD_HELP.get(name, CHECK_THIS)) for name in wrong}
        return await users_page(request, db, 422, errors=errors, open_user=username, given_contacts=fields)
    except ApiError as err:
        if err.code != "cannot_deactivate_self":
            raise
        errors = {f"change-{username}": lang.gettext(N_("You cannot deactivate your own account."))}
        return await users_page(request, db, err.status, errors=errors, open_user=username)
    return after(change, username)


@router.get("/office/users.csv")
async def users_csv(request: Request, svc: ServicesDep, db: SessionDep) -> Response:
    """Every user with role, binding and account state (never a password)."""
    lang = caller_language(request)
    _ = lang.gettext
    tz, now = svc.settings.timezone, datetime.now(UTC)
    rows = [
        (
            u.username,
            u.display_name,
            _(labels.ROLE.get(u.role, u.role)),
            binding_words(u, lang),
            u.email or "",
            u.mobile or "",
            _("Yes") if u.active else _("No"),
            lang.datetime(u.locked_until, tz) if u.locked_until and u.locked_until > now else "",
        )
        for u in await users.every_user(db)
    ]
    header = (
        _("Username"),
        _("Full name"),
        _("Role"),
        _("Bound to"),
        _("E-mail address"),
        _("Mobile number"),
        _("May sign in"),
        _("Locked until"),
    )
    return csv_response(_("users"), datetime.now(ZoneInfo(tz)).date(), header, rows)
