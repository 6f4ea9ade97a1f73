"""Regenerate the data of the visible self-checks, ``nnopt_helpers/expected/<assignment_id>.json``.

    python -m autograder.expected              # rewrite every assignment's file
    python -m autograder.expected 03_momentum  # one assignment
    python -m autograder.expected --check      # exit 1 if a committed file differs from a fresh build

The expected outputs come from the independent references in ``autograder/references``; the
"known mistake" outputs (with the message a learner sees when their output equals one of them)
come from running the mutants of ``autograder/mutants`` on the same inputs. Inputs are fixed,
``np.linspace``-style arrays as in cs231n, so the file is the same on every run. The format is
the one documented in ``nnopt_helpers/checks.py``.
"""

from __future__ import annotations

import argparse
import copy
import importlib
import sys
import tempfile
from pathlib import Path

import numpy as np

from nnopt_helpers import checks

ROOT = Path(__file__).resolve().parent.parent
EXPECTED_DIR = ROOT / "nnopt_helpers" / "expected"

__all__ = ["BUILDERS", "build", "render", "main", "mistakes_for", "stack_steps"]


# --------------------------------------------------------------------------------------------
# Shared machinery


def _outputs_differ(outputs: dict, expected: dict, tol: float) -> bool:
    """True when ``outputs`` fails a check against ``expected`` (by the checks' own comparison)."""
    try:
        checks.check_outputs("probe", outputs, {"expected": expected, "tol": tol}, quiet=True)
    except checks.CheckFailed:
        return True
    return False


def _plain_float64(value) -> bool:
    """Only float64 arrays and Python/NumPy float64 numbers can be stored as a mistake's outputs.

    A 0-d array is neither: stored, it would read back as a number (the check explains it itself).
    """
    if isinstance(value, np.ndarray):
        return value.dtype == np.float64 and value.ndim > 0
    return type(value) in (float, np.float64)


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.shape(a[k]) == np.shape(b[k]) and checks.rel_error(a[k], b[k]) <= 1e-12
                                        for k in a)


def _mistakes(entry: dict, mutants: dict) -> list[dict]:
    """Run every mutant on the entry's inputs; keep those whose outputs differ and are storable.

    Skipped: mutants that raise or return something malformed (the check explains those itself:
    missing keys, None, exceptions), mutants whose outputs pass the check (the mistake does not
    show on these inputs), float32/list outputs (the check names the dtype or type itself), and
    outputs equal to an earlier mutant's (its message already covers the case).
    """
    style = entry["call"] if callable(entry["call"]) else checks.CALL_STYLES[entry["call"]]
    keys = list(entry["expected"])
    found: list[dict] = []
    for name, (fn, description) in mutants.items():
        inputs = checks._materialize(copy.deepcopy(entry["inputs"]))
        try:
            outputs = style(fn, inputs, keys)
        except Exception:  # noqa: BLE001 - a mutant that crashes here is explained by the check
            continue
        if not all(_plain_float64(outputs[k]) for k in keys):
            continue
        if not _outputs_differ(outputs, entry["expected"], entry.get("tol", checks.DEFAULT_TOL)):
            continue
        if any(_same(outputs, m["outputs"]) for m in found):
            continue
        message = f"It looks like {description}."
        found.append({"name": name, "outputs": {k: outputs[k] for k in keys}, "message": message})
    return found


def _stack(steps: list[dict], key: str):
    """Stack one recorded value of every step of a reference run along a leading step axis."""
    values = [s["next_w"] if key == "next_w" else s["config"][key] for s in steps]
    return np.stack([np.asarray(v, dtype=np.float64) for v in values])


#: For the ``expected_entries()`` of assignment modules: the stored mistakes of an entry, and one
#: recorded value of a reference run stacked along a step axis.
mistakes_for = _mistakes
stack_steps = _stack


# --------------------------------------------------------------------------------------------
# 03_momentum


