"""Your own functions from earlier notebooks, for the capstone (07) to build on.

The course's helpers never hold an answer to an exercise, so notebook 07 does not import He
initialization, batch norm, Adam or the cosine schedule from here: it reads them from **your**
earlier notebooks, next to it (``../05_initialization/05_initialization.ipynb`` and so on, the layout
of this repository's ``notebooks/`` and of nbgrader's fetched assignments). For each notebook,
only its definition cells run, in a fresh namespace: the top-level ``import`` statements and ``def``
statements of every code cell (no experiment, no plot, no print). Each function is then put through
the visible checks of its own notebook, quietly; it is used only if it passes them all. Otherwise
the piece is missing, with the reason in words ("04's adam is not done yet"), and the notebook
skips the step that needs it. Where the earlier notebooks are absent (a grading sandbox), every
piece is missing and everything still runs.

    >>> found, missing = load(["he_normal", "adam"])
    >>> found.get("adam")         # your adam, or None
    >>> missing                   # {"adam": "04's adam is not done yet: ..."}
"""

from __future__ import annotations

import ast
import io
import contextlib
import json
import warnings
from pathlib import Path

import numpy as np

__all__ = ["PIECES", "load", "definitions", "notebook_path"]

#: piece -> (the notebook it comes from, the visible checks it must pass there, the forward pass it is
#: checked through, for a backward pass)
PIECES = {
    "he_normal": ("05_initialization", ("he_normal",), None),
    "batchnorm_forward": ("06_batch_norm", ("batchnorm_forward", "batchnorm_forward_defaults",
                                            "batchnorm_forward_eval"), None),
    "batchnorm_backward_alt": ("06_batch_norm", ("batchnorm_backward_alt",), "batchnorm_forward"),
    "adam": ("04_adaptive_lr", ("adam", "adam_defaults", "adam_small_gradients"), None),
    "cosine_learning_rate": ("04_adaptive_lr", ("cosine_learning_rate_warmup", "cosine_learning_rate_peak",
                                                "cosine_learning_rate_decay", "cosine_learning_rate_end",
                                                "cosine_learning_rate_no_warmup"), None),
}


def notebook_path(assignment_id: str, here=None) -> Path:
    """``<here>/../<id>/<id>.ipynb``: the sibling notebook (``here`` defaults to the working directory)."""
    return Path(here or Path.cwd()).resolve().parent / assignment_id / f"{assignment_id}.ipynb"


def _definitions_of(source: str) -> list:
    """The top-level imports and function definitions of one cell (nothing that runs an experiment)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []  # a cell with IPython magics or a syntax error defines nothing usable
    return [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef))]


def definitions(path) -> dict:
    """A fresh namespace with the definitions of a notebook's code cells executed in order.

    A definition that fails (an import that is not installed...) is skipped; so is everything that is
    not an ``import`` or a ``def``. Raises ``OSError`` or ``ValueError`` when the file cannot be read.
    """
    cells = json.loads(Path(path).read_text(encoding="utf-8")).get("cells", [])
    namespace: dict = {"__name__": "__nnopt_piece__"}
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        for node in _definitions_of(source):
            module = ast.Module(body=[node], type_ignores=[])
            try:
                exec(compile(module, str(path), "exec"), namespace)  # noqa: S102 - the learner's own code
            except Exception:  # noqa: BLE001 - a broken definition only makes its piece missing
                continue
    return namespace


def _passes_checks(name: str, fn, namespace: dict) -> str | None:
    """None when ``fn`` passes every visible check of its piece, else the first failure in words."""
    from .checks import backward_through, run_check

    assignment_id, checks, forward = PIECES[name]
    call = None
    if forward is not None:
        if not callable(namespace.get(forward)):
            return f"{forward} is not defined there"
        call = backward_through(namespace[forward])
    out = io.StringIO()
    for check in checks:
        try:
            with contextlib.redirect_stdout(out), np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                run_check(assignment_id, check, fn, call=call, quiet=True)
        except NotImplementedError:
            return "it is not done yet"
        except Exception as exc:  # noqa: BLE001 - CheckFailed, or whatever the function raised
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return f"it does not pass its visible check {check!r} yet ({first[:160]})"
    return None


def load(names, here=None) -> tuple[dict, dict]:
    """Your earlier functions ``names`` (keys of :data:`PIECES`) that pass their own visible checks.

    Args:
        names: the pieces wanted, e.g. ``["he_normal", "adam"]``.
        here: the folder of this notebook (default: the working directory, where Jupyter runs it).

    Returns:
        ``(found, missing)``: ``found`` maps each usable piece to your function; ``missing`` maps
        every other piece to a sentence saying why it is not used.
    """
    found, missing, namespaces = {}, {}, {}
    for name in names:
        if name not in PIECES:
            raise KeyError(f"unknown piece {name!r}; known: {', '.join(PIECES)}")
        assignment_id = PIECES[name][0]
        short = assignment_id[:2]
        if assignment_id not in namespaces:
            path = notebook_path(assignment_id, here)
            try:
                namespaces[assignment_id] = definitions(path)
            except (OSError, ValueError) as exc:
                namespaces[assignment_id] = f"notebook {assignment_id} is not next to this one ({type(exc).__name__})"
        namespace = namespaces[assignment_id]
        if isinstance(namespace, str):
            missing[name] = f"{short}'s {name} is not available: {namespace}"
            continue
        fn = namespace.get(name)
        if not callable(fn):
            missing[name] = f"{short}'s {name} is not defined in {assignment_id}.ipynb"
            continue
        problem = _passes_checks(name, fn, namespace)
        if problem is None:
            found[name] = fn
        else:
            missing[name] = f"{short}'s {name} is not used: {problem}"
    return found, missing
