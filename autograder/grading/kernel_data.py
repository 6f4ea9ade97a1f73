"""Which assignment a grading run is for, and what of it the sandboxed kernel may see.

:func:`resolve_assignment` turns an id (``03_momentum``) or ``package.module:NAME`` into the
:class:`~autograder.spec.Assignment`; :func:`kernel_files` lists the files added to the sandbox's
lib dir so that the notebook's hidden-test cells can run there without any reference or seed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..plain import pack
from ..spec import notebook_points

__all__ = ["resolve_assignment", "kernel_files"]


def resolve_assignment(ref: str, master=None):
    """An :class:`~autograder.spec.Assignment` from an id (``03_momentum``) or ``package.module:NAME``.

    master: the course's master notebook (an nbformat node or its JSON text); when given, each
    exercise's points are those of its test cell there (nbgrader's metadata: the one place points
    are written), whatever the checkout's own copy says.
    """
    if ":" in ref:
        import importlib

        module, _, attr = ref.partition(":")
        assignment = getattr(importlib.import_module(module), attr)
    else:
        from ..assignments import get

        assignment = get(ref)
    if master is None:
        return assignment
    return assignment.with_points(notebook_points(json.loads(master) if isinstance(master, str) else master))


PROPERTIES_PACKAGE = "autograder.properties"
_AUTOGRADER_DIR = Path(__file__).resolve().parent.parent


def _properties_file(ex) -> tuple[str, str, Path]:
    """(``module:qualname`` of ``ex.properties``, the module's file name, its path), for the sandbox copy.

    Only modules of ``autograder.properties`` (which promise to hold no answers) may be shipped.
    """
    fn = ex.properties
    module = getattr(fn, "__module__", "") or ""
    qualname = getattr(fn, "__qualname__", "")
    if not module.startswith(PROPERTIES_PACKAGE + ".") or "." in module[len(PROPERTIES_PACKAGE) + 1:] \
            or "<" in qualname:
        raise ValueError(f"{ex.name}: properties must be a top-level function of a module in "
                         f"autograder/properties/ (got {module}.{qualname}); they are copied into the "
                         "sandbox, and only that package promises to hold no answers")
    name = module.rsplit(".", 1)[1] + ".py"
    return f"{module}:{qualname}", name, _AUTOGRADER_DIR / "properties" / name


def kernel_files(assignment, ref: str) -> dict[str, bytes]:
    """Files added to the sandbox's lib dir for the in-kernel hidden tests (no references, no seed)."""
    rng_seed = assignment.kernel_seed
    exercises = []
    files: dict[str, bytes] = {}
    for ex in assignment.exercises:
        cases = ex.make_cases(np.random.default_rng(rng_seed))
        entry = {
            "name": ex.name, "grade_id": ex.grade_id, "points": ex.points, "driver": ex.driver,
            "rtol": float(ex.rtol), "cases": cases,
            "expected": [ex.reference(c) for c in cases] if ex.reference is not None else None,
            "descriptions": [ex.describe(c) if ex.describe else "a test case" for c in cases],
        }
        if ex.properties is not None:
            entry["properties"], name, path = _properties_file(ex)
            files["autograder/properties/__init__.py"] = (_AUTOGRADER_DIR / "properties" / "__init__.py").read_bytes()
            files[f"autograder/properties/{name}"] = path.read_bytes()
        exercises.append(entry)
    data = {"id": assignment.id, "notebook": assignment.notebook, "kernel_seed": int(rng_seed), "exercises": exercises}
    shim = (_AUTOGRADER_DIR / "kernel" / "assignments_shim.py").read_bytes()
    files.update({"autograder/assignments/__init__.py": shim,
                  f"autograder/_kernel_data/{assignment.id}.npz": pack(data)})
    try:
        from ..assignments import MODULES
    except Exception:  # noqa: BLE001
        MODULES = {}
    module = MODULES.get(assignment.id)
    if module and module.startswith("autograder.assignments."):
        rel = module.split(".", 2)[2].replace(".", "/") + ".py"
        files[f"autograder/assignments/{rel}"] = (
            f'"""In-kernel stand-in for {module} (see autograder/assignments/__init__.py)."""\n'
            f"from autograder.assignments import get as _get\n\nASSIGNMENT = _get({assignment.id!r})\n").encode()
    return files
