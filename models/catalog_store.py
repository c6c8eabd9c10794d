"""The catalog in force: the shipped categories, overridden or extended by the office's own."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from domain.catalog import Catalog, CategorySpec, default_catalog
from models.calendar_store import CACHE_SECONDS
from models.tables import CatalogCategoryRow


async def effective_catalog(db: AsyncSession) -> Catalog:
    """Shipped categories with the office's versions in their place, and its new ones appended."""
    rows = (await db.exec(select(CatalogCategoryRow))).all()
    office = {row.key: CategorySpec.model_validate(row.spec) for row in rows}
    shipped = [office.pop(c.key, c) for c in default_catalog().categories]
    return Catalog(categories=(*shipped, *sorted(office.values(), key=lambda c: c.key)))


async def save_category(db: AsyncSession, category: CategorySpec, username: str) -> None:
    """Store the office's version of one category; running projects keep the version they started with."""
    row = await db.get(CatalogCategoryRow, category.key) or CatalogCategoryRow(
        key=category.key, updated_at=datetime.now(UTC), updated_by=username
    )
    row.spec = category.model_dump(mode="json")
    row.updated_at = datetime.now(UTC)
    row.updated_by = username
    db.add(row)
    await db.commit()


class CatalogSource:
    """The catalog in force as project creation reads it: loaded at most every CACHE_SECONDS.

    A change saved through this process is seen at once (`invalidate`); one saved through
    another API process reaches this one's creations within CACHE_SECONDS. Pages and the catalog
    editor read the stored catalog afresh.
    """

    def __init__(self) -> None:
        self._cached: Catalog | None = None
        self._loaded_at = 0.0

    async def catalog(self, db: AsyncSession) -> Catalog:
        if self._cached is None or time.monotonic() - self._loaded_at > CACHE_SECONDS:
            self._cached = await effective_catalog(db)
            self._loaded_at = time.monotonic()
        return self._cached

    def invalidate(self) -> None:
        self._cached = None
