"""Broken and hostile submissions beyond the basic class: each must end with a clear status,
with zeros only for the exercises that really fail, and never stop the others."""

from . import (FULL, ZERO, Fixture, delete_cell, duplicate_cell, edit, edit_metadata, insert_code_after, kernelspec,
               raw, solution_cell)

_KILL_KERNEL = "import os\nos._exit(1)"
_MEMORY_BOMB = "import numpy as _np\n_big = _np.ones(10**10)"
_RSS_BOMB = "_chunks = []\nwhile True:\n    _chunks.append(b'x' * (100 << 20))"
_FORK_BOMB = "import os\nwhile True:\n    os.fork()"
_HUGE_OUTPUT = "for _ in range(2000):\n    print('x' * 10_000)"
_INPUT = "name = input('your name? ')"
_SYS_EXIT = "import sys\nsys.exit(0)"

FIXTURES = [
    Fixture("kill-kernel-after-tests", edit(insert_code_after("test_momentum_optimal_params", _KILL_KERNEL)),
            status="kernel-died", scores=FULL),
    Fixture("kill-kernel-in-solution", edit(solution_cell("nesterov_momentum", append=_KILL_KERNEL)),
            status="kernel-died", scores={**FULL, "nesterov_momentum": 0, "momentum_optimal_params": 2}),
    Fixture("memory-error", edit(insert_code_after("test_momentum_optimal_params", _MEMORY_BOMB)),
            status="memory", scores=FULL),
    Fixture("rss-bomb", edit(insert_code_after("test_momentum_optimal_params", _RSS_BOMB)),
            status="memory", scores=FULL),
    Fixture("fork-bomb", edit(insert_code_after("test_momentum_optimal_params", _FORK_BOMB)),
            status="process-limit", scores=FULL),
    Fixture("huge-output", edit(insert_code_after("test_sgd_momentum", _HUGE_OUTPUT)),
            status="output-truncated", scores=FULL),
    Fixture("input", edit(insert_code_after("test_sgd_momentum", _INPUT)), status="graded", scores=FULL),
    Fixture("sys-exit", edit(insert_code_after("test_sgd_momentum", _SYS_EXIT)), status="graded", scores=FULL),
    Fixture("duplicated-test", edit(duplicate_cell("test_sgd_momentum")), status="missing-cells-restored", scores=FULL),
    Fixture("test-metadata-removed", edit(edit_metadata("test_sgd_momentum", nbgrader=None),
                                          solution_cell("sgd_momentum", replace=("- config", "+ config"))),
            status="missing-cells-restored", scores={**FULL, "sgd_momentum": 0}),
    Fixture("points-edited", edit(edit_metadata("test_nesterov_momentum", points=400)),
            status="missing-cells-restored", scores=FULL),
    Fixture("wrong-kernelspec", edit(kernelspec("ir", "R")), status="graded", scores=FULL),
    Fixture("invalid-nbformat", lambda cn: {"03_momentum.ipynb": _invalid(cn)}, status="malformed", scores=FULL),
    Fixture("no-notebook-file", raw({"other.ipynb": b"{}"}), status="no-notebook", scores=ZERO),
    Fixture("warns", edit(solution_cell("momentum_optimal_params", replace=(
        "    return learning_rate", "    import warnings\n    warnings.warn('kappa is large')\n    return learning_rate"))),
            status="graded", scores=FULL, description="a correct function that writes a warning to stderr"),
    Fixture("deleted-solution", edit(delete_cell("momentum_optimal_params")), status="missing-cells-restored",
            scores={**FULL, "momentum_optimal_params": 0}),
]


def _invalid(cn) -> bytes:
    import json

    import nbformat

    nb = json.loads(nbformat.writes(cn.correct))
    for cell in nb["cells"]:
        cell.pop("id", None)
        cell["unexpected"] = True
    nb["nbformat_minor"] = 5
    return json.dumps(nb).encode()
