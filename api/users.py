"""The users of the service as the office manages them, for the JSON API and the pages alike:
listed without secrets, created with the binding their role needs, deactivated or reactivated,
their password reset or their login lock lifted."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.errors import ApiError, not_found
from api.schemas import Me, NoticeSettings, UserCreate, UserUpdate
from domain.codes import validate_credit_code
from models.passwords import hash_password
from models.tables import UserRow

# Where a user is reached: given empty, removed.
CONTACTS = ("email", "mobile")


class UserOut(Me):
    """A user as the office sees it: the identity `GET /me` shows, plus its account state."""

    active: bool
    locked_until: datetime | None


def user_out(row: UserRow) -> UserOut:
    return UserOut.model_validate(row, from_attributes=True)


async def every_user(db: AsyncSession) -> list[UserOut]:
    """Every user by username, without secrets."""
    rows = (await db.exec(select(UserRow).order_by(col(UserRow.username)))).all()
    return [user_out(r) for r in rows]


async def create_user(db: AsyncSession, body: UserCreate) -> UserOut:
    """A new user bound to what its role needs (422 `invalid_credit_code`, 409 `user_exists`)."""
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
        email=body.email or None,
        mobile=body.mobile or None,
    )
    db.add(row)
    await db.commit()
    return user_out(row)


async def update_user(db: AsyncSession, username: str, body: UserUpdate, by: UserRow) -> UserOut:
    """Deactivate or reactivate, reset the password, rename, lift a login lock, or set or remove
    (empty) the e-mail address and the mobile number (404 for no such user, 409 `cannot_deactivate_self`)."""
    row = await db.get(UserRow, username)
    if row is None:
        raise not_found(f"user {username}")
    if body.active is False and row.username == by.username:
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
    for contact in CONTACTS:
        given = getattr(body, contact)
        if given is not None:
            setattr(row, contact, given or None)
    db.add(row)
    await db.commit()
    return user_out(row)


async def change_notice_settings(db: AsyncSession, user: UserRow, body: NoticeSettings) -> Me:
    """The user's own choices of how notices reach them (`PATCH /me/notifications`, the settings
    page): a field left out stays; an empty address or mobile number removes it."""
    for field, value in body.model_dump(exclude_none=True).items():
        setattr(user, field, value or None if field in CONTACTS else value)
    db.add(user)
    await db.commit()
    return Me.model_validate(user, from_attributes=True)
