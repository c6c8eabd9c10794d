"""The caller's own settings (/my/settings): where notices reach them (e-mail address, mobile
number), whether they also go by mail and through the office's SMS or WeChat gateway, and the
language of those messages. Saved by the same command as `PATCH /me/notifications`
(api/users.py), validated by its body schema (`NoticeSettings`)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError

from api.deps import SessionDep
from api.schemas import Me, NoticeSettings
from api.users import change_notice_settings
from web.labels import N_
from web.pages import Caller, FormChecked, page, page_router, see_other
from web.refusals import field_errors

router = page_router()
SWITCHES = ("email_enabled", "webhook_enabled")
TEXTS = ("email", "mobile", "language")
SAVED = N_("Your settings were saved.")


def settings_page(request: Request, me: Me, status: int = 200, **context: Any) -> Response:
    return page(request, "my_settings.html", status, title=N_("My settings"), me=me, **context)


@router.get("/my/settings")
async def my_settings(request: Request, user: Caller, saved: bool = False) -> Response:
    me = Me.model_validate(user, from_attributes=True)
    return settings_page(request, me, given={}, flash=SAVED if saved else None)


@router.post("/my/settings", dependencies=[FormChecked])
async def save_settings(request: Request, user: Caller, db: SessionDep) -> Response:
    """A box left unticked turns its channel off; an empty address or number removes it."""
    form = await request.form()
    given = {name: value.strip() for name in TEXTS if isinstance(value := form.get(name), str)}
    switches = {name: form.get(name) == "on" for name in SWITCHES}
    try:
        body = NoticeSettings.model_validate({**given, **switches})
    except ValidationError as err:
        me = Me.model_validate(user, from_attributes=True)
        return settings_page(request, me, 422, errors=field_errors(request, err), given={**given, **switches})
    await change_notice_settings(db, user, body)
    return see_other("/my/settings?saved=true")
