"""Whether the parts the API depends on answer: the read model and Temporal."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import Services


async def dependency_checks(
    svc: Services, db: AsyncSession, temporal_timeout: timedelta | None = None
) -> dict[str, bool]:
    """`database` and `temporal`, each true when it answered just now (Temporal within the timeout, if one)."""
    checks: dict[str, bool] = {}
    try:
        await db.exec(text("SELECT 1"))  # type: ignore[call-overload]
        checks["database"] = True
    except Exception:
        checks["database"] = False
    try:
        checks["temporal"] = await svc.temporal.service_client.check_health(timeout=temporal_timeout)
    except Exception:
        checks["temporal"] = False
    return checks
