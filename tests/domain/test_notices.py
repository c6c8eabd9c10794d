"""Who is told what (domain/notices.py): each change, and the notices its events give, by kind and audience."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from domain.notice_texts import headline, sentence
from domain.notices import Audience, Digest, DigestItem, notices
from domain.project import Action, Project, ladder, ratings, steps
from tests.domain import support
from tests.domain.support import AGENT, DRC, NRP, ORG, OWNER, P1, R1, T0, at

OWNERS = Audience(role="owner", organisation=ORG)
DEPUTY = Audience(role="agent", username=AGENT.username)
OFFICE = Audience(role="office")
LEADERS = Audience(role="leader")


def reviewers(department: str) -> Audience:
    return Audience(role="reviewer", department=department)


def chief(stage: str) -> Audience:
    return Audience(role="section_chief", stage=stage)


Change = Callable[[Project], None]
Expected = list[tuple[str, str | None, list[Audience]]]


def acting(action: Action, hours: float = 3) -> Change:
    def change(project: Project) -> None:
        project.act(action, at(hours))

    return change


def waking(moment: Callable[[Project], object]) -> Change:
    """The project woken by its timer at an instant read from the project itself."""
    return lambda project: support.wake(project, moment(project))  # type: ignore[arg-type]


def _deadline(project: Project) -> object:
    return project.step("project_approval").clock.deadline


def _warning(project: Project) -> object:
    return project.step("project_approval").clock.warn_at


def _problem_limit(project: Project) -> object:
    return project.problems[0].clock.deadline


def _survey_approved(project: Project) -> None:
    support.pass_steps(project, ["survey"], at(1))


def _last_step_approved(project: Project) -> None:
    support.pass_steps(project, ["roof_safety"], at(1))


def _statutory_reviewing() -> Project:
    """project_approval in review since T0, timed, on a project that records its steps' lights."""
    project = support.new_project(counting="statutory")
    support.submit(project, PA, T0)
    return support.timed(project)


def _statutory_granted() -> Project:
    """The same with land_prereview granted on a written commitment at T0."""
    project = _statutory_reviewing()
    support.submit(project, "land_prereview", T0, commitment=True)
    return project


def _key_project() -> Project:
    return support.new_project(key_project=True)


def _photovoltaic_half_done() -> Project:
    project = support.new_project("photovoltaic")
    support.pass_steps(project, ["filing"], T0)
    return project


