"""Reading what the pages show, as a person would: table rows as text, CSV downloads, error
summaries, the forms of a card."""

from __future__ import annotations

import csv
import html
import io
import re

import httpx

TAG = re.compile(r"<[^>]+>")
ROW = re.compile(r"<tr[^>]*>(.*?)</tr>", re.S)
CELL = re.compile(r"<t[hd][^>]*>(.*?)</t[hd]>", re.S)
SECTION = re.compile(r'<section class="stat" aria-labelledby="(?P<name>[a-z_]+)-heading">(?P<body>.*?)</section>', re.S)
BANNER = re.compile(r'<div class="banner" role="status">(.*?)</div>', re.S)


def text(fragment: str) -> str:
    """The words of an HTML fragment, without tags, on one line."""
    return " ".join(html.unescape(TAG.sub(" ", fragment)).split())


def table_rows(fragment: str) -> list[list[str]]:
    """Every row of the tables in `fragment`, header rows included, as the text of each cell."""
    return [[text(cell) for cell in CELL.findall(row)] for row in ROW.findall(fragment)]


def csv_rows(response: httpx.Response) -> list[list[str]]:
    """A CSV download's rows (after its byte-order mark), the header first."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(response.text[1:])))


def banner(page: httpx.Response) -> str:
    found = BANNER.search(page.text)
    return text(found.group(1)) if found else ""


def card(html_text: str, item_id: str) -> str:
    """The card of one item (its element has the item's id), from its start to the next card."""
    start = html_text.index(f'id="{item_id}"')
    end = html_text.find('<li class="card', start + 1)
    return html_text[start : end if end != -1 else None]


def hidden(fragment: str, name: str) -> str:
    """The value of the first hidden field `name` in `fragment`."""
    found = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)">', fragment)
    assert found, f"no hidden field {name}"
    return html.unescape(found.group(1))
