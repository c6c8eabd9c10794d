"""What this worker last wrote of each project, so a publish rewrites only the rows that changed.

A publish used to upsert every step, problem and rectification of the project, although one
action changes one or two of them. The worker remembers, per project, the version it last
committed and a fingerprint of each row. The next publish of that project first moves the
project row on *from exactly that version* (activities/publish.py): if the read model still
holds it, nobody else has written the project since, so the rows there are the remembered ones
and only the rows whose fingerprint changed are written. Otherwise (another worker, a lost
attempt elsewhere, a rebuild) the publish writes everything, as without a memory.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from models.totals import Totals

# Projects remembered per worker; beyond that the least recently published are forgotten (their
# next publish writes every row). About 1 KB each.
MAX_PROJECTS = 4096

Rows = dict[str, dict[str, dict[str, Any]]]  # table -> row id -> row


def fingerprint(row: dict[str, Any]) -> int:
    """A row's values as one number; equal rows give equal numbers."""
    values = tuple(row.values())
    try:
        return hash(values)
    except TypeError:  # a list or a dict among the values
        return hash(repr(values))


@dataclass(frozen=True)
class Written:
    """A committed publish: its version and workflow time (`now`, the row's `updated_at`), its last
    event, each row's fingerprint by table and id, and what the rows add to the running totals
    (models/totals.py)."""

    version: int
    now: datetime
    event_seq: int
    rows: dict[str, dict[str, int]]
    totals: Totals = field(default_factory=dict)

    @classmethod
    def of(cls, version: int, now: datetime, event_seq: int, rows: Rows, totals: Totals) -> Written:
        prints = {table: {key: fingerprint(row) for key, row in by_id.items()} for table, by_id in rows.items()}
        return cls(version, now, event_seq, prints, totals)

    def newer(self, version: int, now: datetime) -> bool:
        """Whether a write at `version` and `now` supersedes this one (the read model's rule)."""
        return self.version < version or (self.version == version and self.now < now)

    def changed(self, table: str, key: str, row: dict[str, Any]) -> bool:
        """Whether the row differs from what was written (or was not written at all)."""
        return self.rows.get(table, {}).get(key) != fingerprint(row)

    def gone(self, table: str, keys: set[str]) -> bool:
        """Whether a row was written that the project no longer has."""
        return not self.rows.get(table, {}).keys() <= keys


# What the read model holds of a project it has never seen: nothing to replace or remove.
NOTHING = Written(version=0, now=datetime.min.replace(tzinfo=UTC), event_seq=0, rows={})


class WrittenRows:
    """The last committed publish of each project, least recently used forgotten first."""

    def __init__(self, size: int = MAX_PROJECTS) -> None:
        self.size = size
        self._projects: OrderedDict[str, Written] = OrderedDict()

    def get(self, code: str) -> Written | None:
        return self._projects.get(code)

    def put(self, code: str, written: Written) -> None:
        self._projects[code] = written
        self._projects.move_to_end(code)
        while len(self._projects) > self.size:
            self._projects.popitem(last=False)

    def forget(self, code: str) -> None:
        self._projects.pop(code, None)
