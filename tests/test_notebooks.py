"""The single-source pipeline: solutions/ runs, notebooks/ is generated from it and leaks nothing,
and nbgrader's own autograde gives the solution full marks and the untouched stub zero."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted(ROOT.glob("solutions/*/*.ipynb"))
STUDENT = sorted(ROOT.glob("notebooks/*/*.ipynb"))
MAX_NOTEBOOK_BYTES = 500 * 1024
ENV = {**os.environ, "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])}


def _ids(paths):
    return [p.parent.name for p in paths]


def _nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def _solution_regions(source: str) -> list[str]:
    """Lines between ### BEGIN SOLUTION and ### END SOLUTION."""
    out, inside = [], False
    for line in source.splitlines():
        if "BEGIN SOLUTION" in line:
            inside = True
        elif "END SOLUTION" in line:
            inside = False
        elif inside:
            out.append(line.strip())
    return out


def _git_notebooks() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "*.ipynb"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [ROOT / line for line in listed.stdout.splitlines() if line]


def test_there_is_a_source_and_a_student_notebook_per_assignment():
    assert SOLUTIONS, "solutions/ holds no source notebook"
    assert _ids(SOLUTIONS) == _ids(STUDENT), "every solutions/<id> needs a generated notebooks/<id>"


@pytest.mark.slow
def test_committed_student_notebooks_match_a_fresh_generation():
    proc = subprocess.run([sys.executable, "-m", "autograder.generate", "--check"], cwd=ROOT, env=ENV,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("path", _git_notebooks() or SOLUTIONS + STUDENT, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebooks_in_git_have_no_outputs_and_stay_small(path):
    assert path.stat().st_size <= MAX_NOTEBOOK_BYTES, f"{path.name} is {path.stat().st_size} bytes"
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {i} of {path.name} has outputs; clear them before committing"
            assert cell.execution_count is None, f"cell {i} of {path.name} has an execution count"


@pytest.mark.parametrize("student", STUDENT, ids=_ids(STUDENT))
def test_student_notebook_holds_no_solution_or_hidden_test(student):
    source = ROOT / "solutions" / student.parent.name / student.name
    text = student.read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
                   "autograder.assignments", "autograder.references"):
        assert marker not in text, f"{student.name} contains {marker!r}"
    student_code = "\n".join(c.source for c in nbformat.read(student, as_version=4).cells)
    solution_lines = [line for cell in nbformat.read(source, as_version=4).cells
                      for line in _solution_regions(cell.source) if len(line) >= 20]
    assert solution_lines, "the source notebook should hold solution regions"
    leaked = [line for line in solution_lines if line in student_code]
    assert not leaked, f"solution lines leaked into {student.name}: {leaked[:3]}"
    stubs = [c for c in nbformat.read(student, as_version=4).cells if _nbgrader(c).get("solution")
             and c.cell_type == "code"]
    assert stubs and all("raise NotImplementedError" in c.source for c in stubs)


_LAYOUT_ON = ("import sys as _s\n"
              f"_s.path.insert(0, {str(Path(__file__).resolve().parent)!r})\n"
              "import figure_layout as _fl\n_fl.install()")
_LAYOUT_REPORT = "import json as _j\nprint(_j.dumps(_fl.FOUND))"


def _execute(path: Path, workdir: Path) -> tuple[nbformat.NotebookNode, float, list[str]]:
    """Run a notebook as Jupyter would, with ``tests/figure_layout.py`` checking every figure it
    renders; returns the executed notebook, the seconds it took and the overlaps found."""
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(_LAYOUT_ON))
    nb.cells.append(nbformat.v4.new_code_cell(_LAYOUT_REPORT))
    start = time.perf_counter()
    NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=False,
                   resources={"metadata": {"path": str(workdir)}}).execute()
    seconds = time.perf_counter() - start
    report = nb.cells.pop()
    nb.cells.pop(0)
    return nb, seconds, json.loads(report.outputs[0]["text"])


@pytest.mark.slow
@pytest.mark.parametrize("source", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_solution_notebook_runs_top_to_bottom(source, tmp_path):
    shutil.copytree(source.parent, tmp_path / source.parent.name)
    nb, seconds, overlaps = _execute(source, tmp_path / source.parent.name)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    # a learner sees no warning (an overflow a cell provokes on purpose is silenced where it happens)
    warned = [f"cell {i}: {o['text'][:200]}" for i, c in enumerate(nb.cells) if c.cell_type == "code"
              for o in c.outputs if o.output_type == "stream" and o.name == "stderr" and "Warning" in o["text"]]
    assert warned == [], "\n".join(warned)
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    assert images, "the notebook should draw figures"
    # colour bars, legends, titles and tick labels stay clear of each other in every figure drawn
    assert overlaps == [], "\n".join(overlaps)
    print(f"{source.name} executed in {seconds:.1f} s")


def _make_course(tmp_path: Path, aid: str) -> Path:
    course = tmp_path / "course"
    shutil.copytree(ROOT / "solutions" / aid, course / "solutions" / aid)
    (course / "nbgrader_config.py").write_text(
        f"c = get_config()\nload_subconfig({str(ROOT / 'autograder' / 'nbgrader_config.py')!r})\n")
    return course


def _run_nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**ENV, "NNOPT_COURSE_ROOT": str(course)}
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.mark.slow
@pytest.mark.parametrize("source", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_plain_nbgrader_autograde_gives_solution_full_marks_and_stub_zero(source, tmp_path):
    from nbgrader.api import Gradebook

    aid = source.parent.name
    course = _make_course(tmp_path, aid)
    _run_nbgrader(course, "generate_assignment", aid, "--force")
    for student, nb_path in (("solver", source), ("blank", course / "notebooks" / aid / source.name)):
        target = course / "submitted" / student / aid
        target.mkdir(parents=True)
        shutil.copy(nb_path, target / source.name)
    _run_nbgrader(course, "autograde", aid, "--force")

    written = sum(float(_nbgrader(c).get("points", 0)) for c in nbformat.read(source, as_version=4).cells
                  if c.cell_type == "markdown" and _nbgrader(c).get("grade"))
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        max_score = gb.find_assignment(aid).max_score
        assert max_score > written > 0, "every notebook has written answers, graded by a person"
        # full marks but the written answers, which wait for a person in formgrader
        assert gb.find_submission(aid, "solver").score == pytest.approx(max_score - written)
        assert gb.find_submission(aid, "blank").score == 0
        solver = gb.find_submission_notebook(source.stem, aid, "solver")
        pending = [g for g in solver.grades if g.cell.cell_type == "markdown"]
        assert pending and all(g.needs_manual_grade and g.score == 0 for g in pending)

    graded = nbformat.read(course / "autograded" / "blank" / aid / source.name, as_version=4)
    test_cells = [c for c in graded.cells if _nbgrader(c).get("grade") and c.cell_type == "code"]
    assert test_cells
    for cell in test_cells:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert errors, f"test cell {_nbgrader(cell)['grade_id']} passed on an empty submission"
        assert all(o.ename == "NotImplementedError" for o in errors), \
            f"{_nbgrader(cell)['grade_id']} failed with {[o.ename for o in errors]}, not NotImplementedError"
