"""The shipped catalog (domain/catalog.json): loads, and keeps the shapes the workflow relies on."""

from __future__ import annotations

import re
from functools import cache

import pytest

from domain.catalog import DEPARTMENTS, STAGE_ORDER, CategorySpec, Stage, StepSpec, default_catalog

CATALOG = default_catalog()
REQUIRED = [
    "general",
    "low_risk",
    "photovoltaic",
    "ev_charging",
    "expansion",
    "decoration",
    "tech_renovation",
    "energy_storage",
]
ALL_STEPS = [(c, s) for c in CATALOG.categories for s in c.steps]
JOINT_CATEGORIES = [c for c in CATALOG.categories if any(s.mode == "joint" for s in c.steps)]
# The Administrative Licensing Law's default decision period (art. 42), in working days.
STATUTORY_DEFAULT = 20


def _category(key: str) -> CategorySpec:
    category = CATALOG.get(key)
    assert category is not None, key
    return category


def _stage_span(category: CategorySpec, stage: Stage) -> int:
    """Working days a stage takes when every step uses its full limit: the longest `after` chain."""
    steps = {s.key: s for s in category.steps if s.stage == stage}

    @cache
    def finish(key: str) -> int:
        step = steps[key]
        return step.limit_working_days + max((finish(d) for d in step.after if d in steps), default=0)

    return max(finish(k) for k in steps)


def _inspections(category: CategorySpec) -> list[StepSpec]:
    return [s for s in category.steps if s.joint_role == "inspection"]


def test_catalog_loads_with_every_required_category() -> None:
    keys = [c.key for c in CATALOG.categories]
    assert len(keys) == len(set(keys))
    assert set(REQUIRED) <= set(keys)


@pytest.mark.parametrize("category", CATALOG.categories, ids=lambda c: c.key)
def test_every_category_has_steps_in_chain_order(category: CategorySpec) -> None:
    assert category.steps
    assert list(category.stages) == sorted(category.stages, key=STAGE_ORDER.index)


def test_general_runs_the_four_stages_in_order() -> None:
    assert _category("general").stages == STAGE_ORDER


def test_general_steps_follow_the_statutory_stages() -> None:
    steps = {s.key: s for s in _category("general").steps}
    assert (steps["project_approval"].department, steps["project_approval"].mode) == ("drc", "standard")
    assert (steps["land_prereview"].department, steps["land_prereview"].mode) == ("nrp", "commitment")
    assert steps["land_use_permit"].after == ("land_prereview",)
    assert steps["design_review"].stage is Stage.engineering
    assert steps["planning_permit"].mode == "commitment"
    assert steps["planning_permit"].after == ("design_review",)
    permit = steps["construction_permit"]
    assert (permit.department, permit.mode, len(permit.default_phases)) == ("housing", "phased", 2)
    assert {s.department for s in _inspections(_category("general"))} == {
        "nrp",
        "fire",
        "cad",
        "archives",
        "housing",
    }


def test_low_risk_takes_two_three_and_five_working_days() -> None:
    low_risk = _category("low_risk")
    spans = {stage: _stage_span(low_risk, stage) for stage in low_risk.stages}
    assert spans == {Stage.engineering: 2, Stage.construction: 3, Stage.acceptance: 5}


@pytest.mark.parametrize("category", JOINT_CATEGORIES, ids=lambda c: c.key)
def test_joint_acceptance_shape(category: CategorySpec) -> None:
    surveys = [s for s in category.steps if s.joint_role == "survey"]
    assert len(surveys) == 1
    survey = surveys[0]
    assert (survey.department, survey.stage) == ("survey", Stage.acceptance)
    inspections = _inspections(category)
    assert inspections
    for inspection in inspections:
        assert inspection.stage is Stage.acceptance
        assert survey.key in inspection.after
    # One standard completion filing closes the stage once every inspection has passed.
    closing = [s for s in category.steps if s.stage is Stage.acceptance and s.mode != "joint"]
    assert len(closing) == 1
    filing = closing[0]
    assert (filing.department, filing.mode) == ("housing", "standard")
    assert set(filing.after) == {s.key for s in inspections}


@pytest.mark.parametrize("category", CATALOG.categories, ids=lambda c: c.key)
def test_an_acceptance_stage_is_always_joint(category: CategorySpec) -> None:
    if Stage.acceptance in category.stages:
        assert category in JOINT_CATEGORIES
    assert all(s.stage is Stage.acceptance for s in category.steps if s.mode == "joint")


@pytest.mark.parametrize("category", CATALOG.categories, ids=lambda c: c.key)
def test_after_never_loops(category: CategorySpec) -> None:
    # catalog.py checks that prerequisites exist; a cycle inside one stage would deadlock it.
    after = {s.key: s.after for s in category.steps}
    done: set[str] = set()
    while len(done) < len(after):
        ready = {k for k, deps in after.items() if k not in done and set(deps) <= done}
        assert ready, f"{category.key}: cycle among {set(after) - done}"
        done |= ready


def test_some_step_is_deemed_approved_on_timeout() -> None:
    assert any(s.overdue == "deemed_approval" for _, s in ALL_STEPS)


def test_commitment_steps_have_a_verification_window() -> None:
    commitments = [s for _, s in ALL_STEPS if s.mode == "commitment"]
    assert commitments
    assert all(s.verify_working_days for s in commitments)


def test_phased_steps_are_construction_permits() -> None:
    for _, step in ALL_STEPS:
        if step.mode == "phased":
            assert (step.stage, step.department) == (Stage.construction, "housing")
            assert len(step.default_phases) >= 2


def test_departments_are_known() -> None:
    assert {s.department for _, s in ALL_STEPS} <= set(DEPARTMENTS)


def test_limits_stay_within_the_statutory_default() -> None:
    # Every figure is either the statutory one or a shorter local commitment (docs/catalog.md).
    assert all(s.limit_working_days <= STATUTORY_DEFAULT for _, s in ALL_STEPS)


def test_names_are_chinese_with_an_english_gloss() -> None:
    glossed = re.compile(r"[\u4e00-\u9fff].* [A-Za-z]")
    for category, step in ALL_STEPS:
        assert glossed.search(step.name), f"{category.key}.{step.key}: {step.name}"
    for category in CATALOG.categories:
        assert glossed.search(category.name), category.key


def test_general_is_an_approval_project() -> None:
    assert _category("general").project_type == "01"


def _general_with(changes: dict[str, dict[str, object]]) -> dict[str, object]:
    from domain.catalog import default_catalog

    general = default_catalog().get("general")
    assert general is not None
    data = general.model_dump(mode="json")
    for step in data["steps"]:
        step.update(changes.get(step["key"], {}))
    return data


def test_a_cycle_in_prerequisites_is_refused() -> None:
    from domain.catalog import CategorySpec

    data = _general_with({"land_prereview": {"after": ["land_use_permit"]}})
    with pytest.raises(ValueError, match="wait on each other"):
        CategorySpec.model_validate(data)


def test_an_inspection_before_the_survey_is_refused() -> None:
    from domain.catalog import CategorySpec

    data = _general_with({"fire_inspection": {"after": []}})
    with pytest.raises(ValueError, match="after the survey"):
        CategorySpec.model_validate(data)
