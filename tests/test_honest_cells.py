"""Honest work is never accused: what the verifier runs of a notebook's cells other than the solution
cells (``autograder.grading.notebooks.verifier_plan``), and, for every assignment, correct work whose
graded functions use helpers from the learner's own cells (that also print, plot, import, hold a
class or an IPython magic) gets full verified marks in the real sandbox, while the notebook's
experiments (a loop of 10**9 steps, a training call, a hang) are not run there.
"""

from __future__ import annotations

import ast
import copy
import time
import warnings
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.assignments import get, ids
from autograder.grading.notebooks import names_not_run, plan_cells, python_source, restore, verifier_plan, \
    verifier_sources
from autograder.sandbox import Limits, build_lib_dir, get_sandbox, probe
from autograder.verifier import verify
from grading_fixtures import load_course_notebooks

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENTS = [aid for aid in ids() if (REPO / "solutions" / aid / f"{aid}.ipynb").is_file()]


def kept(*cells: str, solution: str = "def f():\n    return USED") -> list[str]:
    """The statements kept from ``cells`` (ordinary code cells), before a solution cell ``solution``."""
    plan = plan_cells([(False, c) for c in cells] + [(True, solution)])
    return [code for _, code in plan.kept]


# ---------------------------------------------------------------------------------------------
# The statement filter


def test_helper_constants_survive_the_print_next_to_them():
    cell = "USED = dict(learning_rate=1e-2, momentum=0.9)\nprint(USED)\nUSED"
    assert kept(cell) == ["USED = dict(learning_rate=0.01, momentum=0.9)"]


@pytest.mark.parametrize("statement", [
    "USED = 3", "USED: float = 1e-3", "USED = [10.0 ** -k for k in range(1, 5)]", "USED = np.finfo(float).eps",
    "USED = np.linspace(0.0, 1.0, 11)", "USED = math.sqrt(2) / 2", "USED = lambda x: train(x)",
    "USED = dict(zip('ab', (1, 2)))", "USED = np.random.default_rng(0)", "USED = (1, 2)[0] + abs(-1)",
    "USED, OTHER = 1, 2", "USED = sorted([3, 1, 2], key=abs)",
])
def test_cheap_assignments_are_kept(statement):
    assert kept(statement) == [ast.unparse(ast.parse(statement))]


@pytest.mark.parametrize("statement", [
    "USED = train(model)", "USED = np.random.default_rng(0).normal(size=3)", "USED = open('data.csv').read()",
    "USED = sorted([3, 1, 2], key=lambda v: train(v))", "USED = [run(lr) for lr in (0.1, 0.2)]",
    "USED = input('lr? ')", "USED = np.load('weights.npy')", "USED = __import__('os').system('ls')",
])
def test_assignments_that_call_anything_else_are_skipped(statement):
    assert kept(statement) == []


@pytest.mark.parametrize("cell", [
    "print(USED)", "plt.plot([1, 2])", "for lr in (0.1, 0.2):\n    USED = lr", "while True:\n    pass",
    "with open('f') as fh:\n    USED = fh.read()", "if True:\n    USED = 1",
    "try:\n    USED = 1\nexcept Exception:\n    pass",
    "USED", "np.random.seed(0)", "train(model)", "assert USED", "del USED",
])
def test_statements_that_run_things_are_skipped(cell):
    assert kept(cell) == []


def test_imports_defs_and_classes_are_kept_when_used():
    cell = ('import matplotlib.pyplot as plt\nfrom functools import partial, reduce\nimport os\n'
            'def USED(x):\n    """Doc."""\n    return partial(max, x)\n'
            'class Box:\n    scale = 2.0\n    def __init__(self, x):\n        self.x = x\n'
            'def unused():\n    return plt.plot([1])\n')
    assert kept(cell, solution="def f():\n    return USED(1), Box") == [
        "from functools import partial", 'def USED(x):\n    """Doc."""\n    return partial(max, x)',
        "class Box:\n    scale = 2.0\n\n    def __init__(self, x):\n        self.x = x"]


def test_a_plotting_import_is_kept_when_a_graded_function_plots():
    assert kept("import matplotlib.pyplot as plt", solution="def f(x):\n    plt.plot(x)\n    return x") \
        == ["import matplotlib.pyplot as plt"]


