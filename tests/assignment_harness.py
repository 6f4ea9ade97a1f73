"""What the tests of every assignment share: the source notebook, the solution functions taken
exactly as the verifier takes them, the mutants, and each assignment's small special cases.

The solution functions come from the cells marked ``solution: true``, executed in order after
``import numpy as np, math`` and nothing else (so a later exercise may call an earlier one, as in
the verifier). ``tests/test_assignments.py`` runs the generic checks over every registered
assignment with the data of :data:`SPECS`; the per-assignment files keep what is particular to
one notebook (its maths, cases, drivers, call styles and verifier runs).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import nbformat
import numpy as np
import pytest

from autograder.assignments import get, ids, module_name
from nnopt_helpers.checks import CheckFailed, load_expected, run_check

ROOT = Path(__file__).resolve().parent.parent
PREAMBLE = "import numpy as np, math"
#: Failures that say what is wrong without a hint (used where a spec allows unhinted failures).
SELF_EXPLAINED = ("modified its input", "raised")


# ---------------------------------------------------------------------------------------------
# Each assignment's special cases


def _lapack_gives_real_eigenvalues() -> str | None:
    from autograder.assignments.challenges import repeated_eigenvalue_matrix

    if not np.iscomplexobj(np.linalg.eigvals(repeated_eigenvalue_matrix())):
        return "this LAPACK returns real eigenvalues for the repeated-eigenvalue matrix"
    return None


def _init_call(name, namespace):
    from nnopt_helpers import init_checks

    return {"orthogonal": init_checks.orthogonal_stats, "lsuv_init": init_checks.lsuv_stats}.get(
        name, init_checks.initializer_stats)


def _bn_call(name, namespace):
    from nnopt_helpers.checks import backward_through

    if name in ("batchnorm_forward", "layernorm_forward"):
        return None
    return backward_through(namespace["layernorm_forward" if name.startswith("layernorm") else "batchnorm_forward"])


@dataclass(frozen=True)
class Spec:
    """What the generic checks need to know about one assignment."""

    #: (exercise, mutant) -> why the visible checks cannot see it (the hidden tests still catch it)
    visible_blind: dict = field(default_factory=dict)
    #: (exercise, mutant) -> the mutants the hint may name instead of this one (their outputs are the
    #: same); the hint names the first of them in the catalogue, or any where the set says so
    same_output_as: dict = field(default_factory=dict)
    #: (exercise, mutant) -> a function giving a reason to skip the hidden-test check here, or None
    hidden_skips: dict = field(default_factory=dict)
    #: what a failure without a hint may say instead; empty: every failure names the mistake
    unhinted: tuple = SELF_EXPLAINED
    #: seeds the solution must pass the hidden tests with
    seeds: tuple = (None, 1, 2)
    #: (number of case seeds, rtol) for "the references agree with the solution"; None: checked in
    #: the assignment's own file (properties-judged exercises have no reference to agree with)
    reference_agreement: tuple | None = None
    #: words each solution function's docstring must contain (besides being there)
    docstring_words: tuple = ()
    #: call(name, namespace) -> the ``call`` a test cell passes to run_check (None: the entry's own)
    call: Callable | None = None
    #: name -> the source of that ``call=`` argument in the test cell (", call=...")
    call_source: dict = field(default_factory=dict)


class _Specs(dict):
    """An assignment without special cases needs no entry: it gets the defaults."""

    def __missing__(self, aid: str) -> Spec:
        return Spec()


SPECS: dict[str, Spec] = _Specs({
    "01_challenges": Spec(
        visible_blind={("max_stable_learning_rate", "eigvals_complex"):
                       "np.linalg.eigvals returns real eigenvalues for the visible matrix; "
                       "the hidden tests use a repeated eigenvalue"},
        # outputs equal to another mistake's on some hidden case: the hint may name either
        same_output_as={
            ("max_stable_learning_rate", "eigvals_last"): {"eigvals_last", "lambda_min"},
            ("optimal_learning_rate", "trace"): {"trace", "two_over_lambda_max", "missing_two"},
            ("optimal_learning_rate", "diagonal"): {"diagonal", "two_over_lambda_max"},
            ("gd_convergence_rate", "min_instead_of_max"): {"min_instead_of_max", "lambda_max_only",
                                                            "lambda_min_only"},
            ("gd_convergence_rate", "no_abs"): {"no_abs", "lambda_min_only"},
            ("empirical_risk", "absolute"): {"absolute", "root"},
        },
        hidden_skips={("max_stable_learning_rate", "eigvals_complex"): _lapack_gives_real_eigenvalues},
        reference_agreement=(3, 1e-10),
        docstring_words=("Args", "Returns", "shape", "not modified"),
    ),
    "02_local_optima": Spec(
        # the mistake's first failing hidden case is also failed, identically, by an earlier mutant
        same_output_as={
            ("classify_critical_point", "diagonal_only"): {"tol_ignored"},
            ("classify_critical_point", "trace_and_determinant"): {"determinant_only"},
        },
        unhinted=SELF_EXPLAINED + ("same seed",),
        docstring_words=("Args", "Returns", "shape"),
    ),
    "03_momentum": Spec(
        # outputs identical to another mistake's: the hint names the first of the group
        same_output_as={
            ("nesterov_momentum", "uses_new_velocity"): {"plain_momentum"},
            ("nesterov_momentum", "v_prev_aliased"): {"plain_momentum"},
            ("sgd_momentum", "ignores_momentum"): {"velocity_reset_each_call"},
        },
        seeds=(None, 1, 2, 3),
        reference_agreement=(5, 1e-12),
        docstring_words=("Args", "Returns", "learning_rate", "momentum"),
    ),
    "04_adaptive_lr": Spec(
        seeds=(None, 1, 2, 3),
        reference_agreement=(5, 1e-12),
        docstring_words=("Args", "Returns"),
    ),
    "05_initialization": Spec(
        unhinted=(),  # judged by properties: the grader always names the mistake
        docstring_words=("Args", "Returns", "shape", "fan_in", "fan_out"),
        call=_init_call,
        call_source={"xavier_uniform": ", call=init_checks.initializer_stats",
                     "xavier_normal": ", call=init_checks.initializer_stats",
                     "he_normal": ", call=init_checks.initializer_stats",
                     "orthogonal": ", call=init_checks.orthogonal_stats",
                     "lsuv_init": ", call=init_checks.lsuv_stats"},
    ),
    "06_batch_norm": Spec(
        reference_agreement=(3, 1e-9),
        docstring_words=("Args", "Returns", "shape", "not modified", "cache"),
        # the backward passes are checked through the batchnorm_forward next to them
        call=_bn_call,
        call_source={"batchnorm_backward": ", call=backward_through(batchnorm_forward)",
                     "batchnorm_backward_alt": ", call=backward_through(batchnorm_forward)",
                     "layernorm_backward": ", call=backward_through(layernorm_forward)"},
    ),
    "07_training_in_practice": Spec(
        reference_agreement=(3, 1e-9),
        docstring_words=("Args", "Returns", "shape", "not modified"),
    ),
})


# ---------------------------------------------------------------------------------------------
# The assignment, its notebook and its solution


def visible(aid: str) -> dict:
    """exercise -> the names of its visible checks: the public cases its ``Exercise`` declares (the one
    place they are written; ``nnopt_helpers/expected/<id>.json`` is generated from them)."""
    return {ex.name: list(ex.public()) if ex.public else [] for ex in get(aid).exercises}


def assignment_module(aid: str):
    return importlib.import_module(module_name(aid))


def mutants(aid: str) -> dict:
    """The assignment's MUTANTS: {exercise: {mutant: (fn, description)}}."""
    return importlib.import_module(module_name(aid, "mutants")).MUTANTS


