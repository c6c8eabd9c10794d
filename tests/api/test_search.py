"""`q` finds a project by any piece of its name or its code, whatever the case typed."""

from __future__ import annotations

import uuid

import pytest

from tests.chain import create
from tests.conftest import Api

pytestmark = pytest.mark.asyncio(loop_scope="session")

# Codes are issued in serial order and a check character X never lies more than 37 serials from
# the next (MOD 11-2 over the serial's digits), so this many new projects hold one.
MOST_CREATIONS_TO_AN_X = 38


async def found(api: Api, q: str) -> list[str]:
    r = await api.get("/projects", "office-1", params={"q": q, "limit": 200})
    assert r.status_code == 200, r.text
    return [item["code"] for item in r.json()["items"]]


async def test_q_finds_a_project_by_a_piece_of_its_name_in_any_case(api: Api) -> None:
    tag = uuid.uuid4().hex[:8]
    code = (await create(api, name=f"Zhangjiang 数据中心 {tag}"))["code"]
    assert await found(api, f"JIANG 数据中心 {tag.upper()}") == [code]
    assert await found(api, f"zhangjiang 数据中心 {tag}") == [code]
    assert await found(api, f"数据中心 {tag}x") == []  # a control: a piece the name does not hold


async def test_q_finds_a_project_by_a_piece_of_its_code_in_any_case(api: Api) -> None:
    codes: list[str] = []
    while not codes or not codes[-1].endswith("X"):
        assert len(codes) < MOST_CREATIONS_TO_AN_X, codes
        codes.append((await create(api, name=f"code search {uuid.uuid4().hex[:8]}"))["code"])
    code = codes[-1]
    assert await found(api, code[5:]) == [code]  # from the region on, past the head people type
    assert await found(api, code[-8:].lower()) == [code]  # the serial and its check character x
    assert await found(api, code.lower()) == [code]
