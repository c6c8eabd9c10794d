"""The catalog of project categories (一类事): data loaded from catalog.json, validated here."""

from __future__ import annotations

import json
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from domain.bilingual import Bilingual, split_bilingual


class Stage(StrEnum):
    """The four statutory stages, in chain order."""

    initiation = "initiation"
    engineering = "engineering"
    construction = "construction"
    acceptance = "acceptance"


STAGE_ORDER: tuple[Stage, ...] = tuple(Stage)

# Department codes, each with its name; reviewers are bound to a code.
DEPARTMENT_NAMES: dict[str, Bilingual] = {
    "drc": Bilingual("发展和改革委员会", "Development and Reform"),
    "nrp": Bilingual("规划和自然资源局", "Natural Resources and Planning"),
    "housing": Bilingual("住房和城乡建设委员会", "Housing and Construction"),
    "fire": Bilingual("消防救援支队", "Fire"),
    "cad": Bilingual("民防办", "Civil Air Defence"),
    "archives": Bilingual("城建档案馆", "Urban Construction Archives"),
    "survey": Bilingual("测绘院（多测合一）", "Surveying (consolidated survey)"),
}
DEPARTMENTS: dict[str, str] = {code: str(name) for code, name in DEPARTMENT_NAMES.items()}

StepMode = Literal["standard", "commitment", "phased", "joint"]


def in_two_languages(data: Any, field: str) -> Any:
    """A '中文 English' `field` as sent before names had two parts becomes `field_zh` and `field_en`
    (unless those are given): the office's older catalog documents stay valid."""
    if isinstance(data, dict) and field in data:
        data = dict(data)
        combined = data.pop(field)
        if isinstance(combined, str):
            zh, en = split_bilingual(combined)
            data.setdefault(f"{field}_zh", zh)
            data.setdefault(f"{field}_en", en)
    return data


OverduePolicy = Literal["problem", "deemed_approval"]
JointRole = Literal["survey", "inspection"]


class StepSpec(BaseModel):
    """One step of a category: who decides it, how, and within how many working days."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")
    name_zh: str = Field(min_length=1, max_length=100)
    name_en: str = Field(min_length=1, max_length=200)
    stage: Stage
    department: str
    mode: StepMode = "standard"
    limit_working_days: int = Field(ge=1, le=120)
    # Commitment steps only: the window the department has to verify a granted commitment.
    verify_working_days: int | None = Field(default=None, ge=1, le=120)
    overdue: OverduePolicy = "problem"
    # Keys of steps (same category) that must be done before this one opens. Earlier
    # stages are always prerequisites; `after` orders steps inside one stage.
    after: tuple[str, ...] = ()
    # Joint steps only: the survey opens first, inspections open together after it.
    joint_role: JointRole | None = None
    # Phased steps only: the phases used when the owner declares none.
    default_phases: tuple[str, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _one_name_in_two(cls, data: Any) -> Any:
        return in_two_languages(data, "name")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def name(self) -> str:
        """Both names in one string, as the API has always shown it."""
        return str(Bilingual(self.name_zh, self.name_en))

    @model_validator(mode="after")
    def _mode_fields(self) -> StepSpec:
        if self.department not in DEPARTMENTS:
            raise ValueError(f"unknown department {self.department!r}")
        if (self.mode == "commitment") != (self.verify_working_days is not None):
            raise ValueError("verify_working_days is required for, and only for, commitment steps")
        if (self.mode == "joint") != (self.joint_role is not None):
            raise ValueError("joint_role is required for, and only for, joint steps")
        if (self.mode == "phased") != bool(self.default_phases):
            raise ValueError("default_phases is required for, and only for, phased steps")
        return self


class CategorySpec(BaseModel):
    """A project category: its stages and the steps each stage runs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")
    name_zh: str = Field(min_length=1, max_length=100)
    name_en: str = Field(min_length=1, max_length=200)
    description_zh: str = Field(max_length=2000)
    description_en: str = Field(max_length=2000)
    # GB/T 40058 project type: 01 approval (审批), 02 verification (核准), 03 filing (备案).
    project_type: Literal["01", "02", "03"]
    steps: tuple[StepSpec, ...]

    @model_validator(mode="before")
    @classmethod
    def _one_text_in_two(cls, data: Any) -> Any:
        return in_two_languages(in_two_languages(data, "name"), "description")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def name(self) -> str:
        """Both names in one string, as the API has always shown it."""
        return str(Bilingual(self.name_zh, self.name_en))

    @computed_field  # type: ignore[prop-decorator]
    @property
    def description(self) -> str:
        return str(Bilingual(self.description_zh, self.description_en))

    @property
    def stages(self) -> tuple[Stage, ...]:
        """The stages this category runs, in chain order."""
        used = {s.stage for s in self.steps}
        return tuple(s for s in STAGE_ORDER if s in used)

    @model_validator(mode="after")
    def _steps_consistent(self) -> CategorySpec:
        keys = [s.key for s in self.steps]
        if len(keys) != len(set(keys)):
            raise ValueError(f"duplicate step keys in {self.key}")
        by_key = {s.key: s for s in self.steps}
        for step in self.steps:
            for dep in step.after:
                if dep not in by_key:
                    raise ValueError(f"{self.key}.{step.key}: unknown prerequisite {dep!r}")
                if STAGE_ORDER.index(by_key[dep].stage) > STAGE_ORDER.index(step.stage):
                    raise ValueError(f"{self.key}.{step.key}: prerequisite {dep!r} is in a later stage")
        _refuse_cycles(self.key, by_key)
        _check_joint_shape(self.key, self.steps)
        return self


def _refuse_cycles(category: str, by_key: dict[str, StepSpec]) -> None:
    """A cycle in `after` would leave its steps pending for ever."""
    done: set[str] = set()

    def visit(key: str, path: tuple[str, ...]) -> None:
        if key in path:
            raise ValueError(f"{category}: steps {' -> '.join((*path, key))} wait on each other")
        if key not in done:
            for dep in by_key[key].after:
                visit(dep, (*path, key))
            done.add(key)

    for key in by_key:
        visit(key, ())


def _check_joint_shape(category: str, steps: tuple[StepSpec, ...]) -> None:
    """Joint acceptance: one survey first, every inspection after it."""
    surveys = [s for s in steps if s.joint_role == "survey"]
    inspections = [s for s in steps if s.joint_role == "inspection"]
    if not surveys and not inspections:
        return
    if len(surveys) != 1 or not inspections:
        raise ValueError(f"{category}: joint acceptance needs exactly one survey and at least one inspection")
    for inspection in inspections:
        if surveys[0].key not in inspection.after:
            raise ValueError(f"{category}.{inspection.key}: an inspection opens after the survey {surveys[0].key!r}")


class Catalog(BaseModel):
    """All categories, by key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    categories: tuple[CategorySpec, ...]

    def get(self, key: str) -> CategorySpec | None:
        """The category with this key, if any."""
        return next((c for c in self.categories if c.key == key), None)


CATALOG_FILE = Path(__file__).with_name("catalog.json")


@lru_cache
def default_catalog() -> Catalog:
    """The catalog shipped with the service (domain/catalog.json)."""
    return Catalog.model_validate(json.loads(CATALOG_FILE.read_text(encoding="utf-8")))
