"""The office's working-day calendar editor (/office/calendar): a year's holidays and make-up
working days as loaded (or the provisional fallback, marked so), and a form to replace them.

The office pastes dates as the State Council's notice gives them: one per line or separated by
spaces, commas or 、, and ranges such as `2027-02-05 至 2027-02-11`. Saving is exactly
`PUT /calendar/{year}` (api/office.py): the same checks, the same rollout to running projects."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from fastapi import Depends, Form, Path, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from api.commands import CommandsDep
from api.deps import ServicesDep, SessionDep, actor_of
from api.errors import ApiError
from api.office import calendar_year, replace_calendar_year
from api.schemas import CalendarOut, CalendarYear
from domain.access import require_role
from web.export import csv_response
from web.i18n import Language
from web.labels import N_
from web.pages import Caller, FormChecked, page, page_router, see_other
from web.refusals import CHECK_THIS, refusal_message
from web.render import caller_language

router = page_router()


async def may_manage(user: Caller) -> None:
    """The office only (the 403 page for anyone else)."""
    require_role(actor_of(user), "manage")


router.dependencies.append(Depends(may_manage))
Year = Annotated[int, Path(ge=2000, le=2100)]
DatesText = Annotated[str, Form(max_length=20000)]

_DAY = r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?"
# One date, or a range of them: 2027-02-05 至 2027-02-11, 2027-02-05~2027-02-11, 2027年2月5日到2月11日 is not.
DATES = re.compile(rf"(?P<first>{_DAY})(?:\s*(?:至|到|~|～|—|–)\s*(?P<last>{_DAY}))?")
PARTS = re.compile(r"\d+")
SEPARATORS = re.compile(r"[\s,，、;；]*")
ONE_DAY = timedelta(days=1)
RANGE_WORD = {"zh-CN": " 至 ", "en": " ~ "}


class UnreadableDates(ValueError):
    """What the office wrote is not a list of dates: a message to translate and its values."""

    def __init__(self, message: str, text: str) -> None:
        super().__init__(message)
        self.message = message
        self.text = text


def read_day(text: str) -> date:
    year, month, day = (int(n) for n in PARTS.findall(text))
    try:
        return date(year, month, day)
    except ValueError:
        raise UnreadableDates(N_("%(text)s is not a day of the calendar."), text.strip()) from None


def read_dates(text: str) -> list[date]:
    """Every date written, ranges spelled out, in order and each once."""
    found: set[date] = set()
    position = 0
    for match in DATES.finditer(text):
        between = text[position : match.start()]
        if not SEPARATORS.fullmatch(between):
            raise UnreadableDates(
                N_("“%(text)s” is not a date. Write dates like 2027-02-05."), between.strip(" ,，、;；")
            )
        first = read_day(match["first"])
        last = read_day(match["last"]) if match["last"] else first
        if last < first:
            raise UnreadableDates(N_("The range %(text)s ends before it starts."), match.group(0).strip())
        found |= {first + n * ONE_DAY for n in range((last - first).days + 1)}
        position = match.end()
    rest = text[position:]
    if not SEPARATORS.fullmatch(rest):
        raise UnreadableDates(N_("“%(text)s” is not a date. Write dates like 2027-02-05."), rest.strip(" ,，、;；"))
    return sorted(found)


def ranges_text(days: list[date], lang: Language) -> str:
    """Dates one per line, runs of consecutive days as one range (what `read_dates` reads back)."""
    runs: list[list[date]] = []
    for day in sorted(days):
        if runs and runs[-1][-1] + ONE_DAY == day:
            runs[-1].append(day)
        else:
            runs.append([day])
    word = RANGE_WORD.get(lang.tag, " ~ ")
    return "\n".join(run[0].isoformat() + (word + run[-1].isoformat() if len(run) > 1 else "") for run in runs)


# The refusals of the calendar's rules (domain/holidays.py, `arrangement_from_lists`), by the words
# they start with, as the office reads them, and the field each concerns.
REFUSALS = (
    ("dates outside year", N_("These dates are not in %(year)d: %(dates)s."), None),
    (
        "dates both holiday and make-up workday",
        N_("These dates are both a holiday and a make-up working day: %(dates)s."),
        "workdays",
    ),
    (
        "make-up workdays that are not Saturday or Sunday",
        N_("A make-up working day is a Saturday or a Sunday; these are not: %(dates)s."),
        "workdays",
    ),
)
MOST = {"holidays": N_("At most 120 holidays."), "workdays": N_("At most 60 make-up working days.")}


def refused_fields(lang: Language, year: int, detail: str, written: dict[str, list[date]]) -> dict[str, str]:
    """The rules' refusal, on the field whose dates it names."""
    problem, _, dates = detail.partition(": ")
    for start, message, field in REFUSALS:
        if problem.startswith(start):
            named = {date.fromisoformat(d) for d in dates.split(", ") if d}
            fields = [field] if field else [f for f, days in written.items() if named & set(days)]
            text = lang.gettext(message) % {"year": year, "dates": dates}
            return dict.fromkeys(fields or ["holidays"], text)
    return {"": detail}


