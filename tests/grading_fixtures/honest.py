"""Honest work is never accused: correct submissions whose graded functions use helpers from the
learner's own cells, cells that also print, plot, import or hold IPython magics.

The verifier runs the solution cells whole and, from every other code cell, the statements that
define something cheaply and that the solution cells need (``autograder/grading/notebooks.py``,
``verifier_plan``): ``DEFAULTS = dict(...)`` is kept while the ``print(DEFAULTS)`` after it is
skipped, rather than the whole cell. Each of these must get full marks with status ``graded``
(before, most lost the exercise that used the helper and were marked ``tamper-suspected``).
"""

from . import FULL, Fixture, _find, insert_code_after, slim, solution_cell

# Exercise 1's defaults, filled in from the learner's own dict, which the helper cell also prints.
_DEFAULTS_CELL = """
DEFAULTS = dict(learning_rate=1e-2, momentum=0.9)
print("my defaults:", DEFAULTS)
"""
_SETDEFAULTS = ('    config.setdefault("learning_rate", 1e-2)\n    config.setdefault("momentum", 0.9)\n')
_USE_DEFAULTS = (_SETDEFAULTS, "    for key, value in DEFAULTS.items():\n        config.setdefault(key, value)\n")

_HELPER_FUNCTION_CELL = '''
def _velocity(v, dw, learning_rate, momentum):
    """The heavy-ball velocity after one step."""
    return momentum * v - learning_rate * dw


print(_velocity(np.zeros(2), np.ones(2), 0.1, 0.9))  # trying it out
'''
_USE_HELPER_FUNCTION = ('    v = config["momentum"] * config["velocity"] - config["learning_rate"] * dw',
                        '    v = _velocity(config["velocity"], dw, config["learning_rate"], config["momentum"])')

_PLOT_CELL = '''
import matplotlib.pyplot as plt

MOMENTA = [0.0, 0.5, 0.9, 0.99]
plt.plot(MOMENTA, [1 / (1 - m) for m in MOMENTA], marker="o")
plt.xlabel("momentum")
plt.title("long-run step / learning rate")
plt.show()


def _look_ahead(w, v_prev, v, mu):
    """Nesterov's step in the stored-look-ahead form."""
    return w - mu * v_prev + (1 + mu) * v
'''
_USE_PLOT_CELL = ("    next_w = w - mu * v_prev + (1 + mu) * v", "    next_w = _look_ahead(w, v_prev, v, mu)")

_CLASS_CELL = '''
class Hyper:
    """The defaults of the update rules, in one place."""

    learning_rate = 1e-2
    momentum = 0.9

    @classmethod
    def fill(cls, config):
        config.setdefault("learning_rate", cls.learning_rate)
        config.setdefault("momentum", cls.momentum)
        return config


print(Hyper.fill({}))
'''
_USE_CLASS = (_SETDEFAULTS, "    Hyper.fill(config)\n")

_IMPORT_CELL = """
from functools import partial

_sqrt = partial(pow, exp=0.5)
print(_sqrt(16.0))
"""
_USE_IMPORT = ("math.sqrt(lambda_min), math.sqrt(lambda_max)", "_sqrt(lambda_min), _sqrt(lambda_max)")

_MAGIC_CELL = """%matplotlib inline
MOMENTUM = 0.9
"""
_USE_MAGIC = ('    config.setdefault("momentum", 0.9)\n', '    config.setdefault("momentum", MOMENTUM)\n')

_NUMPY_CONSTANT_CELL = """
EPS = np.finfo(float).eps
print(f"machine epsilon: {EPS:.3g}")
"""
_USE_NUMPY_CONSTANT = ("    sqrt_min, sqrt_max",
                       "    if lambda_max - lambda_min <= EPS * lambda_max:  # kappa = 1: plain gradient descent\n"
                       "        return 1.0 / lambda_max, 0.0, 0.0\n"
                       "    sqrt_min, sqrt_max")


def edit_first_code_cell(prepend: str = "", append: str = ""):
    """Change the notebook's own import cell (the first code cell), as learners do."""

    def apply(nb):
        cell = next(c for c in nb.cells if c.cell_type == "code")
        cell.source = prepend + cell.source + append

    return apply


def append_code(source: str):
    """Add an ordinary code cell at the end of the notebook."""

    def apply(nb):
        import nbformat

        nb.cells.append(nbformat.v4.new_code_cell(source))

    return apply


