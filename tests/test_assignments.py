"""Every registered assignment: the notebook and the assignment agree, the solution passes the
hidden and visible checks, the references agree with it, every known mistake fails both (the
hidden tests with a hint naming it), stubs read as not implemented, and the committed expected
data is up to date.

The checks particular to one notebook (its maths, cases, drivers, call styles, verifier runs) are
in ``tests/test_<module>_assignment.py``; the special cases of each assignment (mistakes the
visible checks cannot see, mistakes whose hint may name another, ...) are in
``assignment_harness.SPECS``.
"""

from __future__ import annotations

import ast
import copy
import inspect
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import assignment_harness as h
from autograder.assignments import get, ids
from autograder.spec import compare_plain, notebook_points
from nnopt_helpers.checks import load_expected, run_check

IDS = ids()
EXERCISE_IDS = h.exercise_ids()
MUTANT_IDS = h.mutant_ids()
VISIBLE_MUTANT_IDS = h.visible_mutant_ids()
REFERENCE_IDS = [(aid, name) for aid, name in EXERCISE_IDS if h.SPECS[aid].reference_agreement]


def _ids(params):
    return ["-".join(p) for p in params]


def test_special_cases_name_only_known_assignments():
    """SPECS holds special cases only (an assignment without any needs no entry): no stale ids."""
    assert set(h.SPECS) <= set(IDS), set(h.SPECS) - set(IDS)


# ---------------------------------------------------------------------------------------------
# The notebook and the assignment agree


def test_registry_refuses_an_unknown_assignment():
    with pytest.raises(KeyError, match="unknown assignment"):
        get("99_nothing")


@pytest.mark.parametrize("aid", IDS)
def test_registry_finds_the_assignment(aid):
    from autograder.assignments import ASSIGNMENTS, MODULES
    from autograder.mutants import catalogue

    assignment = get(aid)
    assert MODULES[aid].startswith("autograder.assignments.")
    assert ASSIGNMENTS[aid] is assignment and assignment.id == aid
    in_code = h.assignment_module(aid).ASSIGNMENT
    assert [ex.name for ex in in_code.exercises] == [ex.name for ex in assignment.exercises]
    assert catalogue(aid) is h.mutants(aid), "the hints find the mistakes through the catalogue"
    assert get(aid) is in_code
    # points are written once, in the notebook's nbgrader metadata, and read from there
    assert "points=" not in Path(inspect.getsourcefile(h.assignment_module(aid))).read_text()
    written = h.written_answers(aid)
    assert {ex.grade_id: ex.points for ex in assignment.exercises} == {
        g: p for g, p in notebook_points(h.source_notebook(aid)).items() if g not in written}
    # ten points of functions, one per derived number; the written answers are graded by hand
    functions = [ex for ex in assignment.exercises if not h.is_value(aid, ex.name)]
    assert sum(ex.points for ex in functions) == 10 and all(ex.points > 0 for ex in assignment.exercises)
    assert all(ex.points == 1 for ex in assignment.exercises if h.is_value(aid, ex.name))
    assert set(h.mutants(aid)) == set(h.exercises(aid))
    assert all(len(h.mutants(aid)[name]) >= (3 if h.is_value(aid, name) else 5) for name in h.exercises(aid)), \
        "at least five mutants per function, three per derived number"


@pytest.mark.parametrize("aid", IDS)
def test_each_solution_cell_holds_only_its_function(aid):
    cells = [c for c in h.source_notebook(aid).cells if h.nbgrader(c).get("solution") and c.cell_type == "code"]
    assert [h.nbgrader(c)["grade_id"] for c in cells] == h.exercises(aid)
    for cell in cells:
        body = ast.parse(cell.source).body
        if h.is_value(aid, h.nbgrader(cell)["grade_id"]):  # `name = None` as released, then the derived number
            name = h.nbgrader(cell)["grade_id"]
            assert [type(n) for n in body] == [ast.Assign, ast.Assign], name
            assert all([t.id for t in n.targets] == [name] for n in body), name
            assert isinstance(body[0].value, ast.Constant) and body[0].value.value is None, name
            assert cell.source.index("= None") < cell.source.index("### BEGIN SOLUTION")
            continue
        assert len(body) == 1 and isinstance(body[0], ast.FunctionDef), h.nbgrader(cell)["grade_id"]
        assert body[0].name == h.nbgrader(cell)["grade_id"]
        doc = ast.get_docstring(body[0])
        assert doc, "the stub keeps the docstring: it is the spec"
        assert all(word in doc for word in h.SPECS[aid].docstring_words), (body[0].name, h.SPECS[aid].docstring_words)
        assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source


