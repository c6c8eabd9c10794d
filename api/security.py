"""Password hashing (argon2) and signed bearer tokens (HS256 JWT with expiry)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
ALGORITHM = "HS256"
# A hash checked when the user does not exist, so both cases take the same time.
_DUMMY_HASH = _hasher.hash("no-such-user")


def hash_password(password: str) -> str:
    """A salted argon2id hash."""
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """Whether the password matches; a missing user still pays for one verification."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def issue_token(username: str, secret: str, minutes: int, now: datetime | None = None) -> str:
    """A token naming the user, valid for `minutes`."""
    issued = now or datetime.now(UTC)
    # A fractional `iat`, so a password reset cuts even a token issued in the same second.
    claims = {"sub": username, "iat": issued.timestamp(), "exp": issued + timedelta(minutes=minutes)}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_token(token: str, secret: str) -> str | None:
    """The username of a valid, unexpired token; None otherwise."""
    claims = read_claims(token, secret)
    return claims[0] if claims else None


def read_claims(token: str, secret: str) -> tuple[str, datetime] | None:
    """The username and issue time of a valid, unexpired token; None otherwise."""
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "exp", "iat"]})
    except jwt.PyJWTError:
        return None
    subject, issued = claims.get("sub"), claims.get("iat")
    if not isinstance(subject, str) or not isinstance(issued, int | float):
        return None
    return subject, datetime.fromtimestamp(issued, UTC)