def test_what_a_kept_statement_needs_is_kept_too():
    cells = ["BASE = dict(lr=0.1)", "print(BASE)\nUSED = dict(BASE, momentum=0.9)\nUSED['nesterov'] = True\n"
             "USED.update(eps=1e-8)\nIGNORED = 1"]
    assert kept(*cells) == ["BASE = dict(lr=0.1)", "USED = dict(BASE, momentum=0.9)", "USED['nesterov'] = True",
                            "USED.update(eps=1e-08)"]


def test_a_statement_reading_what_a_skipped_one_made_or_changed_is_skipped():
    cells = ["rows = []\nfor lr in (0.1, 0.2):\n    rows.append(train(lr))\nUSED = rows[0]",
             "model = nets.MLP([2, 2])\nUSED2 = model",
             "CONFIG = {}\nCONFIG.update(train())\nUSED3 = dict(CONFIG)"]
    assert kept(*cells, solution="def f():\n    return USED, USED2, USED3, CONFIG") == ["CONFIG = {}"]
    plan = plan_cells([(False, c) for c in cells] + [(True, "def f():\n    return USED, USED2, USED3")])
    assert {"USED", "USED2", "USED3", "model", "lr"} <= plan.not_run


def test_patching_a_module_is_not_run_but_the_module_stays_usable():
    cell = "np.allclose = lambda *a, **k: True\nnp.random.seed(0)\nUSED = np.zeros(3)\nplt.rcParams['x'] = 1"
    assert kept(cell) == ["USED = np.zeros(3)"]


def test_widget_decorators_and_calling_defaults_skip_the_definition():
    cells = ["from ipywidgets import interact\n@interact(lr=(0.01, 1.0))\ndef USED(lr=0.1):\n    return lr",
             "def USED2(x, y=train()):\n    return x",
             "import functools\n@functools.lru_cache(maxsize=None)\ndef USED3(n):\n    return n"]
    assert kept(*cells, solution="def f():\n    return USED, USED2, USED3") == [
        "import functools", "@functools.lru_cache(maxsize=None)\ndef USED3(n):\n    return n"]


def test_a_class_running_code_in_its_body_is_skipped():
    assert kept("class USED:\n    data = train()\n") == []
    assert kept("class USED:\n    for i in range(3):\n        pass\n") == []
    assert kept("from dataclasses import dataclass, field\n@dataclass\nclass USED:\n    lr: float = 0.1\n"
                "    sizes: list = field(default_factory=list)\n") != []


def test_ipython_syntax_does_not_hide_a_cell():
    cell = "%matplotlib inline\n!pip install tqdm\nnp.zeros?\nfiles = !ls\nUSED = 0.9\n%time x = 1"
    assert kept(cell) == ["USED = 0.9"]
    assert kept("%%time\nUSED = 2") == ["USED = 2"]
    assert kept("%%capture out\nUSED = 2") == ["USED = 2"]
    assert kept("%%writefile helper.py\nUSED = 2") == []  # IPython does not run it
    assert python_source("def f(:\n") is None


def test_a_solution_cell_with_a_magic_runs_without_it():
    plan = plan_cells([(True, "%matplotlib inline\ndef f(x):\n    return 2 * x\nprint(f(1))")])
    ns = {}
    exec(plan.sources[0], ns)  # noqa: S102 - our own test code
    assert ns["f"](2) == 4
    valid = "def g(x):\n    return x\n"
    assert plan_cells([(True, valid)]).sources == [valid]  # valid Python: exactly as written


def test_names_not_run_tells_a_skipped_helper_from_tampering():
    nb = new_notebook(cells=[
        new_code_cell("def tune():\n    return 0.1\nLR = tune()\nprint(LR)"),
        new_code_cell("def f(x):\n    return LR * x", metadata={"nbgrader": {"solution": True, "grade_id": "f"}}),
        new_code_cell("assert f(1) == 0.1", metadata={"nbgrader": {"grade": True, "solution": False,
                                                                     "grade_id": "test_f", "points": 1}}),
    ])
    problems = ["on case 1: f raised or returned something unusable: NameError: name 'LR' is not defined"]
    assert names_not_run(problems, nb) == ["LR"]
    assert names_not_run(["NameError: name 'undefined_anywhere' is not defined"], nb) == []
    assert names_not_run(["f differs from the expected value"], nb) == []


