"""Every assignment, graded by ``nnopt-grade`` in the sandbox: the solution earns full marks, the
released stub earns zero, a submission with one exercise wrong loses exactly that exercise, and
one that also silences every in-kernel check loses it too and is marked ``tamper-suspected``.

03_momentum has the full hostile catalogue (tests/test_grading_catalogue.py); this module proves
that each later assignment plugs into the same pipeline: its drivers and (for exercises judged by
properties) its ``autograder/properties`` module work inside the sandbox, its in-kernel hidden
tests and the verifier agree on honest work, and the gradebook gets its scores.
"""

from __future__ import annotations

import csv
import io
import shutil
from contextlib import redirect_stdout
from pathlib import Path

import nbformat
import pytest

from autograder import cli
from autograder.assignments import get, ids
from autograder.sandbox import build_lib_dir, probe
from grading_fixtures import load_course_notebooks

REPO = Path(__file__).resolve().parents[1]
#: 03_momentum is graded by the catalogue; the others here.
ASSIGNMENTS = [aid for aid in ids() if aid != "03_momentum" and (REPO / "solutions" / aid).is_dir()]
FAST = ["--timeout", "30", "--notebook-timeout", "240", "--verify-timeout", "60", "--no-progress", "--workers", "2"]


def _wrong(exercise) -> str:
    """A definition of the exercise's function that runs but is wrong on every case."""
    return (f"def {exercise.name}(*args, **kwargs):\n"
            "    raise ValueError('deliberately wrong')\n")


# Appended to the wrong function's cell: silence every in-kernel check, visible and hidden (the
# hidden tests' judge, whether it compares with stored values or checks properties).
_SILENCE = """
import autograder.spec as _spec
_spec.Exercise.judge = lambda self, case, actual: []
run_check = lambda *a, **k: None
"""


# 02_local_optima: answers a red team once read from inside the verifier's sandbox: the expected
# minima in the driver's case (a frame up the stack, or anywhere in the garbage collector), and the
# analytic Hessian of the surface behind the callable ``f`` (its closure). The verifier's sandbox
# holds neither (tests/test_answers_out_of_reach.py has the full probe). (In the kernel the visible
# checks, which run first in the test cells, already fail the thief.)
_THIEF = """
import gc as _gc
import sys as _sys

def _leaked(key):
    frame = _sys._getframe(2)
    while frame is not None:
        for value in list(frame.f_locals.values()):
            if isinstance(value, dict) and key in value:
                return value[key]
        frame = frame.f_back
    for obj in _gc.get_objects():
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], np.ndarray):
            return obj[key]
    return None

def numerical_hessian(f, x, h=1e-4):
    for cell in f.__closure__ or ():
        for obj in (cell.cell_contents, getattr(cell.cell_contents, "__self__", None)):
            if hasattr(obj, "hessian"):
                return np.array(obj.hessian(np.asarray(x, dtype=float)), dtype=np.float64)
    raise ValueError("no Hessian within reach")
"""
_THIEF_MINIMA = """
def find_minima(f, grad_fn, starts, learning_rate, num_steps, tol=1e-3):
    minima = _leaked("minima")
    if minima is None:
        raise ValueError("no minima within reach")
    return np.array(minima, dtype=np.float64)
"""


def _with_cell(nb, grade_id: str, source: str):
    nb = nbformat.from_dict(nbformat.reads(nbformat.writes(nb), as_version=4))
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            cell.source = source
            return nb
    pytest.fail(f"no solution cell with grade_id {grade_id!r}")


@pytest.fixture(scope="module")
def sandbox_ok(tmp_path_factory):
    if not probe(build_lib_dir(tmp_path_factory.mktemp("probe") / "lib", mpl_cache=False))[0]:
        pytest.skip("bubblewrap is not usable here")


