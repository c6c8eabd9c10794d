"""Signed bearer tokens (HS256 JWT with expiry and issue time)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt

ALGORITHM = "HS256"


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
