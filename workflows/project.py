"""The project workflow: a durable shell around the domain's Project aggregate.

Every human action is an update whose validator asks the domain whether it is allowed, so an
illegal action is refused before it touches history. Every change is published to the read
model by one local activity before the update returns: that gives read-your-writes in one
round trip. Time-driven changes (colours, overdue steps, the ladder) come from one timer set
to the project's next interesting moment.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.publish import Publisher, PublishInput, PublishResult
    from domain.errors import ActionRefused
    from domain.inputs import (
        ActionResult,
        AnswerRectification,
        Decide,
        JudgeRectification,
        OpenProblem,
        RaiseProblem,
        Rate,
        ResolveProblem,
        Submit,
        Verify,
        Withdraw,
    )
    from domain.project import Opened, Project, ProjectInput

COLOUR = SearchAttributeKey.for_keyword("ProjectColour")
STATUS = SearchAttributeKey.for_keyword("ProjectStatus")
STAGE = SearchAttributeKey.for_keyword("ProjectStage")
CATEGORY = SearchAttributeKey.for_keyword("ProjectCategory")
# Patch: no wake-up for a warning already shown; an overdue verification raises a problem.
TIMING_V2 = "timing-v2"
# Room for this many publishes within one workflow task before versions would overlap.
VERSIONS_PER_EVENT = 1000
PUBLISH_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10))

T = TypeVar("T")


def search_attributes(project: Project) -> TypedSearchAttributes:
    """The attributes the Temporal UI filters on (e.g. all red projects)."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(COLOUR, project.colour),
            SearchAttributePair(STATUS, project.status),
            SearchAttributePair(STAGE, project.current_stage.value),
            SearchAttributePair(CATEGORY, project.category),
        ]
    )


def refused(err: ActionRefused) -> ApplicationError:
    """The domain's refusal in the form the client sees: type, code and HTTP status kept."""
    return ApplicationError(err.detail, err.code, err.status, type="ActionRefused", non_retryable=True)