def weekday_rows(days: list[date], lang: Language) -> list[tuple[date, str]]:
    return [(day, format_date(day, "EEEE", locale=lang.locale)) for day in days]


def calendar_context(shown: CalendarOut, lang: Language) -> dict[str, Any]:
    return {
        "title": N_("Working-day calendar"),
        "shown": shown,
        "holiday_rows": weekday_rows(shown.holidays, lang),
        "workday_rows": weekday_rows(shown.workdays, lang),
    }


@router.get("/office/calendar")
async def calendar_page(
    request: Request,
    svc: ServicesDep,
    db: SessionDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    done: str | None = None,
) -> Response:
    lang = caller_language(request)
    year = year or datetime.now(ZoneInfo(svc.settings.timezone)).year
    shown = await calendar_year(db, year)
    flash = None
    if done == "saved":
        flash = lang.gettext(
            N_(
                "The calendar of %(year)d was saved. Running projects are being told: their deadlines are counted again."
            )
        ) % {"year": year}
    written = {"holidays": ranges_text(shown.holidays, lang), "workdays": ranges_text(shown.workdays, lang)}
    return page(request, "office_calendar.html", flash=flash, written=written, **calendar_context(shown, lang))


@router.post("/office/calendar/{year}", dependencies=[FormChecked])
async def save_calendar(
    request: Request,
    year: Year,
    user: Caller,
    svc: ServicesDep,
    db: SessionDep,
    send: CommandsDep,
    holidays: DatesText = "",
    workdays: DatesText = "",
) -> Response:
    """Replace the year's arrangement, as `PUT /calendar/{year}` does; errors on the form, in the caller's language."""
    lang = caller_language(request)
    written = {"holidays": holidays, "workdays": workdays}
    errors: dict[str, str] = {}
    read: dict[str, list[date]] = {}
    for name, text in written.items():
        try:
            read[name] = read_dates(text)
        except UnreadableDates as err:
            errors[name] = lang.gettext(err.message) % {"text": err.text}
    status = 422
    if not errors:
        try:
            body = CalendarYear.model_validate({name: [d.isoformat() for d in days] for name, days in read.items()})
            await replace_calendar_year(db, svc.calendar, send, year, body, user.username)
            return see_other(f"/office/calendar?year={year}&done=saved")
        except ValidationError as err:
            errors = {str(e["loc"][0]): lang.gettext(MOST.get(str(e["loc"][0]), CHECK_THIS)) for e in err.errors()}
        except ApiError as err:
            status = err.status
            if err.code == "invalid_calendar":
                errors = refused_fields(lang, year, err.detail, read)
            else:
                errors = {"": refusal_message(request, err.code)}
    shown = await calendar_year(db, year)
    context = calendar_context(shown, lang)
    return page(request, "office_calendar.html", status, errors=errors, written=written, **context)


@router.get("/office/calendar/{year}.csv")
async def calendar_csv(request: Request, year: Year, svc: ServicesDep, db: SessionDep) -> Response:
    """The year's days off and make-up working days, one per line."""
    lang = caller_language(request)
    _ = lang.gettext
    shown = await calendar_year(db, year)
    kinds = ((_("Holiday"), shown.holidays), (_("Make-up working day"), shown.workdays))
    source = _("Provisional") if shown.provisional else shown.source
    rows = [
        (day.isoformat(), weekday, kind, source) for kind, days in kinds for day, weekday in weekday_rows(days, lang)
    ]
    today = datetime.now(ZoneInfo(svc.settings.timezone)).date()
    header = (_("Date"), _("Day of the week"), _("Kind"), _("Source"))
    return csv_response(_("calendar") + f"-{year}", today, header, rows)
