"""The clean-up of uploads no submission used: after `unattached_document_hours` (24) they are
removed, and with them their stored bytes unless another document names the same bytes.

Run by the `DocumentCleanup` workflow on a Temporal schedule (workflows/documents.py, worker.py).
A batch is one transaction. Within it, the object row of each sha256 is locked before the
question "does any document still name these bytes?" is asked, and the object is deleted before
the lock is released: an upload of the same bytes waits on that lock (api/documents.py), then
stores the bytes again if they are gone. So an object is never deleted under a document that
names it. A submission marks its documents attached in one statement; a row being attached is
not deleted, and a deleted one is unknown to the submission.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import structlog
from pydantic import BaseModel
from sqlalchemy import delete, func
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from models.storage import Storage
from models.tables import DocumentRow, StoredObjectRow

log = structlog.get_logger("approvals.documents")
BATCH = 200


class Removed(BaseModel):
    """What a clean-up removed: documents, and stored objects no document names any more."""

    documents: int = 0
    objects: int = 0


class DocumentCleanup:
    """Holds the read model's sessions, the storage and the age past which an upload goes."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], storage: Storage, max_age: timedelta) -> None:
        self._sessions = sessions
        self._storage = storage
        self._max_age = max_age

    @activity.defn(name="remove_unattached_documents")
    async def remove_unattached_documents(self) -> Removed:
        """Remove every upload older than the age that no submission named, a batch at a time."""
        cutoff = datetime.now(UTC) - self._max_age
        total = Removed()
        while True:
            batch = await self._remove_batch(cutoff)
            total = Removed(documents=total.documents + batch.documents, objects=total.objects + batch.objects)
            if batch.documents == 0:
                break
            activity.heartbeat(total.documents)
        log.info("unattached_documents_removed", documents=total.documents, objects=total.objects)
        return total

    async def _remove_batch(self, cutoff: datetime) -> Removed:
        expired = col(DocumentRow.attached_at).is_(None) & (col(DocumentRow.uploaded_at) < cutoff)
        async with self._sessions() as db:
            ids = (await db.exec(select(DocumentRow.id).where(expired).limit(BATCH))).all()
            if not ids:
                return Removed()
            # The condition again: a document attached since the select is not removed.
            gone = delete(DocumentRow).where(col(DocumentRow.id).in_(ids), expired).returning(col(DocumentRow.sha256))
            removed = list((await db.execute(gone)).scalars().all())
            objects = 0
            for sha256 in sorted(set(removed)):
                lock = select(StoredObjectRow).where(col(StoredObjectRow.sha256) == sha256).with_for_update()
                stored = (await db.exec(lock)).first()
                named = select(func.count()).select_from(DocumentRow).where(col(DocumentRow.sha256) == sha256)
                if (await db.exec(named)).one() == 0:
                    await self._storage.delete(sha256)
                    if stored is not None:
                        await db.delete(stored)
                    objects += 1
            await db.commit()
        return Removed(documents=len(removed), objects=objects)
