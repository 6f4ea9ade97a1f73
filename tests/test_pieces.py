"""nnopt_helpers.pieces: notebook 07 reads the learner's earlier functions from the notebooks next to it,
runs only their imports and definitions, and uses a function only when it passes its own visible checks.

The security constraint behind it: ``nnopt_helpers`` (importable in the grading sandbox) holds no answer to
any exercise, so the capstone cannot import He initialization, batch norm, Adam or a schedule from it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from autograder.assignments import get
from nnopt_helpers import pieces

ROOT = Path(__file__).resolve().parent.parent


def _copy(tmp_path, source_dir: str, ids) -> Path:
    """``tmp_path/<id>/<id>.ipynb`` for each id, from ``solutions/`` or ``notebooks/``; returns the 07 folder."""
    for aid in ids:
        (tmp_path / aid).mkdir(exist_ok=True)
        shutil.copy(ROOT / source_dir / aid / f"{aid}.ipynb", tmp_path / aid / f"{aid}.ipynb")
    here = tmp_path / "07_training_in_practice"
    here.mkdir(exist_ok=True)
    return here


IDS = ("04_adaptive_lr", "05_initialization", "06_batch_norm")


def test_every_piece_names_the_visible_checks_of_its_exercise():
    """The checks listed per piece are exactly its exercise's public cases (a renamed check would make every
    learner's piece 'missing')."""
    for name, (aid, checks, forward) in pieces.PIECES.items():
        assert tuple(get(aid).exercise(name).public()) == checks, name
        assert forward is None or forward in [ex.name for ex in get(aid).exercises]


def test_solutions_next_to_it_are_found(tmp_path):
    here = _copy(tmp_path, "solutions", IDS)
    found, missing = pieces.load(list(pieces.PIECES), here=here)
    assert sorted(found) == sorted(pieces.PIECES) and missing == {}
    import numpy as np

    assert found["cosine_learning_rate"](0, 10, 1.0, 0.0, 2) == 0.0
    assert found["he_normal"](4, 3, np.random.default_rng(0)).shape == (4, 3)


def test_untouched_student_notebooks_are_not_done_yet(tmp_path):
    here = _copy(tmp_path, "notebooks", IDS)
    found, missing = pieces.load(["adam", "he_normal", "batchnorm_backward_alt"], here=here)
    assert found == {}
    assert missing["adam"] == "04's adam is not used: it is not done yet"
    assert missing["he_normal"] == "05's he_normal is not used: it is not done yet"
    assert "not done yet" in missing["batchnorm_backward_alt"]


def test_absent_notebooks_make_every_piece_missing(tmp_path):
    found, missing = pieces.load(list(pieces.PIECES), here=tmp_path / "07_training_in_practice")
    assert found == {} and set(missing) == set(pieces.PIECES)
    assert missing["adam"].startswith("04's adam is not available: notebook 04_adaptive_lr is not next to this one")


def _edit(path: Path, old: str, new: str) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    hits = 0
    for cell in nb["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if old in source:
            cell["source"] = source.replace(old, new)
            hits += 1
    assert hits == 1, (old, hits)
    path.write_text(json.dumps(nb), encoding="utf-8")


def test_a_function_that_fails_its_checks_is_not_used(tmp_path):
    here = _copy(tmp_path, "solutions", ("04_adaptive_lr",))
    nb = tmp_path / "04_adaptive_lr" / "04_adaptive_lr.ipynb"
    _edit(nb, "config[\"t\"] += 1", "config[\"t\"] += 0")  # Adam's step counter never moves
    found, missing = pieces.load(["adam", "cosine_learning_rate"], here=here)
    assert "adam" not in found and "cosine_learning_rate" in found
    assert missing["adam"].startswith("04's adam is not used: it does not pass its visible check 'adam'")


def test_only_imports_and_definitions_run(tmp_path):
    """An experiment in the earlier notebook (a print, a loop that would never end, a failing cell) is not run;
    a cell with IPython magics or a syntax error only loses its own definitions."""
    here = _copy(tmp_path, "solutions", ("04_adaptive_lr",))
    nb_path = tmp_path / "04_adaptive_lr" / "04_adaptive_lr.ipynb"
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    marker = tmp_path / "ran"
    nb["cells"] += [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": f"open({str(marker)!r}, 'w').write('x')\nwhile True:\n    pass\n"},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": "%matplotlib inline\ndef adam(w, dw, config=None):\n    return w, config\n"},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": "import not_a_module\n"},
    ]
    nb_path.write_text(json.dumps(nb), encoding="utf-8")
    namespace = pieces.definitions(nb_path)
    assert not marker.exists()
    assert callable(namespace["adam"]) and "not_a_module" not in namespace
    found, _ = pieces.load(["adam"], here=here)
    assert "adam" in found  # the broken redefinition in the magic cell was skipped, the real one kept


def test_unknown_piece_is_refused():
    with pytest.raises(KeyError, match="unknown piece"):
        pieces.load(["sgd_momentum"])


def test_the_helpers_hold_no_answer_to_another_notebook():
    """pieces.py names the exercises it reads but implements none of them."""
    import ast

    tree = ast.parse((ROOT / "nnopt_helpers" / "pieces.py").read_text(encoding="utf-8"))
    defined = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    assert not defined & set(pieces.PIECES)
