"""The clean-up of unattached uploads, started by a Temporal schedule every hour (worker.py)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.documents import DocumentCleanup, Removed

CLEANUP_EVERY = timedelta(hours=1)


@workflow.defn(name="DocumentCleanup")
class DocumentCleanupWorkflow:
    """Runs the clean-up activity once; the schedule starts it again an hour later."""

    @workflow.run
    async def run(self) -> Removed:
        return await workflow.execute_activity_method(
            DocumentCleanup.remove_unattached_documents,
            start_to_close_timeout=timedelta(minutes=30),
            heartbeat_timeout=timedelta(minutes=5),
            retry_policy=RetryPolicy(maximum_attempts=5),
        )
