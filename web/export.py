"""CSV downloads of the pages' lists and tables, readable by the spreadsheets offices use."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date
from urllib.parse import quote

from fastapi.responses import Response

# Excel on Chinese Windows reads UTF-8 only after a byte-order mark.
BOM = "\ufeff"


def csv_response(name: str, today: date, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Response:
    """A CSV attachment named `{name}-{today}.csv` (a Chinese name survives: RFC 6266 filename*)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(["" if value is None else value for value in row] for row in rows)
    filename = f"{name}-{today.isoformat()}.csv"
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return Response(
        BOM + buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": disposition, "X-Content-Type-Options": "nosniff"},
    )
