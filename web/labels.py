"""The words the pages use for statuses, colours, roles, stages and timeline events.

They are data (`labels.json`), written in English; their Chinese is in the message catalogs
like every message of the pages (web/messages.py reads this file too).
"""

from __future__ import annotations

import json
from pathlib import Path

LABELS_FILE = Path(__file__).with_name("labels.json")
_LABELS: dict[str, dict[str, str]] = json.loads(LABELS_FILE.read_text(encoding="utf-8"))


def N_(message: str) -> str:
    """Mark a message for translation where it is defined; it is translated where it is shown."""
    return message


STEP_STATUS = _LABELS["step_status"]
PROJECT_STATUS = _LABELS["project_status"]
COLOUR = _LABELS["colour"]
ROLE = _LABELS["role"]
STAGE = _LABELS["stage"]
MODE = _LABELS["mode"]
PROBLEM_STATUS = _LABELS["problem_status"]
ORIGIN = _LABELS["origin"]
LEVEL = {int(level): label for level, label in _LABELS["level"].items()}
EVENT = _LABELS["event"]


def every_label() -> list[str]:
    """Every word of the file, for the message catalogs."""
    return [label for table in _LABELS.values() for label in table.values()]
