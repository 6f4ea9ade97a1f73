"""The class graded end to end by tests/test_grading.py: honest, empty, broken and hostile submissions."""

from . import FULL, ZERO, Fixture, delete_cell, edit, insert_code_after, on_this_host, raw, solution_cell

# A solution cell that silences every in-kernel check (visible and hidden) and gets sgd_momentum wrong:
# plain nbgrader would give it full marks.
_SILENCE_CHECKS = """
import autograder.spec as _spec
_spec.compare_plain = lambda *a, **k: []
run_check = lambda *a, **k: None
np.allclose = lambda *a, **k: True
"""

_SNOOP = on_this_host("""
import glob, os
for _p in ["$REPO/gradebook.db", "$REPO/solutions", "$REPO/autograder/references"]:
    assert not os.path.exists(_p), _p
assert not glob.glob("$REPO_PARENT/**/gradebook.db", recursive=True)
try:
    open("$REPO/pwned.txt", "w").write("x")
except OSError:
    pass
""")

_SWALLOW_INTERRUPTS = """
while True:
    try:
        pass
    except KeyboardInterrupt:
        pass
"""

FIXTURES = [
    Fixture("correct", edit(), status="graded", scores=FULL, description="the solution notebook's code"),
    Fixture("empty", edit(start="student"), status="graded", scores=ZERO, description="the released notebook, untouched"),
    Fixture("tamper", edit(solution_cell("sgd_momentum", append=_SILENCE_CHECKS, replace=("- config", "+ config"))),
            status="tamper-suspected", scores={**FULL, "sgd_momentum": 0},
            description="wrong sgd_momentum, checks patched to pass in the kernel"),
    Fixture("not-json", raw({"03_momentum.ipynb": b'{"cells": [ this is not json'}), status="malformed", scores=ZERO),
    Fixture("deleted-test", edit(delete_cell("test_nesterov_momentum")), status="missing-cells-restored", scores=FULL),
    Fixture("snoop-and-shadow", edit(solution_cell("momentum_optimal_params", prepend=_SNOOP),
                                     extra_files={"numpy.py": b"raise SystemExit('shadowed numpy')\n"}),
            status="graded", scores=FULL, description="looks for the gradebook, plants numpy.py beside the notebook"),
    Fixture("swallow-interrupt", edit(insert_code_after("test_momentum_optimal_params", _SWALLOW_INTERRUPTS)),
            status="timeout", scores=FULL,
            description="a cell after the last test loops and swallows KeyboardInterrupt: killed, grades kept"),
]