def _before(grade_id: str, source: str):
    """Add an ordinary code cell right before cell ``grade_id`` (after the exercise's text)."""

    def apply(nb):
        import nbformat

        nb.cells.insert(_find(nb, grade_id), nbformat.v4.new_code_cell(source))

    return apply


FIXTURES = [
    Fixture("honest-defaults-printed", slim(_before("sgd_momentum", _DEFAULTS_CELL),
                                            solution_cell("sgd_momentum", replace=_USE_DEFAULTS)),
            status="graded", scores=FULL,
            description="sgd_momentum fills in DEFAULTS = dict(...) from a cell of the learner's that also prints it"),
    Fixture("honest-helper-function", slim(_before("sgd_momentum", _HELPER_FUNCTION_CELL),
                                           solution_cell("sgd_momentum", replace=_USE_HELPER_FUNCTION)),
            status="graded", scores=FULL,
            description="sgd_momentum calls a helper function from a cell that also calls it once, in a print"),
    Fixture("honest-plot-in-helper-cell", slim(_before("nesterov_momentum", _PLOT_CELL),
                                               solution_cell("nesterov_momentum", replace=_USE_PLOT_CELL)),
            status="graded", scores=FULL,
            description="nesterov_momentum uses a helper from a cell that imports pyplot and draws a figure"),
    Fixture("honest-class-helper", slim(_before("sgd_momentum", _CLASS_CELL),
                                        solution_cell("sgd_momentum", replace=_USE_CLASS)),
            status="graded", scores=FULL,
            description="sgd_momentum takes its defaults from a class (with a classmethod) of the learner's"),
    Fixture("honest-import-in-helper-cell", slim(_before("momentum_optimal_params", _IMPORT_CELL),
                                                 solution_cell("momentum_optimal_params", replace=_USE_IMPORT)),
            status="graded", scores=FULL,
            description="`from functools import partial` and `_sqrt = partial(pow, exp=0.5)` in a helper cell"),
    Fixture("honest-magic-in-helper-cell", slim(_before("sgd_momentum", _MAGIC_CELL),
                                                solution_cell("sgd_momentum", replace=_USE_MAGIC)),
            status="graded", scores=FULL,
            description="a helper cell starting with `%matplotlib inline` (not Python: IPython syntax)"),
    Fixture("honest-magic-in-solution-cell",
            slim(solution_cell("nesterov_momentum", prepend="%matplotlib inline"),
                 edit_first_code_cell(prepend="%matplotlib inline\n", append="\nfrom functools import partial\n"),
                 solution_cell("momentum_optimal_params", prepend="_sqrt = partial(pow, exp=0.5)",
                               replace=_USE_IMPORT)),
            status="graded", scores=FULL,
            description="`%matplotlib inline` on top of a solution cell and of the notebook's import cell, "
                        "which also gets the `from functools import partial` a solution cell uses"),
    Fixture("honest-numpy-constant", slim(_before("momentum_optimal_params", _NUMPY_CONSTANT_CELL),
                                          solution_cell("momentum_optimal_params", replace=_USE_NUMPY_CONSTANT)),
            status="graded", scores=FULL,
            description="EPS = np.finfo(float).eps (a call) in a helper cell that prints it; used for kappa = 1"),
    Fixture("honest-own-numpy-alias",
            slim(edit_first_code_cell(append="\nimport numpy as onp\n"),
                 solution_cell("sgd_momentum", replace=("np.zeros_like(w)", "onp.zeros_like(w)"))),
            status="graded", scores=FULL,
            description="the learner imports numpy under another name in the notebook's import cell and uses it"),
    Fixture("honest-helper-defined-later",
            slim(solution_cell("sgd_momentum", replace=_USE_HELPER_FUNCTION), append_code(_HELPER_FUNCTION_CELL)),
            status="graded", scores=FULL,
            description="the helper is defined at the end of the notebook: the in-kernel test fails (NameError), "
                        "the verifier (which runs every kept statement first) gives the points"),
    Fixture("honest-experiments-skipped",
            slim(_before("sgd_momentum", _DEFAULTS_CELL), solution_cell("sgd_momentum", replace=_USE_DEFAULTS),
                 insert_code_after("test_sgd_momentum",
                                   "history = []\nfor lr in (0.1, 0.01):\n    history.append(lr)\n"
                                   "DEFAULTS.update(learning_rate=history[-1])  # an experiment's leftovers\n"
                                   "print(history)")),
            status="graded", scores=FULL,
            description="after the test, an experiment cell (a loop, then DEFAULTS.update from its result): "
                        "the verifier skips the loop, and so the update that reads what the loop made"),
]
