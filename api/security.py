"""Signed bearer tokens (HS256 JWT with expiry and issue time)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import jwt

ALGORITHM = "HS256"
# Tokens whose signature was checked, kept by their text: a client sends the same token with every
# request, and checking it again took 40 µs each time (twice for a write with an Idempotency-Key).
VERIFIED_TOKENS = 4096


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
        subject, issued, expires = _verified(token, secret)
    except jwt.PyJWTError:
        return None
    return (subject, issued) if time.time() < expires else None  # expired at `exp`, as jwt.decode says


@lru_cache(maxsize=VERIFIED_TOKENS)
def _verified(token: str, secret: str) -> tuple[str, datetime, int]:
    """The subject, issue time and expiry of a well-signed token, unexpired when first checked;
    raises otherwise (so a refusal is never kept: a token is checked again each time it is sent)."""
    claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "exp", "iat"]})
    subject, issued = claims.get("sub"), claims.get("iat")
    if not isinstance(subject, str) or not isinstance(issued, int | float):
        raise jwt.InvalidTokenError("the token names no user or no issue time")
    return subject, datetime.fromtimestamp(issued, UTC), int(claims["exp"])
