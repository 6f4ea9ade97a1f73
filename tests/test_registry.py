"""One registry and one home for points: ``autograder.assignments.MODULES`` names every assignment's
module (its mutants are found from it), and points are read from nbgrader's cell metadata."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from autograder.assignments import MODULES, get, ids, module_name
from autograder.grading.kernel_data import resolve_assignment
from autograder.mutants import catalogue
from autograder.spec import SOURCE_DIR, Assignment, notebook_points


def _master(aid: str) -> dict:
    assignment = get(aid)
    return json.loads((SOURCE_DIR / aid / assignment.notebook).read_text(encoding="utf-8"))


@pytest.mark.parametrize("aid", ids())
def test_mutants_and_references_are_found_from_the_one_registry(aid):
    assert module_name(aid) == MODULES[aid]
    assert module_name(aid, "mutants") == MODULES[aid].replace("assignments", "mutants")
    assert set(catalogue(aid)) == {ex.name for ex in get(aid).exercises}


def test_the_registry_is_found_by_reading_the_modules(tmp_path):
    """A new assignment module is registered by being there; a broken one hides no other."""
    from autograder.assignments import _discover

    solutions = sorted(p.name for p in (Path(__file__).resolve().parents[1] / "solutions").iterdir() if p.is_dir())
    assert list(MODULES) == ids() == solutions and "07_training_in_practice" in solutions
    (tmp_path / "good.py").write_text('ID = "07_new"\nASSIGNMENT = Assignment(id=ID, notebook="x.ipynb", exercises=())\n')
    (tmp_path / "literal.py").write_text('ASSIGNMENT = Assignment(id="08_other", notebook="y.ipynb", exercises=())\n')
    (tmp_path / "broken.py").write_text('ASSIGNMENT = Assignment(id="09_broken", notebook=\n')
    (tmp_path / "helper.py").write_text('def f():\n    return 1\n')
    assert _discover(tmp_path, "pkg") == {"07_new": "pkg.good", "08_other": "pkg.literal"}


def test_an_unknown_assignment_has_no_mutants_and_a_clear_error():
    assert catalogue("99_nothing") == {}
    with pytest.raises(KeyError, match="unknown assignment '99_nothing'; known: 01_challenges"):
        get("99_nothing")


def test_the_grader_takes_points_from_the_master_notebook_it_is_given():
    """An instructor who changes a test cell's points in the course's master notebook gets them,
    whatever the checkout's copy says."""
    master = _master("03_momentum")
    for cell in master["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade_id") == "test_sgd_momentum":
            meta["points"] = 7
    assignment = resolve_assignment("03_momentum", json.dumps(master))
    assert {ex.name: ex.points for ex in assignment.exercises} == {
        "sgd_momentum": 7.0, "nesterov_momentum": 4.0, "momentum_optimal_params": 2.0, "predicted_nesterov_max_lr": 1.0}
    assert assignment.max_score == 14
    assert get("03_momentum").max_score == 11, "the checkout's assignment is not changed"


def test_without_a_source_notebook_points_stay_unset_and_say_so():
    """An installed copy has no solutions/: points come from the master notebook, or not at all."""
    real = get("03_momentum")
    bare = Assignment(id="03_momentum", notebook="not-there.ipynb",
                      exercises=tuple(dataclasses.replace(ex, points=None) for ex in real.exercises))
    assert all(ex.points is None for ex in bare.exercises)
    with pytest.raises(ValueError, match="points of sgd_momentum, nesterov_momentum, momentum_optimal_params"):
        bare.max_score
    filled = bare.with_points(notebook_points(SOURCE_DIR / "03_momentum" / real.notebook))
    assert filled.max_score == 11


def test_a_test_cell_missing_from_the_notebook_is_named():
    master = _master("03_momentum")
    master["cells"] = [c for c in master["cells"]
                       if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") != "test_nesterov_momentum"]
    with pytest.raises(ValueError, match="no graded test cell with grade_id test_nesterov_momentum"):
        resolve_assignment("03_momentum", master)
