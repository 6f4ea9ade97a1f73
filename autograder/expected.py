"""Regenerate the data of the visible self-checks, ``nnopt_helpers/expected/<assignment_id>.json``.

    python -m autograder.expected              # rewrite every assignment's file
    python -m autograder.expected 03_momentum  # one assignment
    python -m autograder.expected --check      # exit 1 if a committed file differs from a fresh build

One loop for every assignment: each exercise's public cases (``Exercise.public``) are run by the
exercise's driver, as the hidden tests run its secret ones. The expected outputs are the
independent reference's (``autograder/references``) through the view that names them (or given
by the public case where the exercise is judged by properties); the "known mistake" outputs
(with the message a learner sees when their output equals one of them) come from running the
mutants of ``autograder/mutants`` on the same case. Public cases are fixed, ``np.linspace``-style
arrays as in cs231n, so the file is the same on every run. The format is the one documented in
``nnopt_helpers/checks.py``.
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
from pathlib import Path

import numpy as np

from nnopt_helpers import checks

from .plain import rel_error, same

ROOT = Path(__file__).resolve().parent.parent
EXPECTED_DIR = ROOT / "nnopt_helpers" / "expected"

__all__ = ["build", "render", "main", "mistakes"]


# --------------------------------------------------------------------------------------------
# The one loop: every exercise's visible checks, their expected outputs and the known mistakes


def _outputs_differ(outputs: dict, reference: dict, tol, atol: float) -> bool:
    """True when ``outputs`` fails a check against ``reference`` (by the checks' own comparison)."""
    try:
        with np.errstate(all="ignore"):
            checks.check_outputs("probe", outputs, {"expected": reference, "tol": tol, "atol": atol}, quiet=True)
    except checks.CheckFailed:
        return True
    return False


def _storable(value) -> bool:
    """Float64 arrays, float64 numbers and strings can be stored as a mistake's outputs.

    A 0-d array is none of them: stored, it would read back as a number (the check explains it itself).
    """
    if isinstance(value, np.ndarray):
        return value.dtype == np.float64 and value.ndim > 0
    return type(value) in (float, np.float64, str)


def _run(fn, entry: dict):
    """The named outputs of ``fn`` on the entry's case, through its driver and view (None if it fails: the check explains that)."""
    try:
        return checks.outputs_of(entry, fn)[0]
    except (checks.FunctionStopped, checks.CheckFailed):
        return None


def _where_it_shows(outputs: dict, entry: dict) -> dict:
    """Only the outputs in which a mistake differs from the expected ones (NaN shows too)."""
    return {k: v for k, v in outputs.items() if not rel_error(v, entry["expected"][k]) <= checks.tol_for(entry.get("tol"), k)}


def mistakes(entry: dict, mutants: dict, *, where_it_shows: bool = False, same_shapes: bool = False) -> list[dict]:
    """Run every mutant on the entry's case (twice); keep those the check can name.

    Skipped: mutants that raise, return something malformed or give different outputs in two runs
    (the check explains those itself: missing keys, None, exceptions, global random numbers),
    outputs that are not storable (float32, lists: the check names the dtype or type itself), or,
    with ``same_shapes``, of another shape than expected; outputs that pass the check (the mistake
    does not show on these inputs), and outputs the check would already name as an earlier mistake.
    With ``where_it_shows`` only the outputs in which a mistake differs are kept (a smaller file; a
    learner's output then matches where the mistake shows), those that show in more outputs first.
    """
    found: list[dict] = []
    tol, atol = entry.get("tol", checks.DEFAULT_TOL), float(entry.get("atol", 0.0))
    for name, (fn, description) in mutants.items():
        outputs, again = _run(fn, entry), _run(fn, entry)
        if outputs is None or again is None or not same(outputs, again, nan_equal=True):
            continue
        if not all(_storable(v) for v in outputs.values()) or not _outputs_differ(outputs, entry["expected"], tol, atol):
            continue
        if same_shapes and any(np.shape(v) != np.shape(entry["expected"][k]) for k, v in outputs.items()):
            continue
        if any(not _outputs_differ(outputs, m["outputs"], tol, atol) for m in found):
            continue
        found.append({"name": name, "outputs": outputs, "message": f"It looks like {description}."})
    if where_it_shows:
        for m in found:
            m["outputs"] = _where_it_shows(m["outputs"], entry)
        found.sort(key=lambda m: -len(m["outputs"]))
    return found


def entry_of(ex, public: dict) -> dict:
    """The expected-data entry of one public case of exercise ``ex`` (without its mistakes)."""
    entry = {"driver": ex.driver, **({"view": public["view"]} if "view" in public else {}), "case": public["case"]}
    expected = public.get("expected")
    if expected is None:
        expected = checks.view(entry)(ex.reference(copy.deepcopy(public["case"])), public["case"], public["outputs"],
                                      "the reference")
    return {**entry, "expected": expected, **{k: public[k] for k in ("tol", "atol") if k in public}}


def build(assignment_id: str) -> dict:
    """The expected-data entries of one assignment (arrays not yet encoded).

    Every exercise's public cases (``Exercise.public``) become checks: the case, the driver that
    runs it, the expected outputs (the reference's, through the view that names them), and what
    the exercise's known mistakes output on the same case.
    """
    from .assignments import get
    from .mutants import catalogue

    entries = {}
    for ex in get(assignment_id).exercises:
        for name, public in (ex.public() if ex.public else {}).items():
            entry = entry_of(ex, public)
            options = {k: public[k] for k in ("where_it_shows", "same_shapes") if k in public}
            found = mistakes(entry, catalogue(assignment_id).get(ex.name, {}), **options)
            entries[name] = {**entry, **({"mistakes": found} if found else {})}
    return entries


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
    from .assignments import ids

    unknown = sorted(set(args.ids) - set(ids()))
    if unknown:
        parser.error(f"not a registered assignment: {', '.join(unknown)}")
    stale = []
    for aid in args.ids or ids():
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
