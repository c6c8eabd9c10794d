"""The project page (/p/{code}), which the project's QR code opens, and every action taken from it.

The page shows the chain, the lights in words, open problems and the audit timeline, and offers
only the actions the project's rules accept from this caller now (web/actions.py). Every form
posts to one route that sends the same action as the JSON API, through the same commands; the
step page's forms (web/routes/steps.py) post there too, and `next` brings the caller back to it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import TypeAdapter, ValidationError

from api import schemas
from api.commands import CommandsDep
from api.deps import ServicesDep, SessionDep, actor_of
from api.documents import submission
from api.errors import ApiError
from api.queries import project_state, read_project, return_reasons, step_views
from domain import project as rules
from domain.access import Actor
from domain.catalog import STAGE_ORDER
from domain.errors import ActionRefused
from web.actions import offer
from web.labels import N_
from web.pages import Caller, FormChecked, PageCode, VisibleCode, acting_on, local_path, page, page_router, see_other
from web.refusals import field_errors, refusal_message
from web.render import caller_language
from web.uploads import MAX_FILES, documents_context, keep_files, read_form, upload_refusal
from workflows.project import ProjectWorkflow

router = page_router()

# The timeline's latest events the page shows; a link shows the whole of it (docs/pages.md).
TIMELINE_LATEST = 50


@dataclass(frozen=True)
class PageAction:
    """One form of the project page: the API body it is validated as, the action it becomes."""

    body: Any
    action: type[rules.Action]
    update: Callable[..., Any]
    done: str  # what the banner says afterwards
    target: str | None = None  # the action's field the form's `target` fills
    fixed: dict[str, Any] = field(default_factory=dict)

    def build(self, body: dict[str, Any], actor: Actor, target: str) -> rules.Action:
        named = {self.target: target} if self.target else {}
        return self.action(actor=actor, **{**body, **named, **self.fixed})  # a fixed field wins over the body's


W = ProjectWorkflow
PAGE_ACTIONS: dict[str, PageAction] = {
    "submit": PageAction(schemas.SubmitBody, rules.Submit, W.submit, N_("The application was submitted."), "step"),
    "commit": PageAction(
        schemas.SubmitBody,
        rules.Submit,
        W.submit,
        N_("The commitment was signed and the permit granted."),
        "step",
        {"commitment": True},
    ),
    "decide": PageAction(schemas.DecisionBody, rules.Decide, W.decide, N_("The decision was recorded."), "step"),
    "verify": PageAction(
        schemas.VerificationBody, rules.Verify, W.verify, N_("The verification was recorded."), "step"
    ),
    "rate": PageAction(schemas.RatingBody, rules.Rate, W.rate, N_("Thank you for rating."), "step"),
    "withdraw": PageAction(schemas.WithdrawBody, rules.Withdraw, W.withdraw, N_("The project was withdrawn.")),
    "open_problem": PageAction(schemas.ProblemCreate, rules.OpenProblem, W.open_problem, N_("The problem was raised.")),
    "raise": PageAction(
        schemas.ProblemRaise, rules.RaiseProblem, W.raise_problem, N_("The problem went up one level."), "problem_id"
    ),
    "resolve": PageAction(
        schemas.ProblemResolve, rules.ResolveProblem, W.resolve_problem, N_("The problem was resolved."), "problem_id"
    ),
    "answer": PageAction(
        schemas.RectificationAnswer,
        rules.AnswerRectification,
        W.answer_rectification,
        N_("The answer was sent to the owner."),
        "rectification_id",
    ),
    "judge": PageAction(
        schemas.RectificationJudgement,
        rules.JudgeRectification,
        W.judge_rectification,
        N_("Your judgement was recorded."),
        "rectification_id",
    ),
}
DONE = {name: action.done for name, action in PAGE_ACTIONS.items()}
DONE["created"] = N_("The project was created. Keep its project code: it finds the project everywhere.")


async def project_context(
    code: str, user: Any, svc: ServicesDep, db: SessionDep, whole_timeline: bool = False, step: str | None = None
) -> dict[str, Any]:
    """Everything the project page shows, from the read model: of the timeline, its latest events
    unless the whole of it is asked for; for a step's page, the whole of that step's."""
    actor = actor_of(user)
    latest = None if whole_timeline or step else TIMELINE_LATEST
    now = datetime.now(UTC)
    reading = await read_project(db, actor, code, await svc.calendar.calendar(db), now, latest, step)
    project = reading.project
    stages = [
        (stage.value, [s for s in project.steps if s.stage == stage])
        for stage in STAGE_ORDER
        if any(s.stage == stage for s in project.steps)
    ]
    return {
        **vars(reading),
        **await documents_context(db, code, svc.settings),
        "title": project.name,
        "category": (await svc.catalog.get(db)).get(project.category),
        "stages": stages,
        "events": list(reversed(reading.events)),
        "event_total": project.event_seq,
        "reasons": await return_reasons(db, code),
        "offer": offer(project, actor, reading.revocation_elsewhere),
    }


@router.get("/p/{code}")
async def project_page(
    request: Request,
    code: PageCode,
    user: Caller,
    svc: ServicesDep,
    db: SessionDep,
    done: str | None = None,
    timeline: str = "",
) -> Response:
    context = await project_context(code, user, svc, db, whole_timeline=timeline == "all")
    flash = request.state.__dict__.get("flash") or (DONE.get(done) if done else None)
    return page(request, "project.html", flash=flash, errors={}, **context)


@router.get("/p/{code}/lights")
async def project_lights(request: Request, code: PageCode, user: Caller, svc: ServicesDep, db: SessionDep) -> Response:
    """The lights of the open page, swapped in place by htmx every few seconds: the project and
    its steps as shown now, nothing else the page reads."""
    project = await project_state(db, actor_of(user), code)
    views = step_views(project, await svc.calendar.calendar(db), datetime.now(UTC))
    return page(request, "project_lights.html", project=project, views=views)


@router.post("/p/{code}/act", dependencies=[FormChecked])
async def act(
    request: Request, code: VisibleCode, user: Caller, svc: ServicesDep, db: SessionDep, send: CommandsDep
) -> Response:
    """One form of the project page: validated like the API's body, sent as the same action."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    kind, target = form.pop("action", ""), form.pop("target", "")
    back = local_path(form.pop("next", ""))  # the page that sent the form (a step page, the queue)
    form.pop("csrf_token", None)
    chosen = PAGE_ACTIONS.get(kind)
    if chosen is None:
        raise ApiError(422, "unknown_action", f"no such action {kind!r}")
    fields = form_values({k: v for k, v in form.items() if v != "" or k in ("comment", "note", "reason")})
    try:
        body = TypeAdapter(chosen.body).validate_python(fields)
    except ValidationError as err:
        errors = field_errors(request, err)
        return await _again(request, code, user, svc, db, 422, errors, (kind, target, step_page(code, back), form))
    acting = await acting_on(code, user, db, chosen.action.gate, form.get("idempotency_key"))
    try:
        action: rules.Action
        if chosen.action is rules.Submit:  # its documents and the owner's other projects, as the API resolves them
            action = await submission(db, code, acting.actor, target, body.model_copy(update=chosen.fixed))
        else:
            action = chosen.build(body.model_dump(), acting.actor, target)
        await send.act(acting, chosen.update, action)
    except (ApiError, ActionRefused) as err:
        errors = {"": refusal_message(request, err.code)}
        return await _again(
            request, code, user, svc, db, err.status, errors, (kind, target, step_page(code, back), form)
        )
    anchor = f"#{target}" if target else ""
    return see_other(with_done(back, kind) if back else f"/p/{code}?done={kind}{anchor}")


