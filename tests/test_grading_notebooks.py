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


@pytest.mark.parametrize("graded", [False, True])
def test_feedback_says_a_written_answer_is_not_graded_yet(graded):
    """Before a person grades them, written answers read "not graded yet" where nbgrader's template
    would print a score of 0.0 (table of contents and the cell's heading); once graded, their score."""
    import re
    from pathlib import Path

    from autograder.grading.notebooks import WRITTEN_PENDING, render_feedback_html

    root = Path(__file__).resolve().parent.parent
    nb = nbformat.read(root / "notebooks" / "03_momentum" / "03_momentum.ipynb", as_version=4)
    written = [c.metadata["nbgrader"] for c in nb.cells
               if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("grade")]
    assert len(written) == 2
    if graded:
        written[0]["score"], written[1]["score"] = 1.5, 0.0
    html = render_feedback_html(nb, notebook_name="03_momentum", score=0, max_score=15)
    for meta in written:
        gid = meta["grade_id"]
        toc = re.search(rf'<a href="#{gid}">Written response</a> \(Score: ([^/]*) /', html).group(1)
        heading = re.search(rf'<a name="{gid}"></a>.*?Score: ([^/]*) /', html, flags=re.S).group(1)
        want = f"{meta['score']:.1f}" if graded else "not graded yet"
        assert toc.strip() == heading.strip() == want, (gid, toc, heading)
    assert (WRITTEN_PENDING in html) is not graded
    # the autograded test cells keep their numbers (0.0 here: nothing was run)
    assert re.search(r'>Test cell</a> \(Score: 0\.0 /', html)
