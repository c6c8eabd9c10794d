"""Demo projects in the states worth looking at, made through the JSON API as their people would.

The browser tests scan every page on them and `make screenshots` photographs them, so both see
the same green, yellow and red projects, a returned step, an open problem and a bad rating.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.client import expect, login, new_http
from models.seed import DEMO_USERS

DEPUTY = "agent-1"  # the demo's deputy: projects whose deputy the pages show are given to this one
FIRST_STEP = "project_approval"  # department drc, stage initiation
NAMES = {
    "in_review": "临港新片区智能制造产业园一期",
    "returned": "张江科学城研发中心扩建",
    "problem": "浦东新区社区养老服务综合体",
    "red": "滨江公共绿地及配套停车库",
    "rectification": "金桥物流仓储中心改造",
}


@dataclass(frozen=True)
class Demo:
    """Codes of the demo projects, all owner-a's, all with DEPUTY as deputy."""

    in_review: str  # green: the first application is in review at drc
    returned: str  # the first application was returned for correction, with the reason
    problem: str  # yellow: an open level-1 problem, held by the deputy
    red: str  # red: a problem raised to level 3 (the office)
    rectification: str  # the owner rated the first step badly: drc must answer


class Office:
    """The JSON API as the demo users call it (one token each)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = new_http(base_url, connections=4)
        self.tokens: dict[str, str] = {}

    async def __aenter__(self) -> Office:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    async def call(self, user: str, method: str, path: str, body: Any = None, status: int = 200) -> dict[str, Any]:
        if user not in self.tokens:
            self.tokens |= await login(self.base_url, [user])
        headers = {"Authorization": f"Bearer {self.tokens[user]}"}
        r = await self.http.request(method, path, json=body, headers=headers)
        return expect(r, status, f"{method} {path} as {user}")

    async def create(self, name: str, deputy: str | None = DEPUTY, owner: str = "owner-a") -> dict[str, Any]:
        """A `general` project of `owner`'s organisation; with `deputy`, created until it is that deputy's.

        The service gives each new project to the least-loaded deputy, so a few tries always reach one.
        """
        organisation = next(u["organisation"] for u in DEMO_USERS if u["username"] == owner)
        body = {"name": name, "category": "general", "owner_credit_code": organisation, "investment_wan": 3600.0}
        for _ in range(10):
            project = await self.call(owner, "POST", "/projects", body, status=201)
            if deputy is None or project["agent"] == deputy:
                return project
        raise RuntimeError(f"no new project went to {deputy} in 10 tries")

    async def step(self, user: str, code: str, step: str, verb: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST /projects/{code}/steps/{step}/{verb}: submit, decision, verification or rating."""
        return await self.call(user, "POST", f"/projects/{code}/steps/{step}/{verb}", body)

    async def problem(self, user: str, code: str, summary: str) -> str:
        """Raise a problem on the project's first step; its id."""
        body = {"summary": summary, "step": FIRST_STEP}
        created: str = (await self.call(user, "POST", f"/projects/{code}/problems", body, status=201))["created_id"]
        return created

    async def climb(self, user: str, problem_id: str, reason: str) -> None:
        await self.call(user, "POST", f"/problems/{problem_id}/raise", {"reason": reason})


async def make_demo(base_url: str) -> Demo:
    """Create the demo projects on the stack at `base_url` (demo users seeded, password `demo`)."""
    async with Office(base_url) as office:
        return await demo_projects(office)


async def demo_projects(office: Office) -> Demo:
    codes = {key: (await office.create(name))["code"] for key, name in NAMES.items()}
    for key in ("in_review", "returned", "rectification"):
        await office.step("owner-a", codes[key], FIRST_STEP, "submit", {"note": "项目建议书、可行性研究报告已上传"})
    returned = {"outcome": "return", "comment": "请补充项目建议书批复文件及资金来源证明"}
    await office.step("reviewer-drc", codes["returned"], FIRST_STEP, "decision", returned)
    await office.step("reviewer-drc", codes["rectification"], FIRST_STEP, "decision", {"outcome": "approve"})
    rating = {"score": 2, "comment": "审批时限内多次要求补充同一份材料"}
    await office.step("owner-a", codes["rectification"], FIRST_STEP, "rating", rating)
    await office.problem("owner-a", codes["problem"], "用地红线与规划条件不一致，需要规划资源局协调")
    escalated = await office.problem("owner-a", codes["red"], "施工图审查意见与消防设计要求冲突，两部门意见不一")
    await office.climb(DEPUTY, escalated, "两部门协调会未能达成一致")
    await office.climb("chief-initiation", escalated, "需政务办牵头组织联合会商")
    return Demo(**codes)
