"""Every page of the service, as someone sees it: the one list that the browser tests scan (axe,
390 px) and `make screenshots` photographs. A new page is one more row of SCREENS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from playwright.async_api import Page

from bench.demo import DEPUTY, Demo


@dataclass(frozen=True)
class Screen:
    """One page, and who looks at it."""

    name: str  # the test's id and the screenshots' file name
    path: Callable[[Demo], str]  # its address on the demo projects
    user: str | None  # the demo user signed in; None: nobody
    ready: str = "main"  # shown once the page is complete (a CSS selector)


async def show(page: Page, screen: Screen, demo: Demo) -> None:
    """Open the screen's page in `page` and wait until it is complete."""
    await page.goto(screen.path(demo))
    await page.locator(screen.ready).first.wait_for()


def english(path: str) -> str:
    """The same page after the switch to English (the switch remembers it in a cookie, then goes there)."""
    return f"/lang/en?next={path}"


SCREENS: list[Screen] = [
    Screen("login", lambda d: "/login", None),
    Screen("project-owner", lambda d: f"/p/{d.in_review}", "owner-a"),
    Screen("project-owner-returned", lambda d: f"/p/{d.returned}", "owner-a"),
    Screen("project-owner-english", lambda d: english(f"/p/{d.returned}"), "owner-a"),
    Screen("project-reviewer", lambda d: f"/p/{d.in_review}", "reviewer-drc"),
    Screen("project-reviewer-rectification", lambda d: f"/p/{d.rectification}", "reviewer-drc"),
    Screen("project-deputy-problem", lambda d: f"/p/{d.problem}", DEPUTY),
    Screen("project-office-red", lambda d: f"/p/{d.red}", "office-1"),
    Screen("project-leader-red", lambda d: f"/p/{d.red}", "leader-1"),
    Screen("not-found", lambda d: f"/p/{d.in_review}", "owner-b"),
    Screen("projects-owner", lambda d: "/p", "owner-a"),
    Screen("projects-office-red", lambda d: "/p?colour=red", "office-1"),
    Screen("new-project-owner", lambda d: "/p/new", "owner-a"),
    Screen("new-project-deputy", lambda d: "/p/new", DEPUTY),
    Screen("project-card", lambda d: f"/p/{d.in_review}/card", "owner-a"),
    Screen("lookup", lambda d: "/p/lookup", "owner-a"),
    Screen("inbox-owner", lambda d: "/inbox", "owner-a"),
    Screen("inbox-deputy", lambda d: "/inbox", DEPUTY),
    Screen("inbox-reviewer", lambda d: "/inbox", "reviewer-drc"),
    Screen("step-reviewer", lambda d: f"/p/{d.in_review}/steps/project_approval", "reviewer-drc"),
    Screen("step-owner-resubmit", lambda d: f"/p/{d.returned}/steps/project_approval", "owner-a"),
    Screen("notifications-owner", lambda d: "/my/notifications", "owner-a"),
    Screen("settings-owner", lambda d: "/my/settings", "owner-a"),
    Screen("dashboard-leader", lambda d: "/dashboard", "leader-1"),
    Screen("queue-office", lambda d: "/queue", "office-1"),
    Screen("statistics-leader", lambda d: "/statistics", "leader-1"),
    Screen("calendar-office", lambda d: "/office/calendar?year=2027", "office-1"),
    Screen("users-office", lambda d: "/office/users", "office-1"),
    Screen("catalog-office", lambda d: "/office/catalog", "office-1"),
    Screen("api-docs", lambda d: "/docs", None, ready=".opblock-summary"),  # drawn by Swagger UI's script
]
