"""Office-only management: the users of the service and the catalog of categories."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import StringConstraints, ValidationError
from sqlmodel import col, select

from api.deps import SessionDep, allowed
from api.errors import ApiError, not_found
from api.schemas import Me, Strict
from domain.catalog import DEPARTMENTS, CategorySpec
from domain.codes import validate_credit_code
from models.catalog_store import save_category
from models.passwords import hash_password
from models.tables import UserRow

Username = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.-]{2,63}$")]
Password = Annotated[str, StringConstraints(min_length=8, max_length=128)]


class UserCreate(Strict):
    username: Username
    password: Password
    role: Literal["owner", "agent", "reviewer", "section_chief", "office", "leader"]
    display_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    department: Annotated[str, StringConstraints(max_length=40)] | None = None
    stage: Literal["initiation", "engineering", "construction", "acceptance"] | None = None
    organisation: Annotated[str, StringConstraints(min_length=18, max_length=18)] | None = None


class UserUpdate(Strict):
    active: bool | None = None
    password: Password | None = None
    display_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    unlock: bool = False


class UserOut(Me):
    """A user as the office sees it: the identity `GET /me` shows, plus its account state."""

    active: bool
    locked_until: datetime | None


router = APIRouter(tags=["office"])
Manager = Annotated[UserRow, allowed("manage")]
UsernamePath = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_.-]{2,63}$")]
CategoryPath = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{1,39}$")]


def _binding(body: UserCreate) -> dict[str, str | None]:
    """What the role is bound to: each role needs its own binding and nothing else."""
    needs = {"reviewer": "department", "section_chief": "stage", "owner": "organisation"}.get(body.role)
    given = {k: getattr(body, k) for k in ("department", "stage", "organisation") if getattr(body, k)}
    if needs and needs not in given:
        raise ApiError(422, "binding_required", f"a {body.role} must be bound to a {needs}")
    extra = set(given) - ({needs} if needs else set())
    if extra:
        raise ApiError(422, "binding_not_allowed", f"a {body.role} is not bound to {', '.join(sorted(extra))}")
    if body.department is not None and body.department not in DEPARTMENTS:
        raise ApiError(422, "unknown_department", f"unknown department {body.department!r}")
    if body.organisation is not None:
        given["organisation"] = validate_credit_code(body.organisation)
    return {k: given.get(k) for k in ("department", "stage", "organisation")}


@router.get("/users", response_model=list[UserOut])
async def list_users(user: Manager, db: SessionDep) -> list[UserOut]:
    """Every user, without secrets."""
    rows = (await db.exec(select(UserRow).order_by(col(UserRow.username)))).all()
    return [UserOut.model_validate(r, from_attributes=True) for r in rows]


@router.post("/users", status_code=201, response_model=UserOut)
async def create_user(body: UserCreate, user: Manager, db: SessionDep) -> UserOut:
    """Add a user bound to what its role needs (a department, a stage or an organisation)."""
    binding = _binding(body)
    if await db.get(UserRow, body.username) is not None:
        raise ApiError(409, "user_exists", f"user {body.username} already exists")
    row = UserRow(
        username=body.username,
        password_hash=hash_password(body.password),
        role=body.role,
        display_name=body.display_name,
        department=binding["department"],
        stage=binding["stage"],
        organisation=binding["organisation"],
    )
    db.add(row)
    await db.commit()
    return UserOut.model_validate(row, from_attributes=True)


@router.patch("/users/{username}", response_model=UserOut)
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


@router.put("/catalog/{category}", tags=["catalog"])
async def put_category(category: CategoryPath, body: dict[str, Any], user: Manager, db: SessionDep) -> dict[str, Any]:
    """Add or change a category; projects already running keep the version they started with."""
    try:
        # `stages` is derived (GET /catalog shows it): accept it back, ignore it.
        spec = CategorySpec.model_validate({k: v for k, v in body.items() if k != "stages"})
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ApiError(422, "invalid_category", f"{where}: {first['msg']}" if where else first["msg"]) from None
    if spec.key != category:
        raise ApiError(422, "category_key_mismatch", f"the body describes {spec.key!r}, not {category!r}")
    await save_category(db, spec, user.username)
    return {**spec.model_dump(mode="json"), "stages": [s.value for s in spec.stages]}
