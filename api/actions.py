"""Routes that send one action to a project, declared as data.

Most actions take the same way: resolve what is acted on (404 unless visible, then the role
gate), validate the body, build the action from it, send it as the workflow's update, answer
with the outcome. `action_route` builds that route from an `ActionRoute`, so each action is a
row of a table rather than a copy of a function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel

from api.commands import Commands, CommandsDep
from api.deps import Acting
from api.errors import refusals
from api.schemas import ActionOut
from domain.project import Action


@dataclass(frozen=True)
class ActionRoute:
    """One action's route: where, with what body, which action and update, and what it may refuse."""

    path: str
    body: Any  # a request model, or an annotated union of models
    action: type[Action]
    update: Callable[..., Any]
    refusals: tuple[str, ...]
    summary: str
    target: str = ""  # the action's field the acted-on item fills (step, problem_id, ...)
    status_code: int = 200


def action_route(router: APIRouter, route: ActionRoute, resolve: Callable[[str], Any]) -> None:
    """Add the route; `resolve(gate)` is the dependency that finds what is acted on (api/deps.py)."""

    async def endpoint(body: BaseModel, acting: Acting, send: Commands) -> ActionOut:
        item = {route.target: acting.item_id} if route.target else {}
        return await send.act(acting, route.update, route.action(actor=acting.actor, **item, **body.model_dump()))

    endpoint.__annotations__.update(
        body=route.body, acting=Annotated[Acting, resolve(route.action.gate)], send=CommandsDep
    )
    endpoint.__name__ = endpoint.__qualname__ = route.update.__name__
    endpoint.__doc__ = route.summary
    router.add_api_route(
        route.path,
        endpoint,
        methods=["POST"],
        status_code=route.status_code,
        response_model=ActionOut,
        responses=refusals(*route.refusals),
    )
