"""Logs: no password or access token ever reaches them; every action names its project and actor.

All log output (structlog and the standard library, which configure_logging routes through
structlog) is captured as the service writes it in production: JSON lines, one handler on the
root logger, here writing to a StringIO instead of stderr.
"""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from api.security import issue_token
from logs import configure_logging
from models.seed import ORG_A
from settings import Settings
from tests.api.support import make_user, project_for
from tests.conftest import Api

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
def captured(settings: Settings) -> Iterator[io.StringIO]:
    """Everything logged during the test, as the production JSON lines."""
    buffer = io.StringIO()
    configure_logging(json=True, level="DEBUG")
    root = logging.getLogger()
    assert len(root.handlers) == 1
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    try:
        yield buffer
    finally:
        configure_logging(settings.log_json, settings.log_level)


def lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    parsed = []
    for line in buffer.getvalue().splitlines():
        if line.strip():
            parsed.append(json.loads(line))
    return parsed


async def test_logins_and_decisions_leak_no_secret_and_name_project_and_actor(
    api: Api, settings: Settings, captured: io.StringIO
) -> None:
    secret_password = f"S3cret-{uuid.uuid4().hex}"
    username, _ = await make_user(settings, "owner", password=secret_password, organisation=ORG_A)
    wrong_password = f"Wr0ng-{uuid.uuid4().hex}"
    typed_in_username = f"Typed-{uuid.uuid4().hex}"
    issued: list[str] = []

    async def login(user: str, password: str) -> int:
        r = await api.client.post("/auth/token", data={"username": user, "password": password})
        if r.status_code == 200:
            issued.append(r.json()["access_token"])
        return r.status_code

    assert await login(username, secret_password) == 200
    assert await login(username, wrong_password) == 401
    assert await login(typed_in_username, secret_password) == 401  # the password typed as a username
    for user in ("owner-a", "reviewer-drc", "office-1"):
        assert await login(user, "demo") == 200
    assert await login("owner-a", "demo-but-wrong") == 401

    project = await project_for(api, "agent-1")
    code = project["code"]
    owner = {"Authorization": f"Bearer {issued[1]}"}
    reviewer = {"Authorization": f"Bearer {issued[2]}"}
    r = await api.client.post(f"/projects/{code}/steps/project_approval/submit", json={"note": "docs"}, headers=owner)
    assert r.status_code == 200, r.text
    r = await api.client.post(
        f"/projects/{code}/steps/project_approval/decision",
        json={"outcome": "return", "comment": "missing page"},
        headers=reviewer,
    )
    assert r.status_code == 200, r.text
    # Refused calls, with tokens that do not work.
    bogus = issue_token("office-1", "another-secret-" + "y" * 30, 5)
    assert (await api.client.get("/me", headers={"Authorization": f"Bearer {bogus}"})).status_code == 401
    assert (await api.client.get(f"/projects/{code}", headers=owner)).status_code == 200

    text = captured.getvalue()
    assert text, "nothing was logged"
    for secret in (secret_password, wrong_password, typed_in_username, "demo-but-wrong", bogus, *issued):
        assert secret not in text
    for token in api.tokens.values():
        assert token not in text
    events = lines(captured)
    assert all('"demo"' not in json.dumps(e) for e in events)

    def action(actor: str, name: str) -> dict[str, Any]:
        found = [e for e in events if e.get("event") == "project_action" and e.get("actor") == actor]
        found = [e for e in found if e.get("action") == name and e.get("project_code") == code]
        assert found, f"no project_action {name} by {actor} for {code} in {[e.get('event') for e in events]}"
        return found[-1]

    for line in (action("owner-a", "submit"), action("reviewer-drc", "decide")):
        assert line["workflow_id"] == code
        assert line["level"] == "info" and line["timestamp"]
    created = [e for e in events if e.get("event") == "project_created" and e.get("project_code") == code]
    assert created and created[0]["workflow_id"] == code and created[0]["actor"] == "owner-a"
    assert any(e.get("event") == "login" and e.get("actor") == username for e in events)


async def test_a_logged_traceback_shows_no_local_secret_and_no_token(settings: Settings) -> None:
    """Exceptions are logged as plain tracebacks: no local variables, tokens scrubbed even from messages."""
    buffer = io.StringIO()
    token = issue_token("office-1", settings.secret_key, 5)
    try:
        for json_lines in (True, False):
            configure_logging(json=json_lines, level="INFO")
            handler = logging.getLogger().handlers[0]
            assert isinstance(handler, logging.StreamHandler)
            handler.setStream(buffer)
            password = f"local-{uuid.uuid4().hex}"  # a local of the failing frame
            try:
                raise RuntimeError(f"failed with Authorization: Bearer {token} and {token}")
            except RuntimeError:
                structlog.get_logger("approvals.test").exception("boom", headers={"authorization": token})
                logging.getLogger("approvals.stdlib").exception("stdlib boom %s", token)
            text = buffer.getvalue()
            assert "boom" in text and "RuntimeError" in text, text
            assert password not in text
            assert token not in text
            assert token.split(".")[1] not in text  # not even the claims part
    finally:
        configure_logging(settings.log_json, settings.log_level)


async def test_secret_keys_are_redacted_at_any_depth(settings: Settings) -> None:
    buffer = io.StringIO()
    try:
        configure_logging(json=True, level="INFO")
        handler = logging.getLogger().handlers[0]
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(buffer)
        structlog.get_logger("approvals.test").info(
            "request", form={"username": "owner-a", "password": "pw-nested-1"}, items=[{"secret_key": "sk-2"}]
        )
        line = json.loads(buffer.getvalue().splitlines()[-1])
        assert line["form"] == {"username": "owner-a", "password": "[redacted]"}
        assert line["items"] == [{"secret_key": "[redacted]"}]
    finally:
        configure_logging(settings.log_json, settings.log_level)
