"""Seeds the working-day calendar (always) and, in demo mode, the demo directory (docs/api.md, "Demo users")."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from domain.catalog import DEPARTMENT_NAMES
from domain.codes import make_credit_code
from domain.holidays import seed_years
from models.db import make_engine, session_factory
from models.passwords import hash_password
from models.tables import CalendarYearRow, UserRow
from settings import Settings, get_settings

# Two demo organisations with valid unified social credit codes (GB 32100-2015).
ORG_A = make_credit_code("91310115MA1K4ABC0")
ORG_B = make_credit_code("91310115MA1K4XYW0")

DEMO_USERS: list[dict[str, str]] = [
    {
        "username": "owner-a",
        "role": "owner",
        "organisation": ORG_A,
        "display_name": "上海甲建设有限公司 Shanghai Jia Construction Co., Ltd.",
    },
    {
        "username": "owner-b",
        "role": "owner",
        "organisation": ORG_B,
        "display_name": "上海乙置业有限公司 Shanghai Yi Property Co., Ltd.",
    },
    {"username": "agent-1", "role": "agent", "display_name": "代办员一 Deputy 1"},
    {"username": "agent-2", "role": "agent", "display_name": "代办员二 Deputy 2"},
    *[
        {
            "username": f"reviewer-{d}",
            "role": "reviewer",
            "department": d,
            "display_name": f"{DEPARTMENT_NAMES[d].zh}审批员 {DEPARTMENT_NAMES[d].en} reviewer",
        }
        for d in ("drc", "nrp", "housing", "fire", "cad", "archives", "survey")
    ],
    *[
        {"username": f"chief-{s}", "role": "section_chief", "stage": s, "display_name": f"审批段长 Chief ({s})"}
        for s in ("initiation", "engineering", "construction", "acceptance")
    ],
    {"username": "office-1", "role": "office", "display_name": "政务办 Office"},
    {"username": "leader-1", "role": "leader", "display_name": "区级领导 Leader"},
]


async def seed_calendar(db: AsyncSession) -> int:
    """Load every year the chinese-calendar package knows that the office has not loaded yet."""
    added = 0
    for arrangement in seed_years():
        if await db.get(CalendarYearRow, arrangement.year) is None:
            db.add(
                CalendarYearRow(
                    year=arrangement.year,
                    holidays=sorted(d.isoformat() for d in arrangement.holidays),
                    workdays=sorted(d.isoformat() for d in arrangement.workdays),
                    source=arrangement.source,
                    updated_at=datetime.now(UTC),
                    updated_by="seed",
                )
            )
            added += 1
    await db.commit()
    return added


def demo_addresses(index: int, username: str) -> dict[str, str]:
    """A demo user's e-mail address (a reserved domain: nothing is ever delivered there) and mobile number."""
    return {"email": f"{username}@demo.invalid", "mobile": f"1390000{index:04d}"}


async def seed_demo_users(db: AsyncSession, password: str) -> int:
    """Create the demo users that do not exist yet (one hash, shared: they share a password)."""
    hashed = hash_password(password)
    added = 0
    for index, spec in enumerate(DEMO_USERS, 1):
        if await db.get(UserRow, spec["username"]) is None:
            addresses = demo_addresses(index, spec["username"])
            db.add(UserRow(password_hash=hashed, **spec, **addresses))  # type: ignore[arg-type]
            added += 1
    await db.commit()
    return added


async def seed(settings: Settings) -> None:
    """Calendar always; demo users only when demo seeding is on."""
    engine = make_engine(settings.database_url)
    async with session_factory(engine)() as db:
        years = await seed_calendar(db)
        users = await seed_demo_users(db, settings.demo_password) if settings.seed_demo else 0
    await engine.dispose()
    print(f"seeded {years} calendar years and {users} demo users")


if __name__ == "__main__":
    asyncio.run(seed(get_settings()))