@router.post("/p/{code}/steps/{key}/submit")
async def submit_with_documents(
    request: Request, code: VisibleCode, key: str, user: Caller, svc: ServicesDep, db: SessionDep, send: CommandsDep
) -> Response:
    """The submission form with its files (multipart, read as it streams in, web/uploads.py): each
    file kept as `POST /projects/{code}/documents` keeps it, then the submission sent naming them
    with the documents ticked on the form, as `POST .../submit` sends it. A refused file stops
    the submission; the form comes back with the refusal beside the field and the files kept."""
    acting = await acting_on(code, user, db, rules.Submit.gate)
    limit = svc.settings.max_upload_bytes
    lang = caller_language(request)
    texts = ("action", "target", "next", "note", "idempotency_key", "documents")
    kind, back = "submit", ""  # no `next`: the project page sent the form
    try:
        form = await read_form(request, limit, texts, MAX_FILES)
    except ApiError as err:
        errors = {"file": upload_refusal(request, lang, err, limit)}
        return await _again(request, code, user, svc, db, err.status, errors, (kind, key, step_page(code, back), {}))
    kind = "commit" if form.text("action") == "commit" else "submit"
    back = local_path(form.text("next"))
    entered = {"note": form.text("note")}
    kept = await keep_files(db, svc.storage, code, acting.actor, key, form)
    if kept.refusal is not None:
        errors = {"file": upload_refusal(request, lang, kept.refusal, limit)}
        return await _again(
            request, code, user, svc, db, kept.refusal.status, errors, (kind, key, step_page(code, back), entered)
        )
    fields = {
        "note": entered["note"],
        "documents": [*form.fields.get("documents", []), *(d.id for d in kept.documents)],
        **PAGE_ACTIONS[kind].fixed,
    }
    try:
        body = schemas.SubmitBody.model_validate(fields)
    except ValidationError as err:
        errors = field_errors(request, err)
        return await _again(request, code, user, svc, db, 422, errors, (kind, key, step_page(code, back), entered))
    acting = await acting_on(code, user, db, rules.Submit.gate, form.text("idempotency_key") or None)
    try:
        await send.act(acting, W.submit, await submission(db, code, acting.actor, key, body))
    except (ApiError, ActionRefused) as err:
        errors = {"": refusal_message(request, err.code)}
        return await _again(
            request, code, user, svc, db, err.status, errors, (kind, key, step_page(code, back), entered)
        )
    return see_other(with_done(back, kind) if back else f"/p/{code}?done={kind}#{key}")