PA = "project_approval"
INSPECTIONS = support.GENERAL_INSPECTIONS
CASES = [
    pytest.param(
        support.fresh,
        acting(steps.Submit(actor=OWNER, step=PA)),
        [("submitted", PA, [reviewers("drc")])],
        id="submission-tells-the-department",
    ),
    pytest.param(
        support.returned,
        acting(steps.Submit(actor=AGENT, step=PA)),
        [("resubmitted", PA, [reviewers("drc")])],
        id="resubmission-tells-the-department",
    ),
    pytest.param(
        support.fresh,
        acting(steps.Submit(actor=OWNER, step="land_prereview", commitment=True)),
        [("verification_due", "land_prereview", [reviewers("nrp")])],
        id="granted-commitment-awaits-verification",
    ),
    pytest.param(
        support.at_acceptance,
        _survey_approved,
        [("submitted", "survey", [reviewers("survey")])]
        + [
            ("inspection_opened", key, [reviewers(dept)])
            for key, dept in zip(INSPECTIONS, ("nrp", "fire", "cad", "archives", "housing"), strict=True)
        ],
        id="inspections-opened-tell-their-departments",
    ),
    pytest.param(
        support.reviewing,
        acting(steps.Decide(actor=DRC, step=PA, outcome="return", comment="site plan missing")),
        [("returned", PA, [OWNERS, DEPUTY])],
        id="return-tells-owner-and-deputy",
    ),
    pytest.param(
        support.reviewing,
        acting(steps.Decide(actor=DRC, step=PA, outcome="reject", comment="not in the plan")),
        [("rejected", PA, [OWNERS, DEPUTY])],
        id="rejection-tells-owner-and-deputy",
    ),
    pytest.param(
        support.inspecting,
        acting(steps.Decide(actor=NRP, step="planning_check", outcome="return", comment="setback")),
        [("inspection_failed", "planning_check", [OWNERS, DEPUTY])],
        id="failed-inspection-tells-owner-and-deputy",
    ),
    pytest.param(
        _statutory_granted,
        acting(steps.Verify(actor=NRP, step="land_prereview", outcome="fail", comment="wrong plot")),
        [
            ("revoked", "land_prereview", [OWNERS, DEPUTY]),
            # The revocation's problem starts at level 2; its red light is told as the revocation.
            ("problem_raised", "land_prereview", [chief("initiation")]),
        ],
        id="revocation-tells-owner-and-deputy-and-its-problem-the-chief",
    ),
    pytest.param(
        _statutory_reviewing,
        waking(_warning),
        [("step_yellow", PA, [DEPUTY, reviewers("drc")])],
        id="yellow-tells-deputy-and-department",
    ),
    pytest.param(
        _statutory_reviewing,
        waking(_deadline),
        [
            ("overdue", PA, [DEPUTY, reviewers("drc"), chief("initiation")]),
            ("problem_raised", PA, [DEPUTY]),
        ],
        id="overdue-tells-deputy-department-and-chief-once",
    ),
    pytest.param(
        support.fresh,
        acting(ladder.OpenProblem(actor=OWNER, summary="road permit stuck", step=PA)),
        [("problem_raised", PA, [DEPUTY])],
        id="problem-at-level-1-tells-the-deputy",
    ),
    pytest.param(
        _key_project,
        acting(ladder.OpenProblem(actor=OWNER, summary="road permit stuck")),
        [("problem_raised", None, [chief("initiation")])],
        id="key-project-problem-starts-with-the-chief",
    ),
    pytest.param(
        lambda: support.timed(support.problem_at(1)()),
        waking(_problem_limit),
        [("problem_escalated", PA, [chief("initiation")])],
        id="climb-to-level-2-tells-the-chief",
    ),
    pytest.param(
        support.problem_at(2),
        acting(ladder.RaiseProblem(actor=support.chief("initiation"), problem_id=P1, reason="needs the office")),
        [("problem_escalated", PA, [OFFICE])],
        id="raise-to-level-3-tells-the-office",
    ),
    pytest.param(
        support.problem_at(3),
        acting(ladder.RaiseProblem(actor=support.OFFICE, problem_id=P1, reason="needs a leader")),
        [("problem_escalated", PA, [LEADERS])],
        id="raise-to-level-4-tells-the-leaders",
    ),
    pytest.param(
        lambda: support.timed(support.problem_at(4)()),
        waking(_problem_limit),
        [("problem_reminder", PA, [LEADERS])],
        id="level-4-reminder-tells-the-leaders",
    ),
    pytest.param(
        support.approved,
        acting(ratings.Rate(actor=OWNER, step=PA, score=2, comment="slow")),
        [("bad_rating", PA, [reviewers("drc")])],
        id="bad-rating-tells-the-department",
    ),
    pytest.param(
        support.approved,
        acting(ratings.Rate(actor=OWNER, step=PA, score=4)),
        [],
        id="good-rating-tells-no-one",
    ),
    pytest.param(
        support.rated_badly,
        acting(ratings.AnswerRectification(actor=DRC, rectification_id=R1, answer="one visit from now on")),
        [("rectification_answered", PA, [OWNERS])],
        id="answered-rectification-tells-the-owner",
    ),
    pytest.param(
        _photovoltaic_half_done,
        _last_step_approved,
        [("submitted", "roof_safety", [reviewers("housing")]), ("completed", None, [OWNERS, DEPUTY])],
        id="completion-tells-owner-and-deputy",
    ),
    pytest.param(
        support.reviewing,
        acting(steps.Decide(actor=DRC, step=PA, outcome="approve")),
        [],
        id="approval-tells-no-one",
    ),
]