def test_test_cells_never_run_and_the_course_cells_follow_the_same_rule():
    master = new_notebook(cells=[
        new_code_cell("import numpy as np\nfrom functools import partial\nfig = plt.figure()"),
        new_markdown_cell("text"),
        new_code_cell("def f(x):\n    return partial(abs)(x)",
                      metadata={"nbgrader": {"solution": True, "grade_id": "f"}}),
        new_code_cell("from functools import partial as check\nassert f(-1) == 1",
                      metadata={"nbgrader": {"grade": True, "solution": False, "grade_id": "test_f", "points": 1}}),
    ])
    assert verifier_sources(master, master) == ["from functools import partial",
                                                "def f(x):\n    return partial(abs)(x)"]


# ---------------------------------------------------------------------------------------------
# Every assignment, in the real sandbox

#: name -> (helper cell, statements of a wrapper that uses it; ``{impl}`` is the learner's real function).
HELPERS = {
    "constants-and-print": ('SETTINGS = dict(scale=1.0, enabled=True)\nprint("settings:", SETTINGS)\n',
                            'assert SETTINGS["enabled"] and SETTINGS["scale"] == 1.0\nreturn {impl}(*args, **kwargs)'),
    "helper-function": ('def _call(fn, *args, **kwargs):\n    """Call fn."""\n    return fn(*args, **kwargs)\n\n\n'
                        'print(_call(abs, -1))\n', "return _call({impl}, *args, **kwargs)"),
    "class": ("class _Caller:\n    calls = 0\n\n    def __init__(self, fn):\n        self.fn = fn\n\n"
              "    def __call__(self, *args, **kwargs):\n        return self.fn(*args, **kwargs)\n\n\n"
              "print(_Caller(abs)(-2))\n", "return _Caller({impl})(*args, **kwargs)"),
    "plot": ("%matplotlib inline\nimport matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([0, 1], [1, 0])\n"
             "plt.show()\nIDENTITY = lambda value: value\n", "return IDENTITY({impl}(*args, **kwargs))"),
    "import": ("from functools import partial, wraps\nimport operator as op\nprint(op.add(1, 2))\n",
               "return partial({impl})(*args, **kwargs)"),
    "numpy-constant": ("EPS = np.finfo(float).eps\nONES = np.ones(3)\nprint(EPS, ONES)\n",
                       "assert EPS < 1e-10 and ONES.sum() == 3\nreturn {impl}(*args, **kwargs)"),
}
#: Experiments: each would take far longer than the verifier's limit if it ran.
EXPERIMENTS = ["for _ in range(10**9):\n    pass\n", "history = run_training(num_epochs=10**6)\n",
               "import time\ntime.sleep(10**6)\n", "while True:\n    pass\n",
               "RESULTS = {lr: sum(range(10**12)) for lr in (0.1, 0.2)}\n"]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    lib = build_lib_dir(tmp_path_factory.mktemp("honest") / "lib", mpl_cache=False)
    ok, why = probe(lib)
    if not ok:
        pytest.skip(f"bubblewrap is not usable here: {why}")
    return get_sandbox(lib)


@pytest.fixture(scope="module")
def course():
    from autograder.grading.coordinator import load_course

    config = load_course(REPO).config
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {aid: load_course_notebooks(REPO / "solutions" / aid / f"{aid}.ipynb", config) for aid in ASSIGNMENTS}


#: The wrapper's body when every helper above is in the notebook: each one is on the call path.
ALL_HELPERS = ('assert SETTINGS["enabled"] and SETTINGS["scale"] == 1.0\n'
               "assert EPS < 1e-10 and ONES.sum() == 3\n"
               "return IDENTITY(partial(_call, _Caller({impl}))(*args, **kwargs))")


def _wrap_every_solution(nb, assignment, helpers: list[str]):
    """Each graded function becomes a wrapper, using ``helpers``, around the learner's real one (renamed)."""
    body = HELPERS[helpers[0]][1] if len(helpers) == 1 else ALL_HELPERS
    assert len(helpers) in (1, len(HELPERS))
    from autograder.drivers import VALUE_DRIVERS

    for ex in assignment.exercises:
        if ex.driver in VALUE_DRIVERS:  # a derived number: no function to wrap
            continue
        cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")
                    and f"def {ex.name}(" in c.source)
        impl = f"_{ex.name}_impl"
        cell.source = (cell.source.replace(f"def {ex.name}(", f"def {impl}(", 1)
                       + f"\n\n\ndef {ex.name}(*args, **kwargs):\n"
                       + "".join(f"    {line}\n" for line in body.format(impl=impl).splitlines()))


