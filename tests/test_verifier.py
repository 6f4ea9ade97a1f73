"""The out-of-kernel verifier: only solution cells run, in a sandbox; the verdict is reached outside."""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder.assignments import get
from autograder.sandbox import Limits, build_lib_dir, get_sandbox, probe
from autograder.verifier import judge_results, make_cases, verify

REPO = Path(__file__).resolve().parents[1]
A = get("03_momentum")
FULL = {"sgd_momentum": 4.0, "nesterov_momentum": 4.0, "momentum_optimal_params": 2.0, "predicted_nesterov_max_lr": 1.0}


@pytest.fixture(scope="module")
def solution_cells():
    nb = nbformat.read(REPO / "solutions" / "03_momentum" / "03_momentum.ipynb", as_version=4)
    return [c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    lib = build_lib_dir(tmp_path_factory.mktemp("verifier") / "lib", mpl_cache=False)
    ok, why = probe(lib)
    if not ok:
        pytest.skip(f"bubblewrap is not usable here: {why}")
    return get_sandbox(lib)


def run(sandbox, tmp_path, cells, seed=12345, wall=20):
    scratch = tmp_path / f"s{len(list(tmp_path.iterdir()))}"
    scratch.mkdir()
    return verify(A, cells, sandbox, scratch, Limits(wall_seconds=wall), seed)


def scores(v):
    return {name: e.score for name, e in v.exercises.items()}


def test_correct_solution_gets_full_marks(sandbox, tmp_path, solution_cells):
    v = run(sandbox, tmp_path, solution_cells)
    assert scores(v) == FULL
    assert v.attempts == 1 and not v.flags and not v.cell_errors
    assert v.sandboxed


def test_empty_student_version_scores_zero_as_not_implemented(sandbox, tmp_path, solution_cells):
    stubs = [src.split("### BEGIN SOLUTION")[0].rstrip(" ") + "    raise NotImplementedError()\n" for src in solution_cells]
    v = run(sandbox, tmp_path, stubs)
    assert v.score == 0
    assert {e.outcome for e in v.exercises.values()} == {"not-implemented"}


def test_an_always_equal_object_gets_nothing(sandbox, tmp_path, solution_cells):
    liar = '''
class AlwaysEqual(np.ndarray):
    def __eq__(self, other):
        return True
    __ne__ = lambda self, other: False

class Anything:
    shape = (1,)
    dtype = np.dtype("float64")
    def __eq__(self, other):
        return True
    def __array__(self, *a, **k):
        raise RuntimeError("no")

def sgd_momentum(w, dw, config=None):
    return np.zeros_like(w).view(AlwaysEqual), {"velocity": np.zeros_like(w).view(AlwaysEqual)}

def momentum_optimal_params(lambda_min, lambda_max):
    return Anything(), Anything(), Anything()

predicted_nesterov_max_lr = Anything()
'''
    v = run(sandbox, tmp_path, [liar, solution_cells[1]])
    assert scores(v) == {"sgd_momentum": 0.0, "nesterov_momentum": 4.0, "momentum_optimal_params": 0.0,
                         "predicted_nesterov_max_lr": 0.0}
    assert "not plain data" in " ".join(v.exercises["sgd_momentum"].problems)
    assert "not one number" in " ".join(v.exercises["predicted_nesterov_max_lr"].problems)


def test_a_derived_number_is_judged_by_its_value_only(sandbox, tmp_path, solution_cells):
    """A float that claims to equal everything is read as the float it holds; an answer near a known
    mistake is named."""
    liar = ("class Equal(float):\n    def __eq__(self, other):\n        return True\n    __hash__ = float.__hash__\n"
            "predicted_nesterov_max_lr = Equal(0.5)\n")
    v = run(sandbox, tmp_path, [*solution_cells[:3], liar])
    assert scores(v) == {**FULL, "predicted_nesterov_max_lr": 0.0}
    near_heavy_ball = run(sandbox, tmp_path, [*solution_cells[:3], "predicted_nesterov_max_lr = 0.0755\n"])
    (problem,) = near_heavy_ball.exercises["predicted_nesterov_max_lr"].problems
    assert "heavy ball's limit" in problem and near_heavy_ball.score == 10


def test_monkeypatching_numpy_changes_nothing(sandbox, tmp_path, solution_cells):
    patches = '''
import numpy, numpy.testing
numpy.allclose = lambda *a, **k: True
numpy.array_equal = lambda *a, **k: True
numpy.isclose = lambda *a, **k: np.array(True)
numpy.testing.assert_allclose = lambda *a, **k: None
numpy.max = lambda *a, **k: 0.0
import math
math.isclose = lambda *a, **k: True
'''
    wrong = solution_cells[0].replace("- config[\"learning_rate\"] * dw", "+ config[\"learning_rate\"] * dw")
    assert wrong != solution_cells[0]
    honest = run(sandbox, tmp_path, [patches] + solution_cells)
    cheat = run(sandbox, tmp_path, [patches, wrong] + solution_cells[1:])
    assert scores(honest) == FULL
    assert scores(cheat) == {**FULL, "sgd_momentum": 0.0}
    assert "Hint" in cheat.exercises["sgd_momentum"].problems[0]


def test_grader_secrets_are_out_of_reach(sandbox, tmp_path, solution_cells):
    snoop = '''
import importlib, os, sys
for name in ["autograder.references", "autograder.mutants", "autograder.assignments.momentum", "autograder.verifier"]:
    try:
        importlib.import_module(name)
        raise SystemExit("imported " + name)
    except ImportError:
        pass
assert not any("seed" in k.lower() for k in os.environ), sorted(os.environ)
'''
    v = run(sandbox, tmp_path, [snoop + solution_cells[0]] + solution_cells[1:])
    assert scores(v) == FULL, v.cell_errors


def test_cases_depend_on_the_secret_seed():
    a, b = make_cases(A, 1), make_cases(A, 2)
    assert not all(np.array_equal(x["w"], y["w"]) for x, y in zip(a[0], b[0]) if x["w"].shape == y["w"].shape) \
        or [x["w"].shape for x in a[0]] != [y["w"].shape for y in b[0]]
    c = make_cases(A, 1)
    assert all(np.array_equal(x["w"], y["w"]) for x, y in zip(a[0], c[0]))


def test_one_hanging_function_costs_only_its_own_points(sandbox, tmp_path, solution_cells):
    hang = solution_cells[1].replace("    return next_w, config", "    while True:\n        pass\n    return next_w, config")
    v = run(sandbox, tmp_path, [solution_cells[0], hang, *solution_cells[2:]], wall=4)
    assert scores(v) == {**FULL, "nesterov_momentum": 0.0}
    assert v.exercises["nesterov_momentum"].outcome == "timeout" and "timeout" in v.flags


def test_a_cell_that_kills_the_process_is_skipped(sandbox, tmp_path, solution_cells):
    v = run(sandbox, tmp_path, ["import os\nos._exit(3)"] + solution_cells)
    assert scores(v) == FULL
    assert v.cell_errors and v.cell_errors[0]["cell"] == 0 and "crashed" in v.flags


def test_code_outside_solution_cells_is_not_seen(sandbox, tmp_path, solution_cells):
    uses_helper = "def momentum_optimal_params(lambda_min, lambda_max):\n    return helper(lambda_min, lambda_max)\n"
    v = run(sandbox, tmp_path, solution_cells[:2] + [uses_helper])
    ex = v.exercises["momentum_optimal_params"]
    assert ex.score == 0 and "only your solution cells" in " ".join(ex.problems)


def test_warnings_and_prints_do_not_fail_a_correct_function(sandbox, tmp_path, solution_cells):
    noisy = solution_cells[2].replace("    return learning_rate", "    import sys, warnings\n"
                                      "    warnings.warn('careful')\n    print('hello', file=sys.stderr)\n"
                                      "    return learning_rate")
    v = run(sandbox, tmp_path, solution_cells[:2] + [noisy] + solution_cells[3:])
    assert scores(v) == FULL


@pytest.mark.parametrize("data", [None, {}, {"results": "nope"}, {"results": [{"steps": "x"}] * 10},
                                  {"results": [{"error": 1, "error_type": ["x"]}] * 10}, {"missing": 3}])
def test_judging_malformed_results_never_crashes(data):
    ex = A.exercises[0]
    v = judge_results(ex, make_cases(A, 7)[0], data)
    assert not v.passed and v.problems
