"""The project workflow: a durable shell around the domain's Project.

Every human action is an update whose validator asks the domain whether it is allowed, so an
illegal action is refused before it touches history. Every change is published before the
update returns, by one local activity: it times the clocks that changed, applies the timings to
its copy of the project, writes that copy to the read model and answers the timings, which the
workflow applies to its own state. That gives read-your-writes in one round trip. Time-driven changes (colours, overdue steps, the
ladder) come from one timer set to the project's next interesting moment. A project that goes to
sleep with a longer history than a wake-up should replay continues as new, its state and its
recent answers carried over.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NoReturn, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy, TypedSearchAttributes
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.publish import LegacyPublishInput, Publish, Publisher, StoreProject, TimeClocks
    from domain.access import require_visible
    from domain.clock import Counting
    from domain.errors import ActionRefused
    from domain.project import (
        GENERATION,
        Action,
        ActionResult,
        AnsweredUpdate,
        AnswerRectification,
        CalendarChanged,
        Decide,
        JudgeRectification,
        Opened,
        OpenProblem,
        Project,
        ProjectInput,
        RaiseProblem,
        Rate,
        ResolveProblem,
        Submit,
        Verify,
        Withdraw,
        step_view,
    )
    from workflows.search import COLOUR, search_attributes

# Patches (docs/architecture.md, "Determinism"); projects started before each keep the old way.
# No wake-up for a warning already shown; an overdue verification raises a problem.
TIMING_V2 = "timing-v2"
# Deadlines counted the statutory way: whole working days from the day after the start.
STATUTORY_COUNTING = "statutory-counting"
# Timings computed first, then the project published: no state travels back from the write.
ONE_WAY_PUBLISH = "one-way-publish"
# One activity times the stale clocks, applies the timings to its copy and writes it, answering
# the timings. It also stands for the three patches above, so a new project records one patch.
ONE_PUBLISH = "one-publish"
# A project at rest with a history longer than its input's `rest_limit` (or its `cold_rest_limit`,
# once its worker has lost it from its cache) continues as new, so that a wake-up of a project not
# in the worker's cache replays a short run, not its whole past (docs/architecture.md). From
# generation 2 the cold limit counts only at a rest after a person's action (see `_rest_due`).
REST_BETWEEN_RUNS = "rest-between-runs"
# Answered updates carried to the next run: long enough for any client's retry.
ANSWERS_KEPT_FOR = timedelta(days=1)
ANSWERS_KEPT = 100
# Room for this many publishes within one workflow task before versions would overlap.
VERSIONS_PER_EVENT = 1000
LOCAL_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10))
LOCAL_TIMEOUT = timedelta(seconds=15)
T = TypeVar("T")


def refused(err: ActionRefused) -> ApplicationError:
    """The domain's refusal in the form the client sees: type, code and HTTP status kept."""
    return ApplicationError(err.detail, err.code, err.status, type="ActionRefused", non_retryable=True)


