"""Every message of the pages, as Babel finds it in the templates and the code.

`python -m web.messages` lists the messages that have no Chinese yet, as `.po` entries to paste
into a catalog file under web/locale/zh_CN/LC_MESSAGES/ (tests/web/test_messages.py fails while
any is missing).
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.extract import extract_from_dir

from web.i18n import read_catalog
from web.labels import every_label

WEB = Path(__file__).parent
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}
METHODS = [("templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}


def messages() -> dict[str | tuple[str, str], str]:
    """Each message of the pages (a plural one as its two English forms), with where it was first found."""
    found: dict[str | tuple[str, str], str] = {}
    for filename, line, message, _comments, _context in extract_from_dir(
        WEB, METHODS, options_map=OPTIONS, keywords=KEYWORDS
    ):
        key = (message[0], message[1]) if isinstance(message, tuple) else message
        if key:
            found.setdefault(key, f"web/{filename}:{line}")
    for label in every_label():
        found.setdefault(label, "web/labels.json")
    return found


def untranslated() -> dict[str | tuple[str, str], str]:
    """Messages with no Chinese in the catalogs."""
    catalog = read_catalog()

    def translated(key: str | tuple[str, str]) -> bool:
        entry = catalog.get(key[0] if isinstance(key, tuple) else key)
        strings = entry.string if entry is not None else ""
        return all(strings) if isinstance(strings, tuple) else bool(strings)

    return {key: where for key, where in messages().items() if not translated(key)}


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main() -> int:
    missing = untranslated()
    for key, where in missing.items():
        if isinstance(key, tuple):
            print(f'#: {where}\nmsgid {_quoted(key[0])}\nmsgid_plural {_quoted(key[1])}\nmsgstr[0] ""\n')
        else:
            print(f'#: {where}\nmsgid {_quoted(key)}\nmsgstr ""\n')
    print(f"{len(missing)} messages without Chinese", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
