"""Which cells the verifier re-runs: solution cells, plus the learner's own definition-only cells."""

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from autograder.grading.notebooks import definitions_only, verifier_sources


@pytest.mark.parametrize("source", [
    "import numpy as np\n\ndef helper(v, g, lr):\n    return v - lr * g",
    "from math import sqrt\nEPS = 1e-8\nSHAPE: tuple = (2, 3)\n'''notes'''",
    "class Box:\n    def __init__(self, x):\n        self.x = x",
])
def test_definitions_only_accepts_imports_defs_and_constants(source):
    assert definitions_only(source)


@pytest.mark.parametrize("source", [
    "", "x = train(model)", "plt.plot([1, 2])", "while True:\n    pass", "import os\nos.system('ls')",
    "f = lambda x: x", "def f(:\n", "TABLE = dict(a=1)", "for i in range(3):\n    pass",
])
def test_definitions_only_refuses_anything_that_runs(source):
    assert not definitions_only(source)


def _cell(source, **nbgrader):
    cell = new_code_cell(source)
    if nbgrader:
        cell.metadata["nbgrader"] = nbgrader
    return cell


def test_verifier_takes_solution_cells_and_own_helper_cells_in_order():
    master = new_notebook(cells=[
        _cell("import numpy as np"),
        _cell("def f(x):\n    raise NotImplementedError()", solution=True, grade=False, grade_id="f"),
        _cell("def shipped_helper():\n    pass"),
        _cell("assert f(1) == 2", grade=True, solution=False, grade_id="test_f", points=1),
    ])
    submitted = nbformat.from_dict(master)
    submitted.cells.insert(1, _cell("def _double(x):\n    return 2 * x"))
    submitted.cells[2] = _cell("def f(x):\n    return _double(x)", solution=True, grade=False, grade_id="f")
    submitted.cells.append(_cell("print(f(3))"))
    assert verifier_sources(submitted, master) == ["def _double(x):\n    return 2 * x", "def f(x):\n    return _double(x)"]