@pytest.mark.slow
@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_solution_full_stub_zero_wrong_exercise_and_tampering(aid, tmp_path, sandbox_ok):
    assignment = get(aid)
    course = tmp_path / "course"
    (course / "solutions").mkdir(parents=True)
    shutil.copytree(REPO / "solutions" / aid, course / "solutions" / aid)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"load_subconfig({str(REPO / 'autograder' / 'nbgrader_config.py')!r})\n"
        f"c.CourseDirectory.root = {str(course)!r}\n")
    cn = load_course_notebooks(REPO / "solutions" / aid / assignment.notebook)

    # The last function: later ones may build on earlier ones (06's backward runs the learner's own
    # forward for its cache, 02's find_minima calls numerical_hessian), never the other way round.
    # (A derived number is not a function; tests/test_verifier.py covers a wrong or hostile one.)
    from autograder.drivers import VALUE_DRIVERS

    wrong = [ex for ex in assignment.exercises if ex.driver not in VALUE_DRIVERS][-1]
    one_wrong = _with_cell(cn.correct, wrong.name, _wrong(wrong))
    tamper = _with_cell(cn.correct, wrong.name, _wrong(wrong) + _SILENCE)
    submissions = {"correct": cn.correct, "stub": cn.student, "one-wrong": one_wrong, "tamper": tamper}
    if aid == "02_local_optima":
        thief = _with_cell(cn.correct, "find_minima", _THIEF_MINIMA)
        submissions["thief"] = _with_cell(thief, "numerical_hessian", _THIEF)
    for student, nb in submissions.items():
        d = tmp_path / "submitted" / student / aid
        d.mkdir(parents=True)
        nbformat.write(nb, d / assignment.notebook)

    out = tmp_path / "out"
    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = cli.main([aid, str(tmp_path / "submitted"), "--out", str(out), "--course-dir", str(course), *FAST])
    assert rc == 0, buf.getvalue()
    with open(out / "grades.csv", newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}

    full = assignment.max_score
    assert rows["correct"]["status"] == "graded", rows["correct"]
    assert float(rows["correct"]["score"]) == full
    assert float(rows["correct"]["max_score"]) == full
    for ex in assignment.exercises:
        assert float(rows["correct"][ex.name]) == ex.points, (ex.name, rows["correct"])
        assert float(rows["stub"][ex.name]) == 0, (ex.name, rows["stub"])
    assert rows["stub"]["status"] == "graded" and float(rows["stub"]["score"]) == 0
    assert rows["one-wrong"]["status"] == "graded", rows["one-wrong"]
    assert float(rows["one-wrong"][wrong.name]) == 0
    assert float(rows["one-wrong"]["score"]) == full - wrong.points
    # grades.csv says why the points were lost, without opening the feedback
    assert f"{wrong.name} lost {wrong.points:g} points" in rows["one-wrong"]["notes"], rows["one-wrong"]["notes"]
    assert "deliberately wrong" in rows["one-wrong"]["notes"]
    # plain nbgrader would give the tamperer full marks; the verifier's score stands, and says why
    assert rows["tamper"]["status"] == "tamper-suspected", rows["tamper"]
    assert float(rows["tamper"][wrong.name]) == 0
    assert float(rows["tamper"]["score"]) == full - wrong.points
    if "thief" in rows:  # no answer within the verifier's reach: 0 verified
        assert float(rows["thief"]["numerical_hessian"]) == 0 and float(rows["thief"]["find_minima"]) == 0, rows["thief"]
        stolen = assignment.exercise("numerical_hessian").points + assignment.exercise("find_minima").points
        assert float(rows["thief"]["score"]) == full - stolen, rows["thief"]

    from nbgrader.api import Gradebook

    from autograder.grading.coordinator import load_course

    c = load_course(course)
    with Gradebook(c.db_url, c.course_id) as gb:
        for student in submissions:
            sub = gb.find_submission_notebook(Path(assignment.notebook).stem, aid, student)
            assert sub.score == pytest.approx(float(rows[student]["score"])), student

    # --grades-only (the notebook's experiments not run): the same score for every submission
    fast = _grades(aid, tmp_path / "submitted", tmp_path / "out-grades-only", course, "--grades-only")
    for student, row in rows.items():
        assert {n: fast[student][n] for n in ("score", *(ex.name for ex in assignment.exercises))} == \
            {n: row[n] for n in ("score", *(ex.name for ex in assignment.exercises))}, student
        assert "grades-only" in fast[student]["flags"].split(), fast[student]
    # the in-kernel run is what exposes tampering; without it the verifier's score stands all the same
    assert {fast[s]["status"] for s in rows} == {"graded"}


def _grades(aid, submitted, out, course, *extra) -> dict:
    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = cli.main([aid, str(submitted), "--out", str(out), "--course-dir", str(course), "--no-gradebook",
                       *FAST, *extra])
    assert rc == 0, buf.getvalue()
    with open(out / "grades.csv", newline="") as f:
        return {r["student_id"]: r for r in csv.DictReader(f)}