def _submission(cn, assignment, helpers: list[str], extra_cells=(), at_end=False):
    nb = copy.deepcopy(cn.correct)
    _wrap_every_solution(nb, assignment, helpers)
    first = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("solution"))
    cells = [new_code_cell(HELPERS[h][0]) for h in helpers] + [new_code_cell(e) for e in extra_cells]
    if at_end:
        nb.cells += cells
    else:
        nb.cells[first:first] = cells
    return restore(nb, cn.master, cn.student).nb


def _verify(sandbox, tmp_path, aid, nb, master, wall=20):
    scratch = tmp_path / f"s{len(list(tmp_path.iterdir()))}"
    scratch.mkdir()
    t0 = time.monotonic()
    v = verify(get(aid), verifier_sources(nb, master), sandbox, scratch, Limits(wall_seconds=wall), 2024)
    return v, time.monotonic() - t0


def _assert_full(v, aid):
    problems = {n: e.problems for n, e in v.exercises.items() if not e.passed}
    assert not problems, (aid, problems, v.cell_errors)
    assert v.score == get(aid).max_score
    assert v.attempts == 1 and not v.flags and not v.cell_errors, (v.flags, v.cell_errors)


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_every_assignment_honest_helpers_and_experiments(aid, sandbox, course, tmp_path):
    """Every graded function of the assignment goes through every kind of helper cell; the notebook also
    holds the experiment cells; the verifier gives full marks without running any experiment."""
    cn, assignment = course[aid], get(aid)
    nb = _submission(cn, assignment, list(HELPERS), extra_cells=EXPERIMENTS)
    v, seconds = _verify(sandbox, tmp_path, aid, nb, cn.master)
    _assert_full(v, aid)
    assert seconds < 10, seconds  # the experiments alone would take minutes (or for ever)


@pytest.mark.parametrize("helper", list(HELPERS))
def test_each_kind_of_helper_cell_alone(helper, sandbox, course, tmp_path):
    aid = "03_momentum"
    nb = _submission(course[aid], get(aid), [helper])
    _assert_full(_verify(sandbox, tmp_path, aid, nb, course[aid].master)[0], aid)


def test_a_helper_defined_at_the_end_of_the_notebook(sandbox, course, tmp_path):
    aid = "01_challenges"
    nb = _submission(course[aid], get(aid), ["helper-function"], at_end=True)
    _assert_full(_verify(sandbox, tmp_path, aid, nb, course[aid].master)[0], aid)


def test_a_helper_set_by_a_skipped_statement_is_named_not_suspected(sandbox, course, tmp_path):
    """``SCALE = tune()`` cannot be reproduced: the function fails with a NameError, the note says what the
    grader runs, and ``names_not_run`` (which keeps the grader from crying tampering) names SCALE."""
    aid = "03_momentum"
    cn = course[aid]
    nb = copy.deepcopy(cn.correct)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "momentum_optimal_params")
    cell.source = cell.source.replace("    return learning_rate,", "    learning_rate = learning_rate * SCALE\n"
                                      "    return learning_rate,")
    nb.cells.insert(2, new_code_cell("def tune():\n    return 1.0\n\n\nSCALE = tune()\n"))
    nb = restore(nb, cn.master, cn.student).nb
    v, _ = _verify(sandbox, tmp_path, aid, nb, cn.master)
    ex = v.exercises["momentum_optimal_params"]
    assert not ex.passed and v.exercises["sgd_momentum"].passed
    text = " ".join(ex.problems)
    assert "NameError: name 'SCALE' is not defined" in text and "only your solution cells" in text
    assert "an assignment may call only cheap constructors" in text
    assert names_not_run(ex.problems, nb, cn.master) == ["SCALE"]


def test_course_notebooks_keep_nothing_but_what_the_solutions_use(course):
    """The course's own cells (imports, experiments, plots, widgets) add nothing heavy to the verifier."""
    for aid, cn in course.items():
        plan = verifier_plan(restore(cn.correct, cn.master, cn.student).nb, cn.master)
        assert {code for _, code in plan.kept} <= {"import math", "import numpy as np"}, (aid, plan.kept)
