"""Every cost of grading is bounded: results too large (or too slow) to judge, and long notebooks.

A graded function's result crosses back from the verifier's sandbox as a file the grader reads
and judges in its own process: past 32 MiB it is not read, past 100,000 items (lists, dicts,
numbers, arrays) or 16 levels of nesting it is not unpacked, an array of the wrong size is
refused by its shape before any elementwise work, and judging one exercise stops after
``judge_timeout`` s. Each such function loses its own points only; the status stays ``graded``.
Here ``momentum_optimal_params`` misbehaves on one case of ten, κ = 1 (``(1.0, 1.0)``, always
among the cases), and is correct on the others; in the kernel it fails its tests too (so nothing
looks tampered with).

A notebook's outputs come back one JSON line per cell and the executed notebook is written once
(saving it after every cell made time grow with the square of the cell count); when the runner
itself is killed, the lines still bring back what ran.
"""

import nbformat

from . import FULL, Fixture, but, insert_code_after, slim, solution_cell

_ANCHOR = "    sqrt_min, sqrt_max = math.sqrt(lambda_min), math.sqrt(lambda_max)"


def on_kappa_one(returns: str, setup: str = ""):
    """momentum_optimal_params returns ``returns`` for lambda_min = lambda_max = 1 (after ``setup``)."""
    body = "    if lambda_min == 1.0 and lambda_max == 1.0:\n"
    body += "".join(f"        {line}\n" for line in setup.splitlines() if line.strip())
    body += f"        return {returns}\n"
    return solution_cell("momentum_optimal_params", replace=(_ANCHOR, body + _ANCHOR))


def trivial_cells(n: int):
    """``n`` ordinary code cells at the end of the notebook (``x_0 = 0``, ``x_1 = 1``, ...)."""

    def apply(nb):
        nb.cells += [nbformat.v4.new_code_cell(f"x_{i} = {i}") for i in range(n)]

    return apply


_KILL_RUNNER = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)  # the notebook runner, not the kernel"

FIXTURES = [
    Fixture("huge-array-result", slim(on_kappa_one("np.zeros(3_000_000)")),
            status="graded", scores=but(momentum_optimal_params=0),
            description="a (3,000,000,) array (24 MB) where three floats are expected: refused by its shape",
            note="should be a sequence of 3, got ndarray"),
    Fixture("oversized-result", slim(on_kappa_one("np.zeros(5_000_000)")),
            status="graded", scores=but(momentum_optimal_params=0),
            description="a 40 MB array: the result file is not even read", note="larger than the 32 MiB"),
    # (300,000 items, not millions: the kernel packs the value too, for its own hidden tests, and a
    # cell there may take 10 s in the catalogue; either size is far past the caps)
    Fixture("huge-nested-list", slim(on_kappa_one("[[0.5] * 1000 for _ in range(300)]")),
            status="graded", scores=but(momentum_optimal_params=0),
            description="a list of 300 lists of 1,000 floats", note="the results could not be sent back"),
    Fixture("huge-dict", slim(on_kappa_one("{str(i): 0.0 for i in range(300_000)}")),
            status="graded", scores=but(momentum_optimal_params=0),
            description="a dict of 300,000 keys", note="the results could not be sent back"),
    Fixture("deep-wide-list", slim(on_kappa_one("_x", setup="_x = [0]\nfor _ in range(10):\n    _x = [_x, _x, _x]")),
            status="graded", scores=but(momentum_optimal_params=0),
            description="a tree of lists 11 levels deep, 3 wide: 147,622 items", note="more than 100000 items"),
    Fixture("six-hundred-cells", slim(trivial_cells(600)), status="graded", scores=FULL,
            description="600 more trivial code cells after the last test"),
    Fixture("runner-killed-after-tests", slim(insert_code_after("test_momentum_optimal_params", _KILL_RUNNER)),
            status="kernel-died", scores=FULL,
            description="a cell after the last test kills the notebook runner (the kernel's parent): the grader "
                        "rebuilds the outputs from the lines written after each cell"),
]