def exercises(aid: str) -> list[str]:
    return [ex.name for ex in get(aid).exercises]


def is_value(aid: str, name: str) -> bool:
    """A number the learner derives (driver ``value``), not a function."""
    from autograder.drivers import VALUE_DRIVERS

    return get(aid).exercise(name).driver in VALUE_DRIVERS


def written_answers(aid: str) -> dict[str, float]:
    """grade_id -> points of the manually graded written answers (markdown solution cells with points)."""
    return {nbgrader(c)["grade_id"]: float(nbgrader(c)["points"]) for c in source_notebook(aid).cells
            if c.cell_type == "markdown" and nbgrader(c).get("grade") and nbgrader(c).get("solution")}


def exercise_ids() -> list[tuple[str, str]]:
    """(assignment, exercise) for every exercise of every registered assignment."""
    return [(aid, name) for aid in ids() for name in exercises(aid)]


def mutant_ids(aid: str | None = None) -> list[tuple[str, str, str]]:
    """(assignment, exercise, mutant) for every known mistake (of one assignment, or of all)."""
    return [(a, name, m) for a in ([aid] if aid else ids()) for name in exercises(a) for m in mutants(a)[name]]


def source_path(aid: str) -> Path:
    return ROOT / "solutions" / aid / f"{aid}.ipynb"


@functools.cache
def source_notebook(aid: str):
    """The source notebook (read once per process; do not modify it)."""
    return nbformat.read(source_path(aid), as_version=4)


def nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def visible_mutant_ids() -> list[tuple[str, str, str]]:
    """:func:`mutant_ids` of the exercises that have visible checks (a derived number has none: its one
    check would give the number away)."""
    return [(a, n, m) for a, n, m in mutant_ids() if visible(a)[n]]


def solution_cells(aid: str) -> list:
    return [c for c in source_notebook(aid).cells if c.cell_type == "code" and nbgrader(c).get("solution")]


@functools.cache
def _solution_namespace(aid: str) -> dict:
    namespace: dict = {}
    exec(PREAMBLE, namespace)
    for cell in solution_cells(aid):
        exec(compile(cell.source, f"<solution cell {nbgrader(cell)['grade_id']}>", "exec"), namespace)
    return namespace


