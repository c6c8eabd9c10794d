"""The catalog in force: the shipped categories, overridden or extended by the office's own."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from domain.catalog import Catalog, CategorySpec, default_catalog
from models.kept import Kept
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


def catalog_source() -> Kept[Catalog]:
    """The catalog in force as project creation and the pages read it, kept between loads
    (models/kept.py). The office's catalog editor reads the stored catalog afresh."""
    return Kept(effective_catalog)
