"""Office-only management: the users of the service and the catalog of categories."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import ValidationError
from sqlmodel import col, select

from api.deps import IdempotencyKey, SessionDep, allowed
from api.errors import ApiError, not_found, refusals
from api.schemas import CategoryBody, Me, UserCreate, UserUpdate
from domain.catalog import CategorySpec
from domain.codes import validate_credit_code
from models.catalog_store import save_category
from models.passwords import hash_password
from models.tables import UserRow


class UserOut(Me):
    """A user as the office sees it: the identity `GET /me` shows, plus its account state."""

    active: bool
    locked_until: datetime | None


router = APIRouter(tags=["office"])
Manager = Annotated[UserRow, allowed("manage")]
UsernamePath = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_.-]{2,63}$", description="a username")]
CategoryPath = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{1,39}$", description="a category key")]


@router.get("/users", response_model=list[UserOut], responses=refusals("forbidden_role"))
async def list_users(user: Manager, db: SessionDep) -> list[UserOut]:
    """Every user, without secrets."""
    rows = (await db.exec(select(UserRow).order_by(col(UserRow.username)))).all()
    return [UserOut.model_validate(r, from_attributes=True) for r in rows]


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
    organisation = validate_credit_code(body.organisation) if body.organisation is not None else None
    if await db.get(UserRow, body.username) is not None:
        raise ApiError(409, "user_exists", f"user {body.username} already exists")
    row = UserRow(
        username=body.username,
        password_hash=hash_password(body.password),
        role=body.role,
        display_name=body.display_name,
        department=body.department,
        stage=body.stage,
        organisation=organisation,
    )
    db.add(row)
    await db.commit()
    return UserOut.model_validate(row, from_attributes=True)


@router.patch(
    "/users/{username}", response_model=UserOut, responses=refusals("forbidden_role", "cannot_deactivate_self")
)
async def update_user(username: UsernamePath, body: UserUpdate, user: Manager, db: SessionDep) -> UserOut:
    """Deactivate or reactivate, reset the password, rename, or lift a login lock."""
    row = await db.get(UserRow, username)
    if row is None:
        raise not_found(f"user {username}")
    if body.active is False and row.username == user.username:
        raise ApiError(409, "cannot_deactivate_self", "the office cannot deactivate its own account")
    if body.active is not None:
        row.active = body.active
    if body.password is not None:
        row.password_hash = hash_password(body.password)
    if body.password is not None or body.active is False:
        # Tokens issued before this moment stop working: a reset or a deactivation cuts sessions.
        row.tokens_valid_after = datetime.now(UTC)
    if body.display_name is not None:
        row.display_name = body.display_name
    if body.unlock:
        row.locked_until = None
        row.failed_logins = 0
    db.add(row)
    await db.commit()
    return UserOut.model_validate(row, from_attributes=True)


@router.put(
    "/catalog/{category}",
    tags=["catalog"],
    responses=refusals("forbidden_role", "invalid_category", "category_key_mismatch"),
)
async def put_category(category: CategoryPath, body: CategoryBody, user: Manager, db: SessionDep) -> dict[str, Any]:
    """Add or change a category; projects already running keep the version they started with."""
    try:
        # `stages` is derived (GET /catalog shows it): accept it back, ignore it.
        spec = CategorySpec.model_validate(body.model_dump(exclude={"stages"}, exclude_none=True))
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ApiError(422, "invalid_category", f"{where}: {first['msg']}" if where else first["msg"]) from None
    if spec.key != category:
        raise ApiError(422, "category_key_mismatch", f"the body describes {spec.key!r}, not {category!r}")
    await save_category(db, spec, user.username)
    return {**spec.model_dump(mode="json"), "stages": [s.value for s in spec.stages]}
