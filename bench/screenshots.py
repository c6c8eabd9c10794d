"""`make screenshots`: every page of bench/pages.py on a 390 px phone and a 1280 px desktop, as PNGs.

Starts a private stack (Temporal dev server, a fresh read model, a worker and the API), makes the
demo projects (bench/demo.py), signs in as each page's user in Chinese and saves
docs/screenshots/<page>-phone.png and <page>-desktop.png. Long pages are cut at a few screens.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from playwright.async_api import Browser

from bench.browser import DESKTOP, HEIGHT, PHONE, chromium, person
from bench.demo import Demo, make_demo
from bench.pages import SCREENS, Screen, show
from bench.stack import open_stack

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
WIDTHS = {"phone": PHONE, "desktop": DESKTOP}
SCREENS_TALL = 3  # a long page is cut after this many screens' height
WORKDAY_SECONDS = 0.0  # the real calendar: deadlines fall at the close of a working day, as an office sees them


async def photograph(browser: Browser, base_url: str, demo: Demo, screen: Screen, out: Path) -> list[Path]:
    """The screen at each width; the files written."""
    written = []
    for device, width in WIDTHS.items():
        async with person(browser, base_url, screen.user, width) as page:
            await show(page, screen, demo)
            tall = await page.evaluate("document.documentElement.scrollHeight")
            path = out / f"{screen.name}-{device}.png"
            clip = {"x": 0, "y": 0, "width": width, "height": min(tall, SCREENS_TALL * HEIGHT[width])}
            await page.screenshot(path=path, full_page=True, clip=clip)  # type: ignore[arg-type]
            written.append(path)
    return written


async def run(out: Path, only: list[str]) -> list[Path]:
    chosen = [s for s in SCREENS if not only or s.name in only]
    if not chosen:
        raise SystemExit(f"no page is named {only}; the pages: {[s.name for s in SCREENS]}")
    written: list[Path] = []
    async with open_stack(WORKDAY_SECONDS) as stack:
        demo = await make_demo(stack.api_url)
        async with chromium() as browser:
            for screen in chosen:
                written += await photograph(browser, stack.api_url, demo, screen, out)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder of the PNGs (default {OUT})")
    parser.add_argument("only", nargs="*", help="page names of bench/pages.py (default: every page)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for path in asyncio.run(run(args.out, args.only)):
        print(path)


if __name__ == "__main__":
    main()
