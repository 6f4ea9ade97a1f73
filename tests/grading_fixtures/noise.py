"""Correct submissions with something harmless (or hostile but beside the point) added: each must
get full marks, with the status that says what happened. These start from the full notebook (the
experiments run too), unlike the hostile fixtures."""

from . import FULL, Fixture, delete_cell, edit, solution_cell

_STDERR_AND_WARNINGS = """
import logging as _logging
import sys as _sys
import warnings as _warnings
print("about to define my functions", file=_sys.stderr)
_warnings.warn("this cell is noisy", UserWarning)
_logging.getLogger("mine").warning("a log record on stderr")
"""
_WARN_IN_FUNCTION = ("    if config is None:",
                     "    import warnings as _warnings\n"
                     "    _warnings.warn('velocity is fun', RuntimeWarning)\n"
                     "    if config is None:")
# A warning inside the function is shown once per place (Python's default filter); an unconditional
# print there would run on every call of 03's experiments (thousands) and rightly be cut
# ("output-truncated"), which is a different fixture's point.

_EXTRA_FILES = {
    "numpy.py": b"raise SystemExit('the planted numpy.py was imported')\n",
    "sitecustomize.py": b"raise SystemExit('the planted sitecustomize.py was imported')\n",
    "nnopt_helpers/__init__.py": b"raise SystemExit('the planted nnopt_helpers was imported')\n",
    "autograder/__init__.py": b"raise SystemExit('the planted autograder was imported')\n",
    "evil.pth": b"import sys; sys.exit('the planted .pth ran')\n",
    "data.csv": b"a,b\n1,2\n",
}

FIXTURES = [
    Fixture("control-correct", edit(), status="graded", scores=FULL,
            description="the solution notebook's code: also the target of the isolation fixtures"),
    Fixture("noise-stderr-and-warnings", edit(solution_cell("sgd_momentum", prepend=_STDERR_AND_WARNINGS,
                                                            replace=_WARN_IN_FUNCTION),
                                              solution_cell("momentum_optimal_params", prepend=_STDERR_AND_WARNINGS)),
            status="graded", scores=FULL,
            description="warnings, logging and prints on stderr at the top of solution cells, a warning inside a function"),
    Fixture("noise-all-tests-deleted", edit(delete_cell("test_sgd_momentum"), delete_cell("test_nesterov_momentum"),
                                            delete_cell("test_momentum_optimal_params")),
            status="missing-cells-restored", scores=FULL, description="every test cell deleted: all put back"),
    Fixture("noise-extra-files", edit(extra_files=_EXTRA_FILES), status="graded", scores=FULL,
            description="numpy.py, sitecustomize.py, a .pth, nnopt_helpers/ and autograder/ that would break imports"),
]
