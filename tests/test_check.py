"""``python3 run.py check NOTEBOOK`` and ``reset NOTEBOOK``: one notebook graded as ``nnopt-grade`` grades a class, with the
same score, a table a learner can read, and the notebook left as it was."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder import cli
from autograder.check import assignment_of, check_notebook, report
from grading_fixtures import ASSIGNMENT_ID, NOTEBOOK, edit, load_course_notebooks, solution_cell

ROOT = Path(__file__).resolve().parent.parent
SEED = 424242


@pytest.fixture(scope="module")
def notebooks(tmp_path_factory):
    """A correct, an untouched and a one-mistake 03_momentum notebook, each in notebooks/<id>/ layout."""
    cn = load_course_notebooks()
    wrong = edit(solution_cell("sgd_momentum", replace=("- config", "+ config")))(cn)[NOTEBOOK]
    root = tmp_path_factory.mktemp("check")
    paths = {}
    for name, nb in {"correct": nbformat.writes(cn.correct).encode(), "stub": nbformat.writes(cn.student).encode(),
                     "sign": wrong}.items():
        path = root / name / ASSIGNMENT_ID / NOTEBOOK
        path.parent.mkdir(parents=True)
        path.write_bytes(nb if isinstance(nb, bytes) else nbformat.writes(nb).encode())
        paths[name] = path
    return paths


@pytest.mark.slow
def test_check_gives_nnopt_grades_score_and_names_the_mistake(notebooks, tmp_path):
    before = {name: path.read_bytes() for name, path in notebooks.items()}
    checked = {name: check_notebook(path, seed=SEED) for name, path in notebooks.items()}
    assert {n: (r["score"], r["max_score"]) for n, r in checked.items()} == {
        "correct": (11, 11), "stub": (0, 11), "sign": (7, 11)}
    assert {name: path.read_bytes() for name, path in notebooks.items()} == before, "check never edits the notebook"

    # the same notebooks as a class, through nnopt-grade
    for name, path in notebooks.items():
        target = tmp_path / "submitted" / name / ASSIGNMENT_ID / NOTEBOOK
        target.parent.mkdir(parents=True)
        target.write_bytes(path.read_bytes())
    assert cli.main([ASSIGNMENT_ID, str(tmp_path / "submitted"), "--out", str(tmp_path / "out"), "--no-gradebook",
                     "--workers", "1", "--no-progress"]) == 0
    with open(tmp_path / "out" / "grades.csv", newline="") as f:
        graded = {r["student_id"]: float(r["score"]) for r in csv.DictReader(f)}
    assert graded == {n: float(r["score"]) for n, r in checked.items()}

    table = report(checked["sign"]).splitlines()
    assert table[-2:] == ["total 7 / 11", "plus 2 written answers (4 points) that a person grades: not part of this total"]
    (line,) = [row for row in table if row.startswith("sgd_momentum")]
    assert "0 / 4" in line and "velocity adds +learning_rate·dw" in line
    assert any(row.startswith("nesterov_momentum") and "4 / 4" in row and "passed" in row for row in table)


def test_the_assignment_comes_from_the_notebooks_folder(tmp_path):
    assert assignment_of(Path("notebooks/03_momentum/03_momentum.ipynb")) == "03_momentum"
    assert assignment_of(tmp_path / "elsewhere" / "06_batch_norm.ipynb") == "06_batch_norm"
    with pytest.raises(KeyError, match="not one of the course's notebooks"):
        assignment_of(tmp_path / "mine" / "homework.ipynb")


def test_run_py_check_prints_the_table_and_a_total(notebooks):
    if not (ROOT / ".venv" / ".nnopt-installed").exists():
        pytest.skip("run.py has not set up .venv here (run the suite with `python3 run.py test`)")
    proc = subprocess.run([sys.executable, str(ROOT / "run.py"), "check", str(notebooks["stub"])],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert any(line.startswith("exercise") for line in lines) and lines[-2] == "total 0 / 11"
    assert "not implemented yet" in proc.stdout
    missing = subprocess.run([sys.executable, str(ROOT / "run.py"), "check", "no/such/notebook.ipynb"],
                             capture_output=True, text=True, timeout=600)
    assert missing.returncode == 2 and "not a file" in missing.stderr


def test_reset_keeps_a_backup_and_restores_the_released_notebook(tmp_path):
    from autograder.reset import reset_notebook

    released = ROOT / "notebooks" / ASSIGNMENT_ID / NOTEBOOK
    mine = tmp_path / ASSIGNMENT_ID / NOTEBOOK
    mine.parent.mkdir()
    nb = nbformat.read(released, as_version=4)
    nb.cells[0].source += "\n\nmy own notes"
    nbformat.write(nb, mine)
    edited = mine.read_bytes()
    backup = reset_notebook(mine)
    assert backup.parent == mine.parent and backup.name.startswith("03_momentum.backup-")
    assert backup.read_bytes() == edited, "the learner's work is kept"
    assert mine.read_text() == released.read_text(), "the notebook is back to its released state"
    second = reset_notebook(mine)
    assert second != backup and backup.exists() and second.exists()


@pytest.mark.slow
def test_check_grades_without_running_the_notebook(notebooks, tmp_path):
    """check takes the grades-only path: a cell that would never end (an experiment the learner left
    running) costs nothing, and the score is the verified one."""
    nb = nbformat.read(notebooks["correct"], as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("while True:\n    pass"))
    path = tmp_path / ASSIGNMENT_ID / NOTEBOOK
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)
    result = check_notebook(path, seed=SEED)
    assert (result["score"], result["status"]) == (11, "graded")
    assert "grades-only" in result["flags"] and result["timings"]["kernel_s"] == 0
    assert not result.get("feedback_html") and not result.get("kernel")
    assert all(e["kernel_passed"] is None for e in result["exercises"].values()), "the kernel did not run: no verdict"
    assert all(c["kernel_score"] is None for c in result["cells"].values())