@pytest.mark.parametrize(("situation", "change", "expected"), CASES)
def test_each_change_tells_the_right_people(
    situation: Callable[[], Project], change: Change, expected: Expected
) -> None:
    project = situation()
    since = support.mark(project)
    change(project)
    told = notices(project, project.pending_events[since:])
    assert [(n.kind, n.step, n.audiences) for n in told] == expected
    events = {e.seq: e for e in project.pending_events[since:]}
    assert all(n.seq in events and n.actor == events[n.seq].actor for n in told)


def test_the_light_events_record_each_change_of_a_steps_colour() -> None:
    project = _statutory_reviewing()
    warning, deadline = project.step(PA).clock.warn_at, project.step(PA).clock.deadline
    assert warning is not None and deadline is not None
    since = support.mark(project)
    support.wake(project, warning)
    support.wake(project, deadline)
    support.decide(project, PA, deadline)
    lights = [(e.at, e.detail) for e in project.pending_events[since:] if e.action == "step_colour_changed"]
    assert lights == [
        (warning, {"from": "green", "to": "yellow"}),
        (deadline, {"from": "yellow", "to": "red"}),
        (deadline, {"from": "red", "to": "green"}),  # approved: the department holds it no more
    ]


def test_projects_started_before_statutory_counting_record_no_lights() -> None:
    """They publish the old way, whose replay would see an event more (domain/project/timing.py)."""
    project = support.timed(support.reviewing())
    assert project.counting == "continuous"
    warning = project.step(PA).clock.warn_at
    assert warning is not None
    support.wake(project, warning)
    assert project.step(PA).colour == "yellow"
    assert "step_colour_changed" not in support.actions(project)


def test_an_audience_includes_the_users_its_binding_names() -> None:
    assert reviewers("drc").includes(DRC) and not reviewers("drc").includes(NRP)
    assert OWNERS.includes(OWNER) and not OWNERS.includes(support.OTHER_OWNER)
    assert DEPUTY.includes(AGENT) and not DEPUTY.includes(support.OTHER_AGENT)
    assert chief("initiation").includes(support.chief("initiation"))
    assert not chief("initiation").includes(support.chief("acceptance"))
    assert LEADERS.includes(support.LEADER) and not LEADERS.includes(support.OFFICE)


def test_the_texts_name_the_project_the_step_and_the_department_in_both_languages() -> None:
    project = support.reviewing()
    support.decide(project, PA, at(1), "return", "the site plan\nis missing")
    [told] = notices(project, project.pending_events[-1:])
    zh, en = (sentence(told.kind, told.params, lang) for lang in ("zh-CN", "en"))
    step = project.step(PA)
    assert zh == f"项目「Riverside plant」：{step.name_zh}被发展和改革委员会退回补正。理由：the site plan is missing"
    assert en == (
        f"Project “Riverside plant”: {step.name_en} was returned for correction by Development and Reform. "
        "Reason: the site plan is missing"
    )
    assert headline(told.kind, told.params, "zh-CN") == "【项目审批】被退回补正：Riverside plant"
    assert headline(told.kind, told.params, "en") == "[Approvals] Returned for correction: Riverside plant"


def test_the_digest_lists_red_projects_and_high_problems() -> None:
    digest = Digest(
        day=date(2026, 5, 11),
        red=[DigestItem(code="C1", name="Riverside plant")],
        problems=[DigestItem(code="C2", name="Harbour road", problem="C2-P1", level=4, summary="land dispute")],
    )
    notice = digest.notice(at(0))
    assert (notice.kind, notice.audiences) == ("digest", [OFFICE, LEADERS])
    assert sentence("digest", notice.params, "zh-CN").splitlines() == [
        "2026-05-11 每日简报：红灯项目 1 个，第三、四级协调问题 1 个。",
        "· 红灯：Riverside plant（C1）",
        "· 第4级问题 C2-P1：Harbour road，land dispute",
    ]
    assert sentence("digest", notice.params, "en").splitlines()[0] == (
        "Daily digest for 2026-05-11: 1 red project(s), 1 coordination problem(s) at level 3 or 4."
    )
    assert Digest(day=date(2026, 5, 11), red=[], problems=[]).empty