@workflow.defn(name="Project")
class ProjectWorkflow:
    """One investment project from creation until its rating window closes."""

    @workflow.init
    def __init__(self, inp: ProjectInput) -> None:
        # Decided here: the `opened` update publishes before `run` starts. A run continued as new,
        # or started from a later generation's input, has every patch and records none.
        self.one_publish = inp.every_patch or workflow.patched(ONE_PUBLISH)
        if inp.resume is not None:
            self.project = inp.resume
        else:
            assert inp.create is not None
            statutory = self.one_publish or workflow.patched(STATUTORY_COUNTING)
            counting: Counting = "statutory" if statutory else "continuous"
            self.project = Project.create(inp.create, workflow.now(), counting)
        self.changes = 1
        self.flushed = 1 if inp.published else 0
        self.lock = asyncio.Lock()
        self.replan = False
        self.colour_searched = inp.colour_searched
        # The run carries over its search attributes; a published state's are the ones it has
        # (but for a colour an earlier run searched, cleared as this one starts).
        self.attributes: TypedSearchAttributes | None = self._attributes() if inp.published else None
        carried = workflow.info().typed_search_attributes
        self.colour_carried = not self.colour_searched and carried.get(COLOUR) is not None
        self.one_way = self.one_publish or workflow.patched(ONE_WAY_PUBLISH)
        # Versions of a continued run grow from the carried one (see `_next_version`).
        self.version_base = self.project.version if inp.published else 0
        self.answered = {answer.update_id: answer for answer in inp.answered}
        # Built by replaying history: the worker had lost this run from its cache. The workflow
        # acts on it only as the publish activity recorded it (`cold`), so replays decide the same.
        self.rebuilt = workflow.unsafe.is_replaying()
        self.cold = False
        self.acted_since_rest = False

    @workflow.run
    async def run(self, inp: ProjectInput) -> str:
        timing_v2 = self.one_publish or workflow.patched(TIMING_V2)
        if self.colour_carried:
            workflow.upsert_search_attributes([COLOUR.value_unset()])
        await self._commit()
        while not self.project.finished:
            if workflow.info().get_current_history_length() > inp.history_limit:
                await self._continue_as_new(inp)
            wake = self.project.next_wakeup(skip_seen=timing_v2)
            if wake is None or wake > workflow.now():
                if self._rest_due(inp):
                    await self._continue_as_new(inp)
                self.replan = False
                self.acted_since_rest = False
                timeout = (wake - workflow.now()) if wake else None
                try:
                    await workflow.wait_condition(lambda: self.replan, timeout=timeout)
                    continue
                except TimeoutError:
                    pass
            await self._change(lambda: self.project.tick(workflow.now(), verification_overdue=timing_v2))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.project.status

    # ---- continuing as new ------------------------------------------------------------------

    def _rest_due(self, inp: ProjectInput) -> bool:
        """Going to sleep with a history worth starting afresh (a run of this code: no marker).

        From generation 2 a rest after the clock alone acted (a colour, an overdue step, the
        ladder) keeps to the warm limit even when the worker had lost the project: the clock wakes
        every project due at the same instant, and a new run each would add a workflow task and a
        whole state written to the server for every project of that wave (docs/benchmarks.md,
        section 4). The new run waits for the next rest after a person acts, at people's pace.
        """
        length = workflow.info().get_current_history_length()
        cold = self.cold and (self.acted_since_rest or not inp.quiet_clock_rests)
        if inp.cold_rest_limit is not None and cold and length > inp.cold_rest_limit:
            return True  # only inputs of this code name a cold limit
        if length <= inp.rest_limit:
            return False
        return inp.every_patch or workflow.patched(REST_BETWEEN_RUNS)

    async def _continue_as_new(self, inp: ProjectInput) -> NoReturn:
        """Once no handler is running and every change is published, go on in a new run."""
        await workflow.wait_condition(lambda: workflow.all_handlers_finished() and not self.lock.locked())
        since = workflow.now() - ANSWERS_KEPT_FOR
        recent = sorted((a for a in self.answered.values() if a.at > since), key=lambda a: a.at)[-ANSWERS_KEPT:]
        # The input as it came, limits included, with the state in place of the creation request.
        # Written by this code, so of its generation: a run that still searched the colour stops here.
        carried = inp.model_copy(
            update={
                "create": None,
                "resume": self.project,
                "published": True,
                "answered": recent,
                "generation": GENERATION,
            }
        )
        workflow.continue_as_new(carried)

    def _answered_before(self) -> ActionResult | None:
        """This update's answer, if an earlier run gave it (a client's retry after continue-as-new)."""
        update = workflow.current_update_info()
        answer = self.answered.get(update.id) if update else None
        return answer.result if answer else None

    # ---- publishing -----------------------------------------------------------------------

    async def _commit(self) -> None:
        """Make sure the read model holds every change made so far."""
        async with self.lock:
            if self.flushed < self.changes:
                upto = self.changes
                await self._publish()
                self.flushed = upto

    async def _change(self, change: Callable[[], T], reason: str | None = None) -> T:
        """Apply one change and publish it, with no other change interleaved.

        The lock keeps a concurrent handler from mutating the state while it is being written,
        so event numbers and versions in the read model always match the workflow's.
        """
        async with self.lock:
            try:
                outcome = change()
            except ActionRefused as err:
                raise refused(err) from None
            self.changes += 1
            await self._publish(reason)
            self.flushed = self.changes
        return outcome

    async def _publish(self, reason: str | None = None) -> None:
        now = workflow.now()
        if self.one_publish:
            await self._publish_once(now, reason)
        elif self.one_way:
            await self._publish_twice(now, reason)
        else:
            await self._publish_legacy(now, reason)
        attributes = self._attributes()
        if attributes != self.attributes:
            workflow.upsert_search_attributes([pair.key.value_set(pair.value) for pair in attributes])
            self.attributes = attributes
        self.replan = True

    async def _publish_once(self, now: datetime, reason: str | None) -> None:
        """Time, apply and write in one activity; the same timings applied here, so both copies agree."""
        timed_here = bool(self.project.stale_clocks())  # as the activity decides on its copy
        self._next_version()
        timed = await workflow.execute_local_activity_method(
            Publisher.publish,
            Publish(project=self.project, now=now, reason=reason, rebuilt=self.rebuilt),
            start_to_close_timeout=LOCAL_TIMEOUT,
            retry_policy=LOCAL_RETRY,
        )
        self.cold = timed.rebuilt
        if timed_here:
            self.project.apply_timings(timed.timings, now, reason)
        self.project.pending_events = []

    async def _publish_twice(self, now: datetime, reason: str | None) -> None:
        """Projects started before one publish: `time_clocks`, the timings applied, then `store_project`."""
        stale = self.project.stale_clocks()
        if stale:
            timed = await workflow.execute_local_activity_method(
                Publisher.time_clocks,
                TimeClocks(clocks=stale, fresh_calendar=reason is not None),
                start_to_close_timeout=LOCAL_TIMEOUT,
                retry_policy=LOCAL_RETRY,
            )
            self.project.apply_timings(timed.timings, now, reason)
        self._next_version()
        await workflow.execute_local_activity_method(
            Publisher.store_project,
            StoreProject(project=self.project, now=now),
            start_to_close_timeout=LOCAL_TIMEOUT,
            retry_policy=LOCAL_RETRY,
        )
        self.project.pending_events = []

    async def _publish_legacy(self, now: datetime, reason: str | None) -> None:
        """Projects started before one-way publishing: the write also computes timings and returns them."""
        self._next_version()
        result = await workflow.execute_local_activity_method(
            Publisher.publish_project,
            LegacyPublishInput(project=self.project, clocks=self.project.stale_clocks(), now=now),
            start_to_close_timeout=LOCAL_TIMEOUT,
            retry_policy=LOCAL_RETRY,
        )
        self.project.apply_timings(result.timings, now, reason)
        self.project.pending_events = [e for e in self.project.pending_events if e.seq > result.last_event_seq]
        if self.project.pending_events:  # events the timings added (moved deadlines): write them too
            await self._publish_legacy(now, None)

    def _attributes(self) -> TypedSearchAttributes:
        project = self.project
        colour = project.colour if self.colour_searched else None
        return search_attributes(colour, project.status, project.current_stage.value, project.category)

    def _next_version(self) -> None:
        # Versions grow with the history, so a workflow task retried after a timeout publishes
        # above whatever its lost first attempt may have written, and its state wins. A continued
        # run's history starts short again: its versions grow from the version it carried.
        floor = self.version_base + workflow.info().get_current_history_length() * VERSIONS_PER_EVENT
        self.project.version = max(self.project.version + 1, floor)

    async def _act(self, action: Action, step_key: str | None = None) -> ActionResult:
        """Apply the action and publish it; the answer names what it created and shows the step acted on."""
        earlier = self._answered_before()
        if earlier is not None:
            return earlier
        created = await self._change(lambda: self.project.act(action, workflow.now()))
        self.acted_since_rest = True
        step = None
        if step_key is not None:
            acted_on = self.project.step(step_key)
            step = step_view(acted_on, acted_on.clock.used_days)
        result = ActionResult(version=self.project.version, created_id=created, step=step)
        update = workflow.current_update_info()
        if update is not None:
            self.answered[update.id] = AnsweredUpdate(update_id=update.id, at=workflow.now(), result=result)
        return result

    def _validate(self, action: Action) -> None:
        # Visibility first, so a caller who may not see the project gets the API's 404 before any
        # 403 (the API leaves this check to the validator: api/deps.py). Validators do not run on
        # replay, so this adds nothing to the history. An update answered in an earlier run is
        # let through to its handler, which answers it again without acting.
        if self._answered_before() is not None:
            return
        try:
            require_visible(action.actor, self.project)
            self.project.check(action)
        except ActionRefused as err:
            raise refused(err) from None

    # ---- updates: each validated by the domain before it is accepted ------------------------

    @workflow.update
    async def opened(self, inp: Opened) -> ActionResult:
        await self._commit()
        return ActionResult(version=self.project.version)

    @workflow.update
    async def submit(self, inp: Submit) -> ActionResult:
        return await self._act(inp, inp.step)

    @submit.validator
    def _check_submit(self, inp: Submit) -> None:
        self._validate(inp)

    @workflow.update
    async def decide(self, inp: Decide) -> ActionResult:
        return await self._act(inp, inp.step)

    @decide.validator
    def _check_decide(self, inp: Decide) -> None:
        self._validate(inp)

    @workflow.update
    async def verify(self, inp: Verify) -> ActionResult:
        return await self._act(inp, inp.step)

    @verify.validator
    def _check_verify(self, inp: Verify) -> None:
        self._validate(inp)

    @workflow.update
    async def rate(self, inp: Rate) -> ActionResult:
        return await self._act(inp, inp.step)

    @rate.validator
    def _check_rate(self, inp: Rate) -> None:
        self._validate(inp)

    @workflow.update
    async def withdraw(self, inp: Withdraw) -> ActionResult:
        return await self._act(inp)

    @withdraw.validator
    def _check_withdraw(self, inp: Withdraw) -> None:
        self._validate(inp)

    @workflow.update
    async def open_problem(self, inp: OpenProblem) -> ActionResult:
        return await self._act(inp)

    @open_problem.validator
    def _check_open_problem(self, inp: OpenProblem) -> None:
        self._validate(inp)

    @workflow.update
    async def raise_problem(self, inp: RaiseProblem) -> ActionResult:
        return await self._act(inp)

    @raise_problem.validator
    def _check_raise_problem(self, inp: RaiseProblem) -> None:
        self._validate(inp)

    @workflow.update
    async def resolve_problem(self, inp: ResolveProblem) -> ActionResult:
        return await self._act(inp)

    @resolve_problem.validator
    def _check_resolve_problem(self, inp: ResolveProblem) -> None:
        self._validate(inp)

    @workflow.update
    async def answer_rectification(self, inp: AnswerRectification) -> ActionResult:
        return await self._act(inp)

    @answer_rectification.validator
    def _check_answer_rectification(self, inp: AnswerRectification) -> None:
        self._validate(inp)

    @workflow.update
    async def judge_rectification(self, inp: JudgeRectification) -> ActionResult:
        return await self._act(inp)

    @judge_rectification.validator
    def _check_judge_rectification(self, inp: JudgeRectification) -> None:
        self._validate(inp)

    @workflow.signal
    async def calendar_changed(self, inp: CalendarChanged) -> None:
        """Time every clock again with the new calendar; a deadline that moves says so and why."""
        reason = f"calendar {inp.year} changed by {inp.changed_by}"
        await self._change(self.project.calendar_changed, reason=reason)

    @workflow.query
    def state(self) -> Project:
        """The full state, for tests and operators comparing it with the read model."""
        return self.project
