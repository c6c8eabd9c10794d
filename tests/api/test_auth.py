"""Login hardening: wrong passwords, lockout, tokens that must not work, production settings.

Lockout tests use users created here, never the demo users the other tests log in as.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import update
from sqlmodel import col

from api.callers import TTL_SECONDS
from api.login import LOCK_MINUTES, MAX_FAILURES
from api.main import create_app
from models.db import make_engine, session_factory
from models.tables import UserRow
from settings import DEFAULT_SECRET, Settings
from tests.api.support import (
    assert_problem,
    bearer,
    expired_token,
    forged_token,
    make_user,
    unsigned_token,
    user_row,
)
from tests.conftest import Api, eventually, open_api

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def login(api: Api, username: str, password: str) -> httpx.Response:
    return await api.client.post("/auth/token", data={"username": username, "password": password})


async def set_user(settings: Settings, username: str, **values: object) -> None:
    engine = make_engine(settings.database_url)
    try:
        async with session_factory(engine)() as db:
            await db.execute(update(UserRow).where(col(UserRow.username) == username).values(**values))
            await db.commit()
    finally:
        await engine.dispose()


async def test_a_right_password_gives_a_working_token(api: Api, settings: Settings) -> None:
    username, password = await make_user(settings, "office")
    r = await login(api, username, password)
    assert r.status_code == 200, r.text
    token = r.json()
    assert token["token_type"] == "bearer" and token["expires_in"] == settings.token_minutes * 60
    me = await api.client.get("/me", headers=bearer(token["access_token"]))
    assert me.status_code == 200 and me.json()["username"] == username


async def test_a_wrong_password_is_401_problem(api: Api, settings: Settings) -> None:
    username, _ = await make_user(settings)
    r = await login(api, username, "not-the-password")
    body = assert_problem(r, 401, "invalid_credentials")
    assert "access_token" not in body


async def test_an_unknown_user_gets_the_same_answer_as_a_wrong_password(api: Api, settings: Settings) -> None:
    username, _ = await make_user(settings)
    wrong = assert_problem(await login(api, username, "nope"), 401, "invalid_credentials")
    unknown = assert_problem(await login(api, "nobody-here", "nope"), 401, "invalid_credentials")
    assert wrong == unknown


@pytest.mark.parametrize("username", ["a\x00b", "x" * 65, "tab\tname", ""])
async def test_a_hostile_username_is_just_wrong(api: Api, username: str) -> None:
    r = await login(api, username, "demo")
    assert r.status_code in (401, 422), r.text
    assert_problem(r, r.status_code)


async def test_repeated_failures_lock_the_account_for_a_while(api: Api, settings: Settings) -> None:
    username, password = await make_user(settings)
    for _ in range(MAX_FAILURES):
        assert_problem(await login(api, username, "guess"), 401, "invalid_credentials")
    locked = await login(api, username, password)
    assert_problem(locked, 429, "account_locked")
    retry_after = int(locked.headers["retry-after"])
    assert 0 < retry_after <= LOCK_MINUTES * 60
    row = await user_row(settings, username)
    assert row.locked_until is not None and row.locked_until > datetime.now(UTC) + timedelta(minutes=LOCK_MINUTES - 1)
    # Other accounts are not affected.
    assert (await login(api, "office-1", "demo")).status_code == 200
    # Once the lock has run out the right password works again and the count starts over.
    await set_user(settings, username, locked_until=datetime.now(UTC) - timedelta(seconds=1))
    assert (await login(api, username, password)).status_code == 200
    assert (await user_row(settings, username)).failed_logins == 0


async def test_a_success_before_the_limit_starts_the_count_over(api: Api, settings: Settings) -> None:
    username, password = await make_user(settings)
    for _ in range(MAX_FAILURES - 1):
        assert (await login(api, username, "guess")).status_code == 401
    assert (await login(api, username, password)).status_code == 200
    assert (await login(api, username, "guess")).status_code == 401
    assert (await login(api, username, password)).status_code == 200


async def test_concurrent_guesses_cannot_dodge_the_lock(api: Api, settings: Settings) -> None:
    """Failures counted with read-then-write would lose counts when guesses arrive together."""
    username, password = await make_user(settings)
    answers = await asyncio.gather(*(login(api, username, f"guess-{i}") for i in range(3 * MAX_FAILURES)))
    assert {a.status_code for a in answers} <= {401, 429}
    assert_problem(await login(api, username, password), 429, "account_locked")


async def test_an_inactive_user_cannot_log_in(api: Api, settings: Settings) -> None:
    username, password = await make_user(settings, active=False)
    assert_problem(await login(api, username, password), 401, "invalid_credentials")


@pytest.mark.parametrize("change", [{"active": False}, {"password": "a-new-password-1"}])
async def test_a_reset_or_deactivation_through_the_api_ends_tokens_at_once(
    api: Api, settings: Settings, change: dict[str, object]
) -> None:
    username, password = await make_user(settings, "office")
    token = (await login(api, username, password)).json()["access_token"]
    assert (await api.client.get("/me", headers=bearer(token))).status_code == 200  # now cached
    r = await api.call("PATCH", f"/users/{username}", "office-1", json=change)
    assert r.status_code == 200, r.text
    assert_problem(await api.client.get("/me", headers=bearer(token)), 401, "invalid_token")


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_deactivation_made_elsewhere_ends_tokens_within_the_cache_bound(settings: Settings) -> None:
    """Another API instance (or the database itself) deactivates: this one notices within TTL_SECONDS."""
    app = create_app(settings)
    async for api in open_api(app):
        clock = Clock()
        app.state.services.callers.clock = clock
        username, password = await make_user(settings, "office")
        token = (await login(api, username, password)).json()["access_token"]
        assert (await api.client.get("/me", headers=bearer(token))).status_code == 200
        await set_user(settings, username, active=False)
        clock.now += TTL_SECONDS - 0.5
        assert (await api.client.get("/me", headers=bearer(token))).status_code == 200  # the documented bound
        clock.now += 0.5
        assert_problem(await api.client.get("/me", headers=bearer(token)), 401, "invalid_token")


async def test_changing_ones_notices_keeps_a_reset_made_meanwhile(api: Api, settings: Settings) -> None:
    """The caller's row is a cached copy: PATCH /me/notifications must not write its stale password back."""
    username, password = await make_user(settings, "office")
    token = (await login(api, username, password)).json()["access_token"]
    assert (await api.client.get("/me", headers=bearer(token))).status_code == 200
    await set_user(settings, username, password_hash="reset-elsewhere")
    r = await api.client.patch("/me/notifications", json={"language": "en"}, headers=bearer(token))
    assert r.status_code == 200, r.text
    row = await user_row(settings, username)
    assert (row.password_hash, row.language) == ("reset-elsewhere", "en")


