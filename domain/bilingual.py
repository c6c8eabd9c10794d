"""Names written in Chinese and English: the catalog keeps both, people read one."""

from __future__ import annotations

import re
from typing import NamedTuple

# The English part starts at the first Latin letter that follows the Chinese part.
_LATIN = re.compile(r"[A-Za-z]")
_HAN = re.compile(r"[\u3400-\u9fff]")


class Bilingual(NamedTuple):
    """A name in both languages."""

    zh: str
    en: str

    def in_language(self, tag: str) -> str:
        """The name for a page in `tag` (zh-CN or en)."""
        return self.zh if tag.startswith("zh") else self.en

    def __str__(self) -> str:
        return self.zh if self.zh == self.en else f"{self.zh} {self.en}"


def split_bilingual(text: str) -> Bilingual:
    """'用地预审 Land-use pre-review' -> ('用地预审', 'Land-use pre-review').

    Text in one language only is both its Chinese and its English name.
    """
    text = text.strip()
    latin = _LATIN.search(text)
    if latin is None or not _HAN.search(text[: latin.start()]):
        return Bilingual(text, text)
    return Bilingual(text[: latin.start()].strip(), text[latin.start() :].strip())