@workflow.defn(name="Project")
class ProjectWorkflow:
    """One investment project from creation until its rating window closes."""

    @workflow.init
    def __init__(self, inp: ProjectInput) -> None:
        if inp.resume is not None:
            self.project = inp.resume
        else:
            assert inp.create is not None
            self.project = Project.create(inp.create, workflow.now())
        self.changes = 1
        self.flushed = 0
        self.lock = asyncio.Lock()
        self.replan = False
        self.attributes: TypedSearchAttributes | None = None

    @workflow.run
    async def run(self, inp: ProjectInput) -> str:
        # Projects started before these rules keep the old timing on replay (see docs/time.md).
        timing_v2 = workflow.patched(TIMING_V2)
        await self._commit()
        while not self.project.finished:
            if workflow.info().get_current_history_length() > inp.history_limit:
                await workflow.wait_condition(lambda: workflow.all_handlers_finished() and not self.lock.locked())
                workflow.continue_as_new(ProjectInput(resume=self.project, history_limit=inp.history_limit))
            wake = self.project.next_wakeup(skip_seen=timing_v2)
            if wake is None or wake > workflow.now():
                self.replan = False
                timeout = (wake - workflow.now()) if wake else None
                try:
                    await workflow.wait_condition(lambda: self.replan, timeout=timeout)
                    continue
                except TimeoutError:
                    pass
            await self._change(lambda: self.project.tick(workflow.now(), verification_overdue=timing_v2))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.project.status

    # ---- publishing -----------------------------------------------------------------------

    async def _commit(self) -> ActionResult:
        """Make sure the read model holds every change made so far, then report the version."""
        async with self.lock:
            if self.flushed < self.changes:
                upto = self.changes
                await self._publish()
                self.flushed = upto
        return ActionResult(version=self.project.version)

    async def _change(self, action: Callable[[], T]) -> tuple[T, ActionResult]:
        """Apply one domain action and publish it, with no other change interleaved.

        The lock keeps a concurrent handler from mutating the state while its snapshot is being
        written, so event numbers and versions in the read model always match the workflow's.
        """
        async with self.lock:
            try:
                outcome = action()
            except ActionRefused as err:
                raise refused(err) from None
            self.changes += 1
            await self._publish()
            self.flushed = self.changes
        return outcome, ActionResult(version=self.project.version)

    async def _publish(self) -> None:
        now = workflow.now()
        # Versions grow with the history, so a workflow task retried after a timeout publishes
        # above whatever its lost first attempt may have written, and its state wins.
        floor = workflow.info().get_current_history_length() * VERSIONS_PER_EVENT
        self.project.version = max(self.project.version + 1, floor)
        result: PublishResult = await workflow.execute_local_activity_method(
            Publisher.publish_project,
            PublishInput(project=self.project, clocks=self.project.stale_clocks(), now=now),
            start_to_close_timeout=timedelta(seconds=15),
            retry_policy=PUBLISH_RETRY,
        )
        self.project.apply_timings(result.timings, now)
        self.project.pending_events = [e for e in self.project.pending_events if e.seq > result.last_event_seq]
        attributes = search_attributes(self.project)
        if attributes != self.attributes:
            workflow.upsert_search_attributes([pair.key.value_set(pair.value) for pair in attributes])
            self.attributes = attributes
        self.replan = True

    def _with_step(self, result: ActionResult, key: str) -> ActionResult:
        return result.model_copy(update={"step": self.project.step(key).model_dump(mode="json")})

    @staticmethod
    def _check(check: Callable[[T], Any], inp: T) -> None:
        try:
            check(inp)
        except ActionRefused as err:
            raise refused(err) from None

    # ---- updates: each validated by the domain before it is accepted ------------------------

    @workflow.update
    async def opened(self, inp: Opened) -> ActionResult:
        return await self._commit()

    @workflow.update
    async def submit(self, inp: Submit) -> ActionResult:
        _, result = await self._change(lambda: self.project.submit(inp, workflow.now()))
        return self._with_step(result, inp.step)

    @submit.validator
    def _check_submit(self, inp: Submit) -> None:
        self._check(self.project.check_submit, inp)

    @workflow.update
    async def decide(self, inp: Decide) -> ActionResult:
        _, result = await self._change(lambda: self.project.decide(inp, workflow.now()))
        return self._with_step(result, inp.step)

    @decide.validator
    def _check_decide(self, inp: Decide) -> None:
        self._check(self.project.check_decide, inp)

    @workflow.update
    async def verify(self, inp: Verify) -> ActionResult:
        _, result = await self._change(lambda: self.project.verify(inp, workflow.now()))
        return self._with_step(result, inp.step)

    @verify.validator
    def _check_verify(self, inp: Verify) -> None:
        self._check(self.project.check_verify, inp)

    @workflow.update
    async def rate(self, inp: Rate) -> ActionResult:
        created, result = await self._change(lambda: self.project.rate(inp, workflow.now()))
        return self._with_step(ActionResult(version=result.version, created_id=created), inp.step)

    @rate.validator
    def _check_rate(self, inp: Rate) -> None:
        self._check(self.project.check_rate, inp)

    @workflow.update
    async def withdraw(self, inp: Withdraw) -> ActionResult:
        _, result = await self._change(lambda: self.project.withdraw(inp, workflow.now()))
        return result

    @withdraw.validator
    def _check_withdraw(self, inp: Withdraw) -> None:
        self._check(self.project.check_withdraw, inp)

    @workflow.update
    async def open_problem(self, inp: OpenProblem) -> ActionResult:
        created, result = await self._change(lambda: self.project.open_problem(inp, workflow.now()))
        return ActionResult(version=result.version, created_id=created)

    @open_problem.validator
    def _check_open_problem(self, inp: OpenProblem) -> None:
        self._check(self.project.check_open_problem, inp)

    @workflow.update
    async def raise_problem(self, inp: RaiseProblem) -> ActionResult:
        _, result = await self._change(lambda: self.project.raise_problem(inp, workflow.now()))
        return result

    @raise_problem.validator
    def _check_raise_problem(self, inp: RaiseProblem) -> None:
        self._check(self.project.check_raise, inp)

    @workflow.update
    async def resolve_problem(self, inp: ResolveProblem) -> ActionResult:
        _, result = await self._change(lambda: self.project.resolve_problem(inp, workflow.now()))
        return result

    @resolve_problem.validator
    def _check_resolve_problem(self, inp: ResolveProblem) -> None:
        self._check(self.project.check_resolve, inp)

    @workflow.update
    async def answer_rectification(self, inp: AnswerRectification) -> ActionResult:
        _, result = await self._change(lambda: self.project.answer_rectification(inp, workflow.now()))
        return result

    @answer_rectification.validator
    def _check_answer_rectification(self, inp: AnswerRectification) -> None:
        self._check(self.project.check_answer, inp)

    @workflow.update
    async def judge_rectification(self, inp: JudgeRectification) -> ActionResult:
        created, result = await self._change(lambda: self.project.judge_rectification(inp, workflow.now()))
        return ActionResult(version=result.version, created_id=created)

    @judge_rectification.validator
    def _check_judge_rectification(self, inp: JudgeRectification) -> None:
        self._check(self.project.check_judge, inp)

    @workflow.query
    def state(self) -> Project:
        """The full state, for tests and operators comparing it with the read model."""
        return self.project