@pytest.mark.parametrize("kind", ["expired", "forged", "unsigned", "garbage", "empty"])
async def test_a_token_that_is_not_valid_is_401(api: Api, settings: Settings, kind: str) -> None:
    token = {
        "expired": expired_token(settings, "office-1"),
        "forged": forged_token("office-1"),
        "unsigned": unsigned_token("office-1"),
        "garbage": "not.a.jwt",
        "empty": "",
    }[kind]
    r = await api.client.get("/projects", headers={"Authorization": f"Bearer {token}"})
    assert_problem(r, 401)


async def test_a_token_that_worked_is_refused_once_it_expires(api: Api, settings: Settings) -> None:
    from api.security import issue_token

    # Valid for about two more seconds (`exp` is a whole second), used, then used again after it.
    token = issue_token("office-1", settings.secret_key, 1, now=datetime.now(UTC) - timedelta(seconds=58))
    expires = int((datetime.now(UTC) + timedelta(seconds=2)).timestamp())
    r = await api.client.get("/me", headers=bearer(token))
    assert r.status_code == 200, r.text

    async def expired() -> None:
        assert datetime.now(UTC).timestamp() >= expires + 0.01

    await eventually(expired, within=5)
    assert_problem(await api.client.get("/me", headers=bearer(token)), 401, "invalid_token")


@pytest.mark.parametrize("header", ["Basic b2ZmaWNlLTE6ZGVtbw==", "office-1", "Bearer"])
async def test_an_authorization_header_without_a_bearer_token_is_401(api: Api, header: str) -> None:
    assert_problem(await api.client.get("/me", headers={"Authorization": header}), 401, "not_authenticated")


async def test_a_token_for_a_user_that_does_not_exist_is_401(api: Api, settings: Settings) -> None:
    from api.security import issue_token

    token = issue_token("ghost-user", settings.secret_key, 5)
    assert_problem(await api.client.get("/me", headers=bearer(token)), 401, "invalid_token")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("APPROVALS_SECRET_KEY", "APPROVALS_SEED_DEMO", "APPROVALS_ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("clean_env")
async def test_production_refuses_the_default_secret_and_demo_seeding() -> None:
    strong = "s" * 48
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(environment="production")
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(environment="production", secret_key=DEFAULT_SECRET, seed_demo=False)
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(environment="production", secret_key="short-secret", seed_demo=False)
    with pytest.raises(ValidationError, match="demo seeding"):
        Settings(environment="production", secret_key=strong, seed_demo=True)
    ok = Settings(environment="production", secret_key=strong, seed_demo=False)
    assert ok.secret_key == strong and not ok.seed_demo
