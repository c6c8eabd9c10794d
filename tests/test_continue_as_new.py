"""A long-lived project continues as new, carrying its whole state, without losing a step."""

from __future__ import annotations

import json

import pytest
from sqlmodel import col, delete
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from bench.chain import movable, next_move
from domain.project import (
    COLD_REST_LIMIT,
    GENERATION,
    REST_LIMIT,
    REST_LIMIT_BEFORE,
    Project,
    ProjectInput,
)
from models.db import make_engine, session_factory
from models.tables import IdempotencyRow
from settings import Settings
from tests.chain import create, started, steps, view, walk
from tests.conftest import Api, eventually
from worker import build_worker
from workflows.project import ProjectWorkflow
from workflows.search import COLOUR, STAGE, STATUS, search_attributes

pytestmark = pytest.mark.asyncio(loop_scope="session")
HISTORY_LIMIT_HERE = 12
# A cold limit a submitted project rests below, so that only the clock's rests cross it.
COLD_LIMIT_PAST_SUBMISSION = 20


async def test_project_survives_continue_as_new(api: Api, temporal_client: Client, settings: Settings) -> None:
    # No rest limit within reach: each run ends at the hard limit, whether at rest or not.
    code = await started(temporal_client, settings.task_queue, 1, history_limit=HISTORY_LIMIT_HERE, rest_limit=10_000)
    first_run = (await temporal_client.get_workflow_handle(code).describe()).run_id

    done = await walk(api, code)

    assert done["status"] == "completed"
    assert all(s["status"] in ("approved", "verified") for s in steps(done).values())
    history = await temporal_client.get_workflow_handle(code, run_id=first_run).fetch_history()
    assert history.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    assert len(history.events) > HISTORY_LIMIT_HERE  # ended by the hard limit: the rest limit is out of reach

    async def published() -> Project:
        # The last publish may still be on its way when the walk reads the completed view.
        state = await temporal_client.get_workflow_handle(code).query(ProjectWorkflow.state)
        assert state.status == "completed" and state.version == (await view(api, code))["version"]
        return state

    state = await eventually(published, within=10)
    events = (await api.get(f"/projects/{code}/events", "owner-a")).json()
    assert [e["seq"] for e in events] == list(range(1, state.event_seq + 1))


async def test_project_at_rest_continues_as_new_and_a_retry_acts_once(
    api: Api, temporal_client: Client, settings: Settings
) -> None:
    """Going to sleep with a history past the rest limit starts a new run; an update answered in the
    old run, retried in the new one (its answer lost before the API recorded it), acts once."""
    code = await started(temporal_client, settings.task_queue, 2, rest_limit=REST_LIMIT_BEFORE)
    handle = temporal_client.get_workflow_handle(code)
    first_run = (await handle.describe()).run_id
    submit = next_move(movable(await view(api, code))[0])
    assert submit is not None
    r = await api.post(submit.path(code), submit.user, json=submit.body)
    assert r.status_code == 200, r.text
    decide = next_move(steps(await view(api, code))[submit.step])
    assert decide is not None and decide.verb == "decision"
    key = {"Idempotency-Key": "decided-before-the-rest"}
    first = await api.post(decide.path(code), decide.user, json=decide.body, headers=key)
    assert first.status_code == 200, first.text
    then = next_move(movable(await view(api, code))[0])  # the next step's submission: past the limit
    assert then is not None and then.step != decide.step
    r = await api.post(then.path(code), then.user, json=then.body)
    assert r.status_code == 200, r.text
    acknowledged = r.json()["version"]

    async def continued() -> str:
        run = (await handle.describe()).run_id
        assert run != first_run
        return run

    await eventually(continued, within=10)
    old = await temporal_client.get_workflow_handle(code, run_id=first_run).fetch_history()
    assert len(old.events) > REST_LIMIT_BEFORE
    assert old.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    # Its input predates the colour leaving the search attributes: the old run searched it, the
    # new one, continued by this code, cleared it as it started.
    searched = (await temporal_client.get_workflow_handle(code, run_id=first_run).describe()).typed_search_attributes
    assert searched.get(COLOUR) is not None

    async def cleared() -> None:  # as the new run's first workflow task completes
        assert (await handle.describe()).typed_search_attributes.get(COLOUR) is None

    await eventually(cleared, within=10)

    # The API lost its record of the answer (it died before writing it): the retry reaches the new run.
    engine = make_engine(settings.database_url)
    try:
        async with session_factory(engine)() as db:
            await db.exec(delete(IdempotencyRow).where(col(IdempotencyRow.key) == key["Idempotency-Key"]))
            await db.commit()
    finally:
        await engine.dispose()
    retried = await api.post(decide.path(code), decide.user, json=decide.body, headers=key)
    assert retried.status_code == 200, retried.text
    assert retried.json() == first.json()
    events = (await api.get(f"/projects/{code}/events", "owner-a")).json()
    assert [e["action"] for e in events if e["step"] == decide.step].count(decide.action) == 1
    # The new run carried the published state: it wrote nothing as it started, nor for the retry.
    assert (await view(api, code))["version"] == acknowledged
    assert (await handle.query(ProjectWorkflow.state)).version == acknowledged


