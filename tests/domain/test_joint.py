"""Joint acceptance (联合验收): the survey first, then every inspection at once; the certificate
only when every inspection of the section passed; sections independent of each other."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from domain.clock import Span
from domain.project import Project
from tests.domain import support
from tests.domain.support import GENERAL_INSPECTIONS, T0, at, decide, new_project, pass_steps, statuses, submit

ALL_PENDING = dict.fromkeys(GENERAL_INSPECTIONS, "pending")


def survey_awaiting(project: Project) -> None:
    pass


def survey_in_review(project: Project) -> None:
    submit(project, "survey", at(1))


def survey_returned(project: Project) -> None:
    submit(project, "survey", at(1))
    decide(project, "survey", at(2), "return", "the drawings are unsigned")


def survey_rejected(project: Project) -> None:
    submit(project, "survey", at(1))
    decide(project, "survey", at(2), "reject", "wrong building")


@pytest.mark.parametrize(
    "survey",
    [
        pytest.param(survey_awaiting, id="survey-awaiting-submission"),
        pytest.param(survey_in_review, id="survey-in-review"),
        pytest.param(survey_returned, id="survey-returned"),
        pytest.param(survey_rejected, id="survey-rejected"),
    ],
)
def test_inspections_stay_pending_until_the_survey_is_approved(survey: Callable[[Project], None]) -> None:
    project = support.at_acceptance()
    survey(project)
    assert statuses(project, GENERAL_INSPECTIONS) == ALL_PENDING


def test_the_survey_awaits_a_submission_like_any_step() -> None:
    assert support.at_acceptance().step("survey").status == "awaiting_submission"


def test_once_the_survey_is_approved_every_inspection_opens_in_review_with_a_running_clock() -> None:
    project = support.at_acceptance()
    submit(project, "survey", at(1))
    since = support.mark(project)
    decide(project, "survey", at(3))
    assert support.actions(project, since) == ["approved", *["step_opened"] * 5]
    support.time_clocks(project, at(3))
    for key in GENERAL_INSPECTIONS:
        step = project.step(key)
        assert (step.status, step.attempt, step.opened_at) == ("in_review", 1, at(3)), key
        assert step.clock.spans == [Span(start=at(3))], key
        assert step.clock.deadline == at(8), key  # 5 working days
    assert project.step("completion_filing").status == "pending"


def test_a_failed_inspection_goes_back_to_the_owner_and_returns_to_review_on_resubmission() -> None:
    project = support.inspecting()  # inspections in review since T0
    decide(project, "fire_inspection", at(1))
    decide(project, "planning_check", at(2), "return", "the setback is short")
    assert project.pending_events[-1].action == "inspection_failed"
    assert statuses(project, GENERAL_INSPECTIONS) == {
        "planning_check": "returned",
        "fire_inspection": "approved",
        "cad_inspection": "in_review",
        "archives_inspection": "in_review",
        "quality_inspection": "in_review",
    }
    submit(project, "planning_check", at(4), note="setback corrected")
    step = project.step("planning_check")
    assert (step.status, step.attempt) == ("in_review", 1)
    assert step.clock.spans == [Span(start=T0, end=at(2)), Span(start=at(4))]
    assert project.step("fire_inspection").status == "approved"  # a passed inspection stays passed


@pytest.mark.parametrize("last", GENERAL_INSPECTIONS)
def test_the_certificate_is_issued_only_when_the_last_inspection_passes(last: str) -> None:
    project = support.inspecting()
    for key in GENERAL_INSPECTIONS:
        if key != last:
            decide(project, key, at(1))
    assert "joint_acceptance_certificate" not in support.actions(project)
    assert project.sections[0].accepted_at is None
    assert project.step("completion_filing").status == "pending"
    since = support.mark(project)
    decide(project, last, at(2))
    assert support.actions(project, since) == ["approved", "step_opened", "joint_acceptance_certificate"]
    assert project.pending_events[since + 2].detail == {"section": None}
    assert project.sections[0].accepted_at == at(2)
    assert project.step("completion_filing").status == "awaiting_submission"


def test_a_failed_inspection_holds_the_certificate_until_it_passes() -> None:
    project = support.inspecting()
    decide(project, "cad_inspection", at(1), "return", "the shelter door is missing")
    for key in GENERAL_INSPECTIONS:
        if key != "cad_inspection":
            decide(project, key, at(1))
    assert project.sections[0].accepted_at is None
    submit(project, "cad_inspection", at(2))
    decide(project, "cad_inspection", at(3))
    assert project.sections[0].accepted_at == at(3)


def test_without_declared_sections_the_whole_project_is_one_section() -> None:
    project = support.inspecting()
    assert [(s.id, s.name, s.accepted_at) for s in project.sections] == [("", "whole project", None)]


# --- sections ----------------------------------------------------------------------------------

SECTIONS = ["north block", "south block"]


def section_keys(section: str) -> list[str]:
    return [f"{key}.{section}" for key in GENERAL_INSPECTIONS]


def test_each_section_has_its_own_survey_and_inspections() -> None:
    project = new_project(sections=SECTIONS)
    joint = [(s.key, s.section) for s in project.steps if s.mode == "joint"]
    assert joint == [
        ("survey.s1", "s1"),
        ("survey.s2", "s2"),
        ("planning_check.s1", "s1"),
        ("planning_check.s2", "s2"),
        ("fire_inspection.s1", "s1"),
        ("fire_inspection.s2", "s2"),
        ("cad_inspection.s1", "s1"),
        ("cad_inspection.s2", "s2"),
        ("archives_inspection.s1", "s1"),
        ("archives_inspection.s2", "s2"),
        ("quality_inspection.s1", "s1"),
        ("quality_inspection.s2", "s2"),
    ]
    assert [(s.id, s.name) for s in project.sections] == [("s1", "north block"), ("s2", "south block")]
    assert project.step("survey.s1").name == "多测合一竣工测量 Consolidated completion survey · north block"


def test_both_surveys_open_together_and_each_opens_only_its_own_inspections() -> None:
    project = support.at_acceptance(SECTIONS)
    assert statuses(project, ["survey.s1", "survey.s2"]) == {
        "survey.s1": "awaiting_submission",
        "survey.s2": "awaiting_submission",
    }
    pass_steps(project, ["survey.s2"], at(1))
    assert set(statuses(project, section_keys("s2")).values()) == {"in_review"}
    assert set(statuses(project, section_keys("s1")).values()) == {"pending"}


def test_a_section_is_accepted_on_its_own_and_completion_filing_waits_for_every_section() -> None:
    project = support.at_acceptance(SECTIONS)
    pass_steps(project, ["survey.s1", *section_keys("s1")], at(1))
    assert [s.accepted_at for s in project.sections] == [at(1), None]
    certificates = [e.detail for e in project.pending_events if e.action == "joint_acceptance_certificate"]
    assert certificates == [{"section": "s1"}]
    assert (project.step("completion_filing").status, project.status) == ("pending", "active")

    pass_steps(project, ["survey.s2", *section_keys("s2")], at(2))
    assert [s.accepted_at for s in project.sections] == [at(1), at(2)]
    assert project.step("completion_filing").status == "awaiting_submission"

    pass_steps(project, ["completion_filing"], at(3))
    assert (project.status, project.ended_at) == ("completed", at(3))


@pytest.mark.parametrize("last", section_keys("s2"))
def test_the_second_section_waits_for_its_own_last_inspection(last: str) -> None:
    project = support.at_acceptance(SECTIONS)
    pass_steps(project, ["survey.s1", *section_keys("s1"), "survey.s2"], at(1))
    pass_steps(project, [k for k in section_keys("s2") if k != last], at(2))
    assert project.sections[1].accepted_at is None
    assert project.step("completion_filing").status == "pending"
    decide(project, last, at(3))
    assert project.sections[1].accepted_at == at(3)
