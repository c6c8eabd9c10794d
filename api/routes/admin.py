"""Office-only management: the users of the service and the catalog of categories (the logic is
the services' api/users.py and api/office.py, which the office's pages call too)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from api import users
from api.deps import IdempotencyKey, ServicesDep, SessionDep, allowed
from api.errors import refusals
from api.office import save_category_body
from api.schemas import CategoryBody, UserCreate, UserUpdate
from api.users import UserOut
from models.tables import UserRow

router = APIRouter(tags=["office"])
Manager = Annotated[UserRow, allowed("manage")]
UsernamePath = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_.-]{2,63}$", description="a username")]
CategoryPath = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{1,39}$", description="a category key")]


@router.get("/users", response_model=list[UserOut], responses=refusals("forbidden_role"))
async def list_users(user: Manager, db: SessionDep) -> list[UserOut]:
    """Every user, without secrets."""
    return await users.every_user(db)


@router.post(
    "/users",
    status_code=201,
    response_model=UserOut,
    responses=refusals(
        "forbidden_role",
        "binding_required",
        "binding_not_allowed",
        "unknown_department",
        "invalid_credit_code",
        "user_exists",
    ),
)
async def create_user(body: UserCreate, user: Manager, db: SessionDep, key: IdempotencyKey = None) -> UserOut:
    """Add a user bound to what its role needs (a department, a stage or an organisation)."""
    return await users.create_user(db, body)


@router.patch(
    "/users/{username}", response_model=UserOut, responses=refusals("forbidden_role", "cannot_deactivate_self")
)
async def update_user(
    username: UsernamePath, body: UserUpdate, user: Manager, svc: ServicesDep, db: SessionDep
) -> UserOut:
    """Deactivate or reactivate, reset the password, rename, lift a login lock, or set or remove the
    e-mail address and the mobile number."""
    return await users.update_user(db, username, body, user, svc.callers)


@router.put(
    "/catalog/{category}",
    tags=["catalog"],
    responses=refusals("forbidden_role", "invalid_category", "category_key_mismatch"),
)
async def put_category(
    category: CategoryPath, body: CategoryBody, user: Manager, db: SessionDep, svc: ServicesDep
) -> dict[str, Any]:
    """Add or change a category; projects already running keep the version they started with."""
    return await save_category_body(db, category, body, user.username, svc.catalog)