def _momentum_entries() -> dict:
    from .mutants.momentum import MUTANTS
    from .references import momentum as ref

    N, D = 4, 5
    w = np.linspace(-0.4, 0.6, num=N * D).reshape(N, D)
    velocity = np.linspace(0.6, 0.9, num=N * D).reshape(N, D)
    grads = [np.linspace(-0.6, 0.4, num=N * D).reshape(N, D) + 0.25 * k for k in range(3)]
    # The defaults checks take one step (inputs w, dw): a single step also shows the dtype returned.
    w_small = np.linspace(-0.4, 0.6, num=6).reshape(2, 3)
    grads_small = [np.linspace(0.5, -0.5, num=6).reshape(2, 3)]

    runs = {
        # name: (reference, w, gradients, config, recorded keys)
        "sgd_momentum": (ref.sgd_momentum_case, w, grads,
                         {"learning_rate": 0.05, "momentum": 0.9, "velocity": velocity},
                         ["next_w", "velocity"]),
        "sgd_momentum_defaults": (ref.sgd_momentum_case, w_small, grads_small, None,
                                  ["next_w", "learning_rate", "momentum", "velocity"]),
        "nesterov_momentum": (ref.nesterov_momentum_case, w, grads,
                              {"learning_rate": 0.05, "momentum": 0.9, "velocity": velocity},
                              ["next_w", "velocity"]),
        "nesterov_momentum_defaults": (ref.nesterov_momentum_case, w_small, grads_small, None,
                                       ["next_w", "learning_rate", "momentum", "velocity"]),
    }
    entries = {}
    for name, (reference, w0, dws, config, keys) in runs.items():
        case = {"w": w0, "dws": dws, "config": copy.deepcopy(config), "record": [k for k in keys if k != "next_w"]}
        steps = reference(case)["steps"]
        if len(dws) == 1:
            inputs = {"w": w0, "dw": dws[0], "config": copy.deepcopy(config)}
            expected = {k: _stack(steps, k)[0] for k in keys}
            expected = {k: float(v) if v.ndim == 0 else v for k, v in expected.items()}
        else:
            inputs = {"w": w0, "steps": dws, "config": copy.deepcopy(config)}
            expected = {k: _stack(steps, k) for k in keys}
        entry = {"call": "update_rule", "inputs": inputs, "expected": expected, "tol": 1e-7}
        entry["mistakes"] = _mistakes(entry, MUTANTS[name.replace("_defaults", "")])
        entries[name] = entry

    for name, (lam_min, lam_max) in {"momentum_optimal_params": (0.5, 50.0),
                                     "momentum_optimal_params_kappa_1": (2.0, 2.0)}.items():
        lr, mu, rate = ref.optimal_params(lam_min, lam_max)
        entry = {
            "call": "function",
            "inputs": {"args": [lam_min, lam_max], "kwargs": {}},
            "expected": {"learning_rate": lr, "momentum": mu, "rate": rate},
            "tol": 1e-7,
        }
        entry["mistakes"] = _mistakes(entry, MUTANTS["momentum_optimal_params"])
        entries[name] = entry
    return entries


#: assignment id -> function building its ``{check_name: entry}``. An assignment module may instead
#: define ``expected_entries()``: every registered module that does is found by ``_builders``.
BUILDERS = {
    "03_momentum": _momentum_entries,
}


# --------------------------------------------------------------------------------------------
# Command line


def _builders() -> dict:
    """``BUILDERS`` plus every registered assignment module that defines ``expected_entries()``."""
    from . import assignments

    found = dict(BUILDERS)
    for aid in assignments.ids():
        if aid not in found:
            found[aid] = _module_builder(assignments.MODULES[aid])
    return found


def _module_builder(module_name: str):
    """The module's ``expected_entries``, imported only when called (one broken module hides no other)."""

    def build_entries():
        module = importlib.import_module(module_name)
        if not hasattr(module, "expected_entries"):
            raise LookupError(f"{module_name} defines no expected_entries()")
        return module.expected_entries()

    return build_entries


def build(assignment_id: str) -> dict:
    """The expected-data entries of one assignment (arrays not yet encoded)."""
    return _builders()[assignment_id]()


def render(assignment_id: str) -> str:
    """The JSON text of one assignment's file, exactly as ``checks.save_expected`` writes it."""
    with tempfile.TemporaryDirectory(prefix="nnopt-expected-") as tmp:
        path = Path(tmp) / f"{assignment_id}.json"
        checks.save_expected(build(assignment_id), path)
        return path.read_text(encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.expected", description=__doc__.splitlines()[0])
    parser.add_argument("ids", nargs="*", help="assignment ids (default: all that have expected data)")
    parser.add_argument("--check", action="store_true", help="compare with the committed files instead of writing")
    args = parser.parse_args(argv)
    builders = _builders()
    unknown = sorted(set(args.ids) - set(builders))
    if unknown:
        parser.error(f"no expected-data builder for: {', '.join(unknown)}")
    stale = []
    for aid in args.ids or list(builders):
        text = render(aid)
        target = EXPECTED_DIR / f"{aid}.json"
        old = target.read_text(encoding="utf-8") if target.exists() else None
        if old == text:
            continue
        if args.check:
            stale.append(str(target.relative_to(ROOT)))
        else:
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target.relative_to(ROOT)}")
    if stale:
        print("out of date (run `python -m autograder.expected`): " + ", ".join(stale))
        return 1
    if args.check:
        print("expected data is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
