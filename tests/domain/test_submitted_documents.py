"""A submission names the documents it carries: uploaded ones by id, name and sha256; submissions
saved before uploads existed (bare file names, in workflow histories and states) still read."""

from __future__ import annotations

import json

from domain.project.steps import DocumentRef, Submit
from tests.domain import support
from tests.domain.support import OWNER, at

REF = DocumentRef(id="0b0e9c4e-3f5c-4c59-9a55-4a8e8f1b2c3d", filename="项目建议书.pdf", sha256="ab" * 32)


def test_a_submission_of_uploaded_documents_records_each_ones_id_name_and_hash() -> None:
    project = support.fresh()
    Submit(actor=OWNER, step="project_approval", documents=[REF]).apply(project, at(3))
    assert project.pending_events[-1].action == "submitted"
    assert project.pending_events[-1].detail["documents"] == [
        {"id": REF.id, "filename": "项目建议书.pdf", "sha256": "ab" * 32}
    ]


def test_submissions_saved_before_uploads_still_read_and_record_names() -> None:
    saved = {"actor": OWNER.model_dump(), "step": "project_approval", "documents": ["plan.pdf"]}
    old = Submit.model_validate_json(json.dumps(saved))
    assert old.documents == ["plan.pdf"]
    project = support.fresh()
    old.apply(project, at(3))
    assert project.pending_events[-1].detail["documents"] == ["plan.pdf"]


def test_both_shapes_survive_a_round_trip_through_json() -> None:
    submit = Submit(actor=OWNER, step="project_approval", documents=[REF, "plan.pdf"])
    again = Submit.model_validate_json(submit.model_dump_json())
    assert again.documents == [REF, "plan.pdf"]