async def test_a_project_its_worker_lost_continues_as_new_at_its_next_rest_past_the_cold_limit(
    api: Api, temporal_client: Client, settings: Settings
) -> None:
    """The same three moves on two projects: the one served by a worker that keeps no cache is
    rebuilt from its history at every move and starts a new run as it rests past the cold limit;
    the one its worker keeps in its cache rests on in its first run."""
    cacheless = settings.model_copy(
        update={"task_queue": f"{settings.task_queue}-cacheless", "max_cached_workflows": 0}
    )
    async with build_worker(temporal_client, cacheless):
        lost, kept = [
            await started(temporal_client, queue, serial, rest_limit=10_000, cold_rest_limit=COLD_REST_LIMIT)
            for queue, serial in ((cacheless.task_queue, 4), (settings.task_queue, 5))
        ]
        first_runs = {
            code: (await temporal_client.get_workflow_handle(code).describe()).run_id for code in (lost, kept)
        }
        for code in (lost, kept):
            for _ in range(3):  # submit, decide, the next step's submission: past the cold limit
                move = next_move(movable(await view(api, code))[0])
                assert move is not None
                r = await api.post(move.path(code), move.user, json=move.body)
                assert r.status_code == 200, r.text

        async def at_rest(code: str) -> str:
            described = await temporal_client.get_workflow_handle(code).describe()
            assert described.raw_description.pending_workflow_task.state == 0  # none scheduled or running
            return described.run_id

        async def lost_continued() -> None:
            assert await at_rest(lost) != first_runs[lost]

        await eventually(lost_continued, within=10)
        assert await eventually(lambda: at_rest(kept), within=10) == first_runs[kept]
    histories = {
        code: (await temporal_client.get_workflow_handle(code, run_id=run).fetch_history()).events
        for code, run in first_runs.items()
    }
    assert len(histories[lost]) > COLD_REST_LIMIT and len(histories[kept]) > COLD_REST_LIMIT
    assert histories[lost][-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW


async def test_a_lost_project_the_clock_alone_moves_rests_in_its_run_until_a_person_acts(
    api: Api, temporal_client: Client, settings: Settings
) -> None:
    """On a worker that keeps no cache, with one-second working days: two projects submitted, then
    left to the clock (yellow, red, the ladder). The one of generation 1 starts a new run at the
    first of those rests past the cold limit; the one of this generation rests on in its run, past
    the cold limit, until a person acts, and the rest after that action starts its new run."""
    clocked = settings.model_copy(
        update={"task_queue": f"{settings.task_queue}-clocked", "max_cached_workflows": 0, "workday_seconds": 1.0}
    )
    async with build_worker(temporal_client, clocked):
        before, now = [
            await started(
                temporal_client,
                clocked.task_queue,
                serial,
                generation=generation,
                rest_limit=10_000,
                cold_rest_limit=COLD_LIMIT_PAST_SUBMISSION,
            )
            for serial, generation in ((8, 1), (9, GENERATION))
        ]
        submitted_runs = {}
        for code in (before, now):
            r = await api.post(f"/projects/{code}/steps/project_approval/submit", "owner-a", json={})
            assert r.status_code == 200, r.text
            submitted_runs[code] = (await temporal_client.get_workflow_handle(code).describe()).run_id

        async def climbed(code: str) -> None:  # overdue, and on the ladder's second rung or higher
            assert [p["level"] >= 2 for p in (await view(api, code))["open_problems"]] == [True]

        await eventually(lambda: climbed(now), within=30)
        await eventually(lambda: climbed(before), within=10)
        handle = temporal_client.get_workflow_handle(now)
        assert (await handle.describe()).run_id == submitted_runs[now]
        resting = await handle.fetch_history()
        assert len(resting.events) > COLD_LIMIT_PAST_SUBMISSION

        async def before_continued() -> None:  # its workflow task may still be completing
            old = await temporal_client.get_workflow_handle(before, run_id=submitted_runs[before]).fetch_history()
            assert old.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW

        await eventually(before_continued, within=10)

        r = await api.post(f"/projects/{now}/problems", "owner-a", json={"summary": "材料已补正，请复核"})
        assert r.status_code == 201, r.text

        async def continued() -> None:
            assert (await handle.describe()).run_id != submitted_runs[now]

        await eventually(continued, within=10)
    first = await temporal_client.get_workflow_handle(now, run_id=submitted_runs[now]).fetch_history()
    assert first.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    events = (await api.get(f"/projects/{now}/events", "owner-a")).json()
    raised = [e["detail"]["origin"] for e in events if e["action"] == "problem_raised"]
    assert raised.count("overdue") == 1 and len(raised) == 2, raised  # the person's problem, once


async def test_a_project_created_through_the_api_rests_in_its_run_up_to_the_rest_limit(
    api: Api, temporal_client: Client
) -> None:
    code = (await create(api))["code"]
    history = await temporal_client.get_workflow_handle(code).fetch_history()
    started_with = history.events[0].workflow_execution_started_event_attributes.input.payloads[0].data
    assert json.loads(started_with)["rest_limit"] == REST_LIMIT
    assert json.loads(started_with)["cold_rest_limit"] == COLD_REST_LIMIT
    assert REST_LIMIT > REST_LIMIT_BEFORE  # the limit of the runs started before it was an input


async def test_a_run_continued_from_one_that_searched_the_colour_clears_it_and_goes_on(
    api: Api, temporal_client: Client, settings: Settings
) -> None:
    """A run from before the colour left Temporal's search attributes carries its last colour into the
    run this code continues it in: that run clears it as it starts, keeps the other attributes, and
    the project goes on."""
    code = await started(temporal_client, settings.task_queue, 6)
    handle = temporal_client.get_workflow_handle(code)
    state = await handle.query(ProjectWorkflow.state)
    await handle.terminate("replaced by a run continued from one that searched the colour")
    stage = state.current_stage.value
    carried = search_attributes("yellow", state.status, stage, state.category)
    continued = ProjectInput(
        resume=state, published=True, rest_limit=REST_LIMIT, cold_rest_limit=COLD_REST_LIMIT, generation=GENERATION
    )
    await temporal_client.start_workflow(
        ProjectWorkflow.run, continued, id=code, task_queue=settings.task_queue, search_attributes=carried
    )

    async def cleared() -> None:
        attributes = (await temporal_client.get_workflow_handle(code).describe()).typed_search_attributes
        assert attributes.get(COLOUR) is None
        assert (attributes.get(STATUS), attributes.get(STAGE)) == (state.status, stage)

    await eventually(cleared, within=10)
    move = next_move(movable(await view(api, code))[0])
    assert move is not None
    r = await api.post(move.path(code), move.user, json=move.body)
    assert r.status_code == 200, r.text
    assert (await view(api, code))["version"] > state.version