def with_done(path: str, kind: str) -> str:
    """The page to go back to, told what was done (unless it says so already)."""
    if "done=" in path:
        return path
    return f"{path}{'&' if '?' in path else '?'}done={kind}"


def step_page(code: str, target: str) -> str | None:
    """One of this project's step pages, else None: a failed form is shown again where it was."""
    return target if re.fullmatch(rf"/p/{re.escape(code)}/steps/[a-z0-9_.]{{1,60}}", target) else None


def form_values(form: dict[str, str]) -> dict[str, Any]:
    """A form's text as the JSON the API's body expects: yes/no choices as booleans, scores as numbers."""
    values: dict[str, Any] = dict(form)
    for name in ("accept", "commitment", "key_project"):
        if values.get(name) in ("true", "false"):
            values[name] = values[name] == "true"
    if isinstance(values.get("score"), str) and values["score"].isdigit():
        values["score"] = int(values["score"])
    return values


async def _again(
    request: Request,
    code: str,
    user: Any,
    svc: ServicesDep,
    db: SessionDep,
    status: int,
    errors: dict[str, str],
    failed: tuple[str, str, str | None, dict[str, str]],
) -> Response:
    """The page the form came from again (the step page or the project page), with what went wrong at
    the top and the form that failed open, as it was filled."""
    kind, target, back, entered = failed
    step = back.rsplit("/", 1)[1] if back is not None else None  # a step page's form
    context = await project_context(code, user, svc, db, step=step)
    again = {"errors": errors, "failed": (kind, target), "entered": entered}
    if step is not None:
        return page(request, "step.html", status, step_key=step, next_page=back, **again, **context)
    return page(request, "project.html", status, **again, **context)
