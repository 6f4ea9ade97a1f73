"""Broken and hostile submissions beyond the basic class: each must end with a clear status,
with zeros only for the exercises that really fail, and never stop the others.

Most start from the slim notebook (no experiment cells) to keep the catalogue fast; ``wrong-kernelspec``
and ``warns`` keep the full notebook (correct submissions with noise)."""

from . import (FULL, ZERO, Fixture, delete_cell, duplicate_cell, edit, edit_metadata, insert_code_after, kernelspec,
               raw, slim, solution_cell)

_KILL_KERNEL = "import os\nos._exit(1)"
_MEMORY_BOMB = "import numpy as _np\n_big = _np.ones(10**10)"
_RSS_BOMB = "_chunks = []\nwhile True:\n    _chunks.append(b'x' * (100 << 20))"
_FORK_BOMB = "import os\nwhile True:\n    os.fork()"
_HUGE_OUTPUT = "for _ in range(2000):\n    print('x' * 10_000)"
_INPUT = "name = input('your name? ')"
_SYS_EXIT = "import sys\nsys.exit(0)"

FIXTURES = [
    Fixture("kill-kernel-after-tests", slim(insert_code_after("test_momentum_optimal_params", _KILL_KERNEL)),
            status="kernel-died", scores=FULL),
    Fixture("kill-kernel-in-solution", slim(solution_cell("nesterov_momentum", append=_KILL_KERNEL)),
            status="kernel-died", scores={**FULL, "nesterov_momentum": 0, "momentum_optimal_params": 2}),
    Fixture("memory-error", slim(insert_code_after("test_momentum_optimal_params", _MEMORY_BOMB)),
            status="memory", scores=FULL),
    Fixture("rss-bomb", slim(insert_code_after("test_momentum_optimal_params", _RSS_BOMB)),
            status="memory", scores=FULL),
    Fixture("fork-bomb", slim(insert_code_after("test_momentum_optimal_params", _FORK_BOMB)),
            status="process-limit", scores=FULL),
    Fixture("huge-output", slim(insert_code_after("test_sgd_momentum", _HUGE_OUTPUT)),
            status="output-truncated", scores=FULL),
    Fixture("input", slim(insert_code_after("test_sgd_momentum", _INPUT)), status="graded", scores=FULL),
    Fixture("sys-exit", slim(insert_code_after("test_sgd_momentum", _SYS_EXIT)), status="graded", scores=FULL),
    Fixture("duplicated-test", slim(duplicate_cell("test_sgd_momentum")), status="missing-cells-restored", scores=FULL),
    Fixture("test-metadata-removed", slim(edit_metadata("test_sgd_momentum", nbgrader=None),
                                          solution_cell("sgd_momentum", replace=("- config", "+ config"))),
            status="missing-cells-restored", scores={**FULL, "sgd_momentum": 0}),
    Fixture("points-edited", slim(edit_metadata("test_nesterov_momentum", points=400)),
            status="graded", scores=FULL,
            description="400 points in a test cell's metadata: the source's points count, with a note, not a flag "
                        "(a notebook released before the instructor changed the points looks the same)"),
    Fixture("wrong-kernelspec", edit(kernelspec("ir", "R")), status="graded", scores=FULL),
    Fixture("invalid-nbformat", lambda cn: {"03_momentum.ipynb": _invalid(cn)}, status="malformed", scores=FULL),
    Fixture("no-notebook-file", raw({"other.ipynb": b"{}"}), status="no-notebook", scores=ZERO),
    Fixture("warns", edit(solution_cell("momentum_optimal_params", replace=(
        "    return learning_rate",
        "    import warnings\n    warnings.warn('kappa is large')\n    return learning_rate"))),
            status="graded", scores=FULL, description="a correct function that writes a warning to stderr"),
    Fixture("deleted-solution", slim(delete_cell("momentum_optimal_params")), status="missing-cells-restored",
            scores={**FULL, "momentum_optimal_params": 0}),
]


def _invalid(cn) -> bytes:
    import json

    import nbformat

    nb = json.loads(nbformat.writes(cn.slim))
    for cell in nb["cells"]:
        cell.pop("id", None)
        cell["unexpected"] = True
    nb["nbformat_minor"] = 5
    return json.dumps(nb).encode()