@pytest.mark.parametrize("aid", IDS)
def test_test_cells_match_the_exercises(aid):
    spec = h.SPECS[aid]
    assignment = get(aid)
    tests = {h.nbgrader(c)["grade_id"]: c for c in h.source_notebook(aid).cells
             if h.nbgrader(c).get("grade") and c.cell_type == "code"}
    assert set(tests) == {ex.grade_id for ex in assignment.exercises}
    for ex in assignment.exercises:
        cell = tests[ex.grade_id]
        meta = h.nbgrader(cell)
        assert meta["locked"] and not meta["solution"] and meta["points"] == ex.points
        visible, hidden = cell.source.split("### BEGIN HIDDEN TESTS")
        # Through the registry's get(): the sandbox replaces the registry with a shim that offers only get().
        assert f'_get_assignment("{aid}").check("{ex.name}", {ex.name})' in hidden
        assert "from autograder.assignments import get as _get_assignment" in hidden
        call = spec.call_source.get(ex.name, "")
        for check in h.visible(aid)[ex.name]:
            assert f'run_check("{aid}", "{check}", {ex.name}{call})' in visible
        assert visible.lstrip().startswith('"""'), "each test cell starts with a one-line docstring"
    # every entry of the expected data is run by some test cell
    assert set(load_expected(aid)) == {check for checks in h.visible(aid).values() for check in checks}


@pytest.mark.parametrize("aid", IDS)
def test_notebook_has_no_outputs_and_is_small(aid):
    assert h.source_path(aid).stat().st_size < 500 * 1024
    for cell in h.source_notebook(aid).cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


# ---------------------------------------------------------------------------------------------
# The solution passes; the references agree with it; stubs are not implemented


@pytest.mark.parametrize("aid,name", EXERCISE_IDS, ids=_ids(EXERCISE_IDS))
def test_solution_passes_the_hidden_tests(aid, name, capsys):
    solution = h.solution_functions(aid)[name]
    for seed in h.SPECS[aid].seeds:
        get(aid).check(name, solution, seed=seed)
    assert "hidden tests passed" in capsys.readouterr().out


@pytest.mark.parametrize("aid,name", REFERENCE_IDS, ids=_ids(REFERENCE_IDS))
def test_references_agree_with_the_solution(aid, name):
    num_seeds, rtol = h.SPECS[aid].reference_agreement
    ex = get(aid).exercise(name)
    solution = h.solution_functions(aid)[name]
    for seed in range(num_seeds):
        for case in ex.make_cases(np.random.default_rng(seed)):
            frozen = copy.deepcopy(case)
            expected = ex.reference(case)
            assert compare_plain(frozen, case, rtol=0.0) == [], "the reference must not modify the case"
            actual = ex.run(solution, case)
            assert actual["mutated"] == [] and expected.get("mutated", []) == []
            assert compare_plain(expected, actual, rtol=rtol) == [], ex.describe(case)


@pytest.mark.parametrize("aid,name", EXERCISE_IDS, ids=_ids(EXERCISE_IDS))
def test_solution_passes_the_visible_checks(aid, name):
    namespace = h.solution_namespace(aid)
    for check in h.visible(aid)[name]:
        run_check(aid, check, namespace[name], call=h.visible_call(aid, name, namespace), quiet=True)


@pytest.mark.parametrize("aid", IDS)
def test_stubs_raise_not_implemented(aid):
    """The untouched student notebook: the hidden tests and every visible check say 'not implemented'."""
    stubs = h.stub_namespace(aid)
    for name in h.exercises(aid):
        with pytest.raises(NotImplementedError):
            get(aid).check(name, stubs[name])
        for check in h.visible(aid)[name]:
            with pytest.raises(NotImplementedError):
                run_check(aid, check, stubs[name], call=h.visible_call(aid, name, stubs), quiet=True)


# ---------------------------------------------------------------------------------------------
# Every known mistake fails, with a hint


@pytest.mark.parametrize("aid,name,mutant", MUTANT_IDS, ids=_ids(MUTANT_IDS))
def test_mutant_fails_the_hidden_tests(aid, name, mutant):
    h.assert_mutant_fails_hidden_tests(aid, name, mutant)


@pytest.mark.parametrize("aid,name,mutant", VISIBLE_MUTANT_IDS, ids=_ids(VISIBLE_MUTANT_IDS))
def test_mutant_fails_the_visible_checks(aid, name, mutant):
    h.assert_mutant_fails_visible_checks(aid, name, mutant)


@pytest.mark.parametrize("aid", IDS)
def test_special_cases_name_real_mistakes(aid):
    """A renamed mutant must not leave a stale entry behind in the special cases."""
    spec, catalogue = h.SPECS[aid], h.mutants(aid)
    for table in (spec.visible_blind, spec.same_output_as, spec.hidden_skips):
        for name, mutant in table:
            assert mutant in catalogue[name], (name, mutant)
    for (name, _), others in spec.same_output_as.items():
        assert others <= set(catalogue[name]), (name, others)


# ---------------------------------------------------------------------------------------------
# The committed expected data


@pytest.mark.parametrize("aid", IDS)
def test_expected_data_is_up_to_date(aid):
    from autograder.expected import EXPECTED_DIR, render

    with h.quiet_numpy():
        fresh = render(aid)
    assert (EXPECTED_DIR / f"{aid}.json").read_text(encoding="utf-8") == fresh, \
        f"run `python -m autograder.expected {aid}`"


def test_expected_data_command_finds_nothing_stale():
    proc = subprocess.run([sys.executable, "-m", "autograder.expected", "--check"], cwd=h.ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
