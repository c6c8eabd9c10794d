"""Every page of bench/pages.py's SCREENS, in Chinese, on a 390 px phone in a real browser: axe-core
finds nothing serious or critical (and every field has a label of its own), and nothing scrolls
sideways. Folded forms are unfolded first, so that what they hold is checked too. (Colours and
labels do not change with the width; the layout that may overflow is the phone's.)"""

from __future__ import annotations

import pytest
from axe_playwright_python.async_playwright import Axe

from bench.browser import PHONE
from bench.demo import Demo
from bench.pages import SCREENS, Screen, show
from tests.browser.support import Site, open_every_fold

pytestmark = pytest.mark.asyncio(loop_scope="session")
BLOCKING = {"serious", "critical"}
AXE = Axe()
# What axe-core 4.12 lets pass: two forms of a page whose fields share an id, so that the label of
# the second names the first field and the second has none.
SHARED_IDS = """(() => { const seen = {}; document.querySelectorAll('[id]').forEach(e => { seen[e.id] = (seen[e.id] || 0) + 1; });
    return Object.keys(seen).filter(id => seen[id] > 1); })()"""
UNLABELLED = """[...document.querySelectorAll('input:not([type=hidden]), textarea, select')]
    .filter(field => field.labels.length === 0 && !field.getAttribute('aria-label')).map(field => field.name)"""


def describe(violation: dict[str, object]) -> str:
    nodes = violation.get("nodes") or []
    targets = [node["target"] for node in nodes[:5]] if isinstance(nodes, list) else []
    return f"{violation['id']} ({violation['impact']}): {violation['help']} at {targets}"


@pytest.mark.parametrize("screen", SCREENS, ids=[s.name for s in SCREENS])
async def test_axe_finds_nothing_serious(site: Site, demo: Demo, screen: Screen) -> None:
    async with site.person(screen.user, PHONE) as page:
        await show(page, screen, demo)
        await open_every_fold(page)
        results = await AXE.run(page)
        shared, unlabelled = await page.evaluate(SHARED_IDS), await page.evaluate(UNLABELLED)
    found = [describe(v) for v in results.response["violations"] if v["impact"] in BLOCKING]
    assert not found, f"{screen.name}:\n" + "\n".join(found)
    assert not shared, f"{screen.name}: ids used twice {shared}"
    assert not unlabelled, f"{screen.name}: fields without a label {unlabelled}"


@pytest.mark.parametrize("screen", SCREENS, ids=[s.name for s in SCREENS])
async def test_nothing_scrolls_sideways_on_a_phone(site: Site, demo: Demo, screen: Screen) -> None:
    async with site.person(screen.user, PHONE) as page:
        await show(page, screen, demo)
        await open_every_fold(page)
        width = await page.evaluate("document.documentElement.scrollWidth")
        wide = await page.evaluate(
            f"""[...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > {PHONE} + 0.5)
                .slice(0, 5).map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className)"""
        )
    assert width <= PHONE, f"{screen.name} is {width} px wide at {PHONE} px; too wide: {wide}"