def solution_namespace(aid: str) -> dict:
    """The solution cells run in order after the verifier's preamble, as the verifier runs them."""
    return dict(_solution_namespace(aid))


def code_cell(aid: str, marker: str) -> str:
    """The source of the one code cell of ``aid``'s source notebook that contains ``marker``."""
    hits = [c.source for c in source_notebook(aid).cells if c.cell_type == "code" and marker in c.source]
    assert len(hits) == 1, f"{aid}: {len(hits)} code cells contain {marker!r}"
    return hits[0]


def notebook_namespace(aid: str, **names) -> dict:
    """The solution functions of ``aid`` plus what the notebooks import, and the given names: where a
    claim test runs a notebook's own cell."""
    import math

    import matplotlib.pyplot as plt

    from nnopt_helpers import data, gradcheck, init_checks, nets, plots, surfaces, widgets

    ns = solution_namespace(aid)
    ns.update(np=np, math=math, plt=plt, plots=plots, nets=nets, surfaces=surfaces, widgets=widgets,
              data=data, init_checks=init_checks, gradcheck=gradcheck)
    ns.update(names)
    return ns


def solution_functions(aid: str) -> dict:
    """The graded functions, from :func:`solution_namespace`."""
    namespace = _solution_namespace(aid)
    return {name: namespace[name] for name in exercises(aid)}


def stub_namespace(aid: str) -> dict:
    """The untouched student notebook: every graded function a stub, all in one namespace."""
    stubs: dict = {}
    for name in exercises(aid):
        if is_value(aid, name):
            stubs[name] = None  # as released: ``predicted_... = None``, then the stub raises
        else:
            exec(f"def {name}(*args, **kwargs):\n    raise NotImplementedError()", stubs)
    return stubs


# ---------------------------------------------------------------------------------------------
# Running the checks


@contextlib.contextmanager
def quiet_numpy():
    """Mistakes that diverge or divide by zero are part of the catalogues; their warnings are not news."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def visible_call(aid: str, name: str, namespace: dict):
    """The ``call`` the test cell of ``name`` passes to run_check, built on ``namespace``."""
    spec = SPECS[aid]
    return spec.call(name, namespace) if spec.call else None


def run_visible(aid: str, name: str, fn, namespace: dict, checks=None) -> dict:
    """Run the visible checks of exercise ``name`` on ``fn``: {check: failure message} of those that fail."""
    call = visible_call(aid, name, namespace)
    failures = {}
    for check in visible(aid)[name] if checks is None else checks:
        try:
            with quiet_numpy():
                run_check(aid, check, fn, call=call, quiet=True)
        except CheckFailed as exc:
            failures[check] = str(exc)
    return failures


def assert_mutant_fails_hidden_tests(aid: str, name: str, mutant: str) -> None:
    """The hidden tests reject the mistake, with a hint naming it (or a mistake with the same output)."""
    from autograder.spec import HiddenTestFailure

    spec = SPECS[aid]
    skip = spec.hidden_skips.get((name, mutant))
    reason = skip() if skip else None
    if reason:
        pytest.skip(reason)
    catalogue = mutants(aid)[name]
    fn, _ = catalogue[mutant]
    with pytest.raises(HiddenTestFailure) as info, quiet_numpy():
        get(aid).check(name, fn)
    message = str(info.value)
    if "Hint:" in message or not spec.unhinted:
        named = spec.same_output_as.get((name, mutant), {mutant})
        assert any(catalogue[m][1] in message for m in named), message
    else:  # the failure itself says what is wrong
        assert any(s in message for s in spec.unhinted), message


def assert_mutant_fails_visible_checks(aid: str, name: str, mutant: str) -> None:
    """Some visible check fails; where a check stores this mistake, its message is the one shown."""
    spec = SPECS[aid]
    if (name, mutant) in spec.visible_blind:
        pytest.xfail(spec.visible_blind[(name, mutant)])
    module = importlib.import_module(module_name(aid, "mutants"))
    fn, _ = module.MUTANTS[name][mutant]
    # a backward pass is checked through the mutants module's own (correct) forward pass
    failures = run_visible(aid, name, fn, vars(module))
    assert failures, f"{mutant} passes every visible check of {name}"
    expected = load_expected(aid)
    for check in visible(aid)[name]:
        for mistake in expected[check].get("mistakes", []):
            if mistake["name"] == mutant:
                assert check in failures and mistake["message"] in failures[check], (check, failures.get(check))


# ---------------------------------------------------------------------------------------------
# The sandboxed verifier


def sandbox_or_skip(lib_dir: Path):
    """A sandbox built in ``lib_dir`` (the verifier's), or skip the test where bubblewrap is unusable."""
    from autograder.sandbox import build_lib_dir, get_sandbox, probe

    lib = build_lib_dir(lib_dir, mpl_cache=False)
    ok, why = probe(lib)
    if not ok:
        pytest.skip(f"bubblewrap is not usable here: {why}")
    return get_sandbox(lib)
