"""Hangs, memory, processes, output, exits and prompts, at the top level of a cell and inside a
graded function. A hang or crash in an ordinary cell costs no points (the verifier re-runs only the
solution cells, and the learner's cells that only define things); inside a graded function or a
solution cell, only that exercise loses its points.
"""

import textwrap

from . import FULL, Fixture, but, insert_code_after, slim, solution_cell

_WHILE_TRUE = "while True:\n    pass"
_SLEEP = "import time\ntime.sleep(10**6)"
_SIGKILL = "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"
_PRINT_100MB = "print('x' * 100_000_000)"
_FD_FLOOD = "import os\nos.write(1, b'x' * 30_000_000)\nos.write(2, b'y' * 30_000_000)"
_PLOTS = """
import matplotlib.pyplot as plt
for i in range(10_000):
    plt.figure()
    plt.plot([0, i], [i, 0])
    plt.show()
"""

# Inside the graded functions: inserted as the first statement of the body.
_IN_FUNCTION_SWALLOW = """import time as _time
while True:
    try:
        _time.sleep(0.1)
    except BaseException:
        pass"""


def first_in_body(grade_id: str, code: str):
    """Insert ``code`` before the first statement of the body of the solution's function."""
    anchor = "    sqrt_min" if grade_id == "momentum_optimal_params" else "    if config is None:"
    return solution_cell(grade_id, replace=(anchor, textwrap.indent(code, "    ") + "\n" + anchor))


FIXTURES = [
    # at the top level of an ordinary cell: the kernel is stopped, the grades stand
    Fixture("while-true-cell", slim(insert_code_after("test_sgd_momentum", _WHILE_TRUE)),
            status="timeout", scores=FULL,
            description="`while True: pass` in an ordinary cell between two exercises (later cells never run)"),
    Fixture("sleep-forever-cell", slim(insert_code_after("test_momentum_optimal_params", _SLEEP)),
            status="timeout", scores=FULL, description="time.sleep(10**6) after the last test"),
    Fixture("sigkill-self", slim(insert_code_after("test_nesterov_momentum", _SIGKILL)),
            status="kernel-died", scores=FULL, description="os.kill(os.getpid(), SIGKILL) between two exercises"),
    Fixture("print-100mb", slim(insert_code_after("test_momentum_optimal_params", _PRINT_100MB)),
            status="output-truncated", scores=FULL, description="one print of 100 MB"),
    Fixture("fd-flood", slim(insert_code_after("test_momentum_optimal_params", _FD_FLOOD)),
            status="output-truncated", scores=FULL,
            description="30 MB each written straight to file descriptors 1 and 2 (around the kernel's capture)"),
    Fixture("ten-thousand-plots", slim(insert_code_after("test_momentum_optimal_params", _PLOTS)),
            status="timeout", scores=FULL, description="10,000 figures in one cell"),
    # at the top level of a solution cell: that cell's function is lost
    Fixture("sleep-in-solution-cell", slim(solution_cell("momentum_optimal_params", append=_SLEEP)),
            status="timeout", scores=but(momentum_optimal_params=0),
            description="time.sleep(10**6) after the def, in the solution cell: the verifier skips the cell"),
    Fixture("system-exit-in-solution-cell",
            slim(solution_cell("momentum_optimal_params", append="raise SystemExit('bye')")),
            status="graded", scores=FULL,
            description="`raise SystemExit` after the def: the function is defined, the cell's error is noted",
            note="SystemExit: bye"),
    # inside a graded function: only that function loses its points
    Fixture("while-true-in-function", slim(first_in_body("nesterov_momentum", _WHILE_TRUE)),
            status="timeout", scores=but(nesterov_momentum=0),
            description="`while True: pass` inside nesterov_momentum"),
    Fixture("swallow-interrupt-in-function", slim(first_in_body("momentum_optimal_params", _IN_FUNCTION_SWALLOW)),
            status="timeout", scores=but(momentum_optimal_params=0),
            description="a loop that swallows KeyboardInterrupt (and every other exception) inside the function"),
    Fixture("memory-bomb-in-function", slim(first_in_body("sgd_momentum", "_hog = np.ones((100_000, 100_000))")),
            status="memory", scores=but(sgd_momentum=0), description="sgd_momentum allocates 80 GB at once",
            note="MemoryError"),
    Fixture("os-exit-in-function", slim(first_in_body("sgd_momentum", "import os as _os\n_os._exit(0)")),
            status="kernel-died", scores=but(sgd_momentum=0), description="os._exit(0) inside sgd_momentum"),
    Fixture("sys-exit-in-function", slim(first_in_body("nesterov_momentum", "import sys as _sys\n_sys.exit('done')")),
            status="graded", scores=but(nesterov_momentum=0), description="sys.exit() inside nesterov_momentum"),
    Fixture("input-in-function", slim(first_in_body("momentum_optimal_params", "answer = input('learning rate? ')")),
            status="graded", scores=but(momentum_optimal_params=0),
            description="input() inside the function: no stdin anywhere, it raises"),
]
