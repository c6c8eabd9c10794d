"""Languages of the pages: Chinese first, English as a switch.

Messages are written in English in the templates and the code (`_("My projects")`); their
Chinese lives in Babel catalogs, one `.po` file per area of the pages under
`web/locale/zh_CN/LC_MESSAGES/`, merged when the app starts (no compile step).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from domain.bilingual import split_bilingual
from domain.catalog import DEPARTMENT_NAMES

LOCALE_DIR = Path(__file__).with_name("locale")
CHINESE, ENGLISH = "zh-CN", "en"
LANGUAGES = (CHINESE, ENGLISH)
DEFAULT = CHINESE
COOKIE = "lang"


@dataclass(frozen=True)
class Language:
    """One language of the pages: its tag, its messages and its formats."""

    tag: str
    translations: Translations

    @property
    def locale(self) -> Locale:
        return _locale(self.tag)

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.translations.ngettext(singular, plural, n)

    def label(self, key: Any, table: Mapping[Any, str]) -> str:
        """A status, colour, role, stage or event in this language (an unknown key as it is)."""
        return self.gettext(table[key]) if key in table else str(key)

    def words(self, text: str) -> str:
        """A '中文 English' text (a person's or an enterprise's name) in this language."""
        return split_bilingual(text).in_language(self.tag)

    def name(self, item: Any) -> str:
        """The name of anything with `name_zh` and `name_en` (a category, a step) in this language."""
        return str(item.name_zh if self.tag == CHINESE else item.name_en)

    def department(self, code: str) -> str:
        """A department's name in this language (an unknown code as it is)."""
        name = DEPARTMENT_NAMES.get(code)
        return name.in_language(self.tag) if name else code

    def date(self, value: date | datetime) -> str:
        """A date as people write it: 2026年10月29日 / 29 Oct 2026."""
        day = value.date() if isinstance(value, datetime) else value
        return format_date(day, format="long" if self.tag == CHINESE else "d MMM y", locale=self.locale)

    def datetime(self, value: datetime, tz: str) -> str:
        """An instant in the office's time zone, to the minute."""
        return _instant(self.tag, value.replace(second=0, microsecond=0), tz)


@cache
def _locale(tag: str) -> Locale:
    """Parsed once: Babel looks its locale data up on disk at every parse."""
    return Locale.parse(tag, sep="-")


@lru_cache(maxsize=4096)
def _instant(tag: str, minute: datetime, tz: str) -> str:
    """Formatted once per minute shown: a timeline shows many instants, and Babel is slow at it.

    Midnight is written as 24:00 of the day that ends there, the way a time limit is written
    (截至 12 月 11 日 24 时): a deadline at the end of the 11th is not "00:00 on the 12th"."""
    local = minute.astimezone(ZoneInfo(tz))
    if (local.hour, local.minute) == (0, 0):
        day = format_date(local.date() - timedelta(days=1), DAY_PATTERNS[tag], locale=_locale(tag))
        return f"{day} 24:00" if tag == CHINESE else f"{day}, 24:00"
    pattern = "y年M月d日 HH:mm" if tag == CHINESE else "d MMM y, HH:mm"
    return format_datetime(local, pattern, locale=_locale(tag))


DAY_PATTERNS = {CHINESE: "y年M月d日", ENGLISH: "d MMM y"}


def catalog_files() -> list[Path]:
    """Every Chinese message file, one per area of the pages."""
    return sorted((LOCALE_DIR / "zh_CN" / "LC_MESSAGES").glob("*.po"))


def read_catalog() -> Catalog:
    """All Chinese messages in one catalog (a message translated twice must agree)."""
    merged = Catalog(locale="zh_CN")
    for path in catalog_files():
        with path.open("rb") as handle:
            part = read_po(handle, locale="zh_CN")
        for message in part:
            if not message.id:
                continue
            known = merged.get(message.id)
            if known is not None and known.string != message.string:
                raise ValueError(f"{path.name}: {message.id!r} is translated differently elsewhere")
            merged.add(message.id, message.string, context=message.context)
    return merged


@cache
def language(tag: str) -> Language:
    """The language with this tag (English needs no catalog: its messages are the source)."""
    if tag == ENGLISH:
        return Language(ENGLISH, Translations())
    buffer = io.BytesIO()
    write_mo(buffer, read_catalog())
    buffer.seek(0)
    return Language(CHINESE, Translations(buffer))


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """The caller's language: the cookie of the language switch, else the browser's first known one."""
    if cookie in LANGUAGES:
        return cookie
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return CHINESE
        if tag.startswith("en"):
            return ENGLISH
    return DEFAULT


Gettext = Callable[[str], str]
