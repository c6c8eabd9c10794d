"""Every message of the pages has its Chinese (web/locale/zh_CN/LC_MESSAGES/*.po)."""

from __future__ import annotations

from web.i18n import read_catalog
from web.messages import messages, untranslated


def test_every_message_of_the_pages_has_chinese() -> None:
    found = messages()
    assert len(found) > 100  # the extraction really reads the templates and the code
    missing = untranslated()
    assert not missing, (
        f"no Chinese for {len(missing)} messages (python -m web.messages prints them): {list(missing)[:10]}"
    )


def test_the_catalog_has_no_message_the_pages_no_longer_use() -> None:
    used = {key[0] if isinstance(key, tuple) else key for key in messages()}
    stale = [m.id for m in read_catalog() if m.id and (m.id[0] if isinstance(m.id, tuple) else m.id) not in used]
    assert not stale, f"remove these from the catalogs: {stale}"
