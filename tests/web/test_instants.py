"""Instants on the pages: in the office's time zone, to the minute, and a time limit's end of day
written as 24:00 of that day (docs/pages.md)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from web.i18n import language

TZ = "Asia/Shanghai"


@pytest.mark.parametrize(
    ("tag", "instant", "shown"),
    [
        ("zh-CN", datetime(2026, 12, 11, 16, 0, tzinfo=UTC), "2026年12月11日 24:00"),  # the end of the 11th
        ("en", datetime(2026, 12, 11, 16, 0, tzinfo=UTC), "11 Dec 2026, 24:00"),
        ("zh-CN", datetime(2026, 12, 11, 16, 1, tzinfo=UTC), "2026年12月12日 00:01"),
        ("zh-CN", datetime(2026, 12, 11, 8, 5, 59, tzinfo=UTC), "2026年12月11日 16:05"),
        ("en", datetime(2026, 12, 31, 16, 0, tzinfo=UTC), "31 Dec 2026, 24:00"),  # not 1 Jan 2027
        ("zh-CN", datetime(2027, 1, 1, 9, 30, tzinfo=UTC), "2027年1月1日 17:30"),
    ],
)
def test_an_instant_as_people_read_it(tag: str, instant: datetime, shown: str) -> None:
    assert language(tag).datetime(instant, TZ) == shown
