"""What templates need beyond Jinja2: names in the caller's language, lights with their words, dates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context

from domain.project import StepView
from web import labels
from web.i18n import Language


@pass_context
def local_name(context: Context, text: str) -> str:
    """A '中文 English' name in the caller's language."""
    return str(context["lang"].words(text))


@pass_context
def department(context: Context, code: str) -> str:
    """A department's name in the caller's language."""
    return str(context["lang"].department(code))


@pass_context
def local(context: Context, item: Any) -> str:
    """The name of a step or a category (anything with `name_zh` and `name_en`) in the caller's language."""
    return str(context["lang"].name(item))


@pass_context
def label(context: Context, key: Any, table: dict[Any, str]) -> str:
    """A status, colour, role or stage in the caller's language."""
    return str(context["lang"].label(key, table))


@pass_context
def day(context: Context, value: Any) -> str:
    return str(context["lang"].date(value)) if value else ""


@pass_context
def moment(context: Context, value: Any) -> str:
    return str(context["lang"].datetime(value, context["tz"])) if value else ""


def days_left(step: StepView) -> int:
    """Whole working days left of a step's limit (negative: overdue by that many)."""
    used = step.used_fraction * step.limit_working_days
    return round(step.limit_working_days - used)


@pass_context
def step_light(context: Context, step: StepView) -> str:
    """A step's light in words, never by colour alone: 红灯 · 超期 2 个工作日."""
    lang: Language = context["lang"]
    colour = lang.gettext(labels.COLOUR[step.colour])
    left = days_left(step)
    if step.colour == "red":
        if left >= 0:
            return colour + " · " + lang.gettext(PAST_DEADLINE)
        overdue = lang.ngettext("%(n)d working day overdue", "%(n)d working days overdue", -left)
        return f"{colour} · " + overdue % {"n": -left}
    return f"{colour} · " + lang.ngettext("%(n)d working day left", "%(n)d working days left", left) % {"n": left}


PAST_DEADLINE = labels.N_("past its deadline")


@dataclass(frozen=True)
class TimelineRow:
    """One event of the audit timeline, in words: when, what, on which step, by whom, and its notes."""

    at: str
    action: str
    step: str
    actor: str
    notes: list[str]


NOTE_FIELDS = ("note", "comment", "reason", "resolution")


@pass_context
def timeline_rows(context: Context, events: list[Any], with_steps: bool = True) -> list[TimelineRow]:
    """The timeline in the caller's language. Written here rather than as template macros: a long
    timeline (hundreds of events) is most of its page's rendering, and a macro call per event is slow."""
    lang: Language = context["lang"]
    people: dict[str, str] = context["people"]
    project = context["project"]
    tz = context["tz"]
    steps = {s.key: lang.name(s) for s in project.steps} if with_steps else {}
    names = {user: lang.words(name) for user, name in people.items()}
    rows = []
    for event in events:
        rows.append(
            TimelineRow(
                at=lang.datetime(event.at, tz),
                action=lang.label(event.action, labels.EVENT),
                step=steps.get(event.step, "") if event.step else "",
                actor=actor_words(lang, names.get(event.actor, event.actor), event),
                notes=[str(event.detail[f]) for f in NOTE_FIELDS if event.detail.get(f)],
            )
        )
    return rows


def actor_words(lang: Language, name: str, event: Any) -> str:
    """Who did it: the system, a person, or a deputy on the enterprise's behalf ("agent-1 代 项目单位")."""
    if event.role == "system":
        return lang.gettext("the system")
    if event.on_behalf_of:
        return lang.gettext("%(agent)s on behalf of the enterprise") % {"agent": name}
    return name


@pass_context
def event_actor(context: Context, event: Any) -> str:
    """One event's actor in words (the step page's summary of a submission)."""
    lang: Language = context["lang"]
    return actor_words(lang, lang.words(context["people"].get(event.actor, event.actor)), event)


def filesize(size: int) -> str:
    """A file's size as people read it: bytes, KiB or MiB, one decimal."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"


FILTERS = {
    "filesize": filesize,
    "local_name": local_name,
    "department": department,
    "local": local,
    "label": label,
    "day": day,
    "moment": moment,
    "step_light": step_light,
    "timeline_rows": timeline_rows,
    "event_actor": event_actor,
}
GLOBALS = {name: getattr(labels, name) for name in dir(labels) if name.isupper()}
GLOBALS["days_left"] = days_left
