"""Grading a class end to end: statuses and scores in grades.csv and the gradebook, feedback,
idempotent re-runs, the Dask path, the unsandboxed fallback, and the nbgrader workflow around it."""

from __future__ import annotations

import copy
import datetime
import hashlib
import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder import cli
from autograder.grading import notebooks as nbs
from autograder.grading.coordinator import GradeOptions, grade_class, load_course
from autograder.grading.status import STATUSES, choose_status
from autograder.sandbox import build_lib_dir, probe
from grading_fixtures import ASSIGNMENT_ID, FULL, NOTEBOOK, collect, edit, load_course_notebooks, write_submission

REPO = Path(__file__).resolve().parents[1]
EXERCISES = list(FULL)
FAST = ["--timeout", "10", "--notebook-timeout", "150", "--verify-timeout", "20", "--no-progress"]
FAST_OPTS = {"cell_timeout": 10, "notebook_timeout": 150, "verify_timeout": 20, "progress": False}


def _bwrap_ok(tmp_path_factory) -> bool:
    return probe(build_lib_dir(tmp_path_factory.mktemp("probe") / "lib", mpl_cache=False))[0]


def make_course(root: Path, exchange: Path | None = None) -> Path:
    """A course directory like the repository: solutions/ and an nbgrader_config.py using the course's config."""
    course = root / "course"
    (course / "solutions").mkdir(parents=True)
    shutil.copytree(REPO / "solutions" / ASSIGNMENT_ID, course / "solutions" / ASSIGNMENT_ID)
    lines = ["c = get_config()", f"load_subconfig({str(REPO / 'autograder' / 'nbgrader_config.py')!r})",
             f"c.CourseDirectory.root = {str(course)!r}"]
    if exchange is not None:
        lines.append(f"c.Exchange.root = {str(exchange)!r}")
    (course / "nbgrader_config.py").write_text("\n".join(lines) + "\n")
    return course


def read_csv(path: Path) -> dict[str, dict]:
    with open(path, newline="") as f:
        return {row["student_id"]: row for row in csv.DictReader(f)}


def gradebook_scores(course: Path, student_ids) -> dict[str, dict]:
    from nbgrader.api import Gradebook

    c = load_course(course)
    out = {}
    with Gradebook(c.db_url, c.course_id) as gb:
        for sid in student_ids:
            sub = gb.find_submission_notebook(Path(NOTEBOOK).stem, ASSIGNMENT_ID, sid)
            out[sid] = {"score": sub.score, "flagged": sub.flagged,
                        "cells": {g.name: (g.auto_score, g.manual_score, g.needs_manual_grade) for g in sub.grades}}
    return out


# ---------------------------------------------------------------------------------------------
# Pure parts: no sandbox needed


@pytest.fixture(scope="module")
def course_notebooks():
    return load_course_notebooks()


def test_partial_credit_is_read_under_numpy_2():
    assert nbs.parse_partial("np.float64(2.0)") == 2.0
    assert nbs.parse_partial("numpy.int64(3)") == 3.0
    assert nbs.parse_partial(["1.5"]) == 1.5
    assert nbs.parse_partial("'hello'") is None
    cell = nbformat.v4.new_code_cell("x", metadata={"nbgrader": {"grade": True, "grade_id": "t", "points": 4,
                                                                "solution": False, "locked": True}})
    nb = nbformat.v4.new_notebook(cells=[cell])
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text="UserWarning: careful\n"),
                    nbformat.v4.new_output("execute_result", data={"text/plain": "np.float64(2.0)"}, execution_count=1)]
    assert nbs.kernel_cell_scores(nb)["t"]["score"] == 2.0  # stderr is no error; partial credit is 2, not 4
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text="UserWarning: careful\n")]
    assert nbs.kernel_cell_scores(nb)["t"]["score"] == 4.0
    cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="", traceback=[])]
    assert nbs.kernel_cell_scores(nb)["t"]["score"] == 0.0
    assert nbs.kernel_cell_scores(nb, executed=set())["t"]["note"] == "not run"


def test_restore_puts_back_deleted_duplicated_and_edited_cells(course_notebooks):
    cn = course_notebooks
    untouched = nbs.restore(cn.student, cn.master, cn.student)
    assert untouched.notes == []
    assert [c.source for c in untouched.nb.cells] == [c.source for c in cn.master.cells]

    nb = nbformat.reads(nbformat.writes(cn.correct), as_version=4)

    def index(gid):
        return [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells].index(gid)

    t = index("test_sgd_momentum")
    nb.cells.insert(t + 1, nbformat.reads(nbformat.writes(nb), as_version=4).cells[t])   # duplicate a test cell
    nb.cells[t].source = "pass  # no tests here"                                        # edit it
    del nb.cells[index("test_nesterov_momentum")]                                       # delete another
    nb.cells[index("momentum_optimal_params")].metadata["nbgrader"]["solution"] = False  # edit metadata
    nb.metadata["kernelspec"] = {"name": "evil", "display_name": "evil", "language": "python"}
    r = nbs.restore(nb, cn.master, cn.student)
    text = " ".join(r.notes)
    assert "duplicate" in text and "edited" in text and "missing" in text and "metadata" in text
    restored_gids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in r.nb.cells]
    assert restored_gids == [c.metadata.get("nbgrader", {}).get("grade_id") for c in cn.master.cells]
    assert len(r.nb.cells) == len(cn.master.cells)
    test_cell = r.nb.cells[restored_gids.index("test_sgd_momentum")]
    assert "BEGIN HIDDEN TESTS" in test_cell.source  # restored from the master, hidden tests included
    assert r.nb.metadata["kernelspec"]["name"] == "python3"
    assert len(nbs.solution_sources(r.nb)) == 4


def test_a_submission_from_before_a_change_of_points_is_not_an_edit(course_notebooks):
    """The instructor changes an exercise's points after release (issue 11): submissions carry the old
    points in their test cells' metadata; that is not an edit (no note, so no missing-cells-restored),
    and the restored cells carry the new points."""
    cn = course_notebooks
    nb = nbformat.reads(nbformat.writes(cn.correct), as_version=4)
    master = nbformat.reads(nbformat.writes(cn.master), as_version=4)
    for cell in master.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_sgd_momentum":
            old = cell.metadata["nbgrader"]["points"]
            cell.metadata["nbgrader"]["points"] = old + 1
    r = nbs.restore(nb, master, cn.student)
    assert r.notes == [] and not r.restored
    assert len(r.info) == 1 and "'test_sgd_momentum' carries" in r.info[0]
    (cell,) = [c for c in r.nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_sgd_momentum"]
    assert cell.metadata["nbgrader"]["points"] == old + 1


def test_malformed_notebooks_are_refused_or_rebuilt():
    with pytest.raises(nbs.NotebookProblem, match="JSON"):
        nbs.read_submission(b"{not json")
    with pytest.raises(nbs.NotebookProblem):
        nbs.read_submission(b"[1, 2, 3]")
    broken = {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
              "cells": [{"cell_type": "code", "source": ["x = 1\n", "y = 2"], "bogus": True},
                        {"cell_type": "markdown", "source": "hi", "metadata": "not a dict"}]}
    nb, notes = nbs.read_submission(json.dumps(broken).encode())
    assert notes and notes[0].startswith("malformed") and nb.cells[0].source == "x = 1\ny = 2"


def test_feedback_hides_hidden_tests(course_notebooks):
    fb = nbs.feedback_notebook(course_notebooks.master, "summary", {})
    text = nbformat.writes(fb)
    assert "HIDDEN TESTS" not in text and "_A.check" not in text and "ASSIGNMENT as _A" not in text


def test_status_priority():
    assert choose_status([]) == "graded"
    assert choose_status(["missing-cells-restored", "tamper-suspected"]) == "tamper-suspected"
    assert choose_status(["unsandboxed", "timeout"]) == "timeout"
    assert choose_status(["timeout", "memory"]) == "memory"
    assert set(STATUSES) >= {"graded", "malformed", "timeout", "memory", "kernel-died", "missing-cells-restored",
                             "tamper-suspected", "unsandboxed", "no-notebook"}


# ---------------------------------------------------------------------------------------------
# A class, graded for real


def grade_fixtures(root: Path, fixtures, course_notebooks, *extra_args: str) -> dict:
    """Write ``fixtures`` as a class under ``root``, grade it with the CLI, return what is needed to check it.

    ``rows = grade_fixtures(...)["rows"]``, then :func:`check_fixture` for each fixture (the full
    catalogue has its own module, tests/test_grading_catalogue.py, which also checks the gradebook).
    """
    import io
    from contextlib import redirect_stdout

    course = make_course(root)
    for f in fixtures:
        write_submission(root / "submitted", f.name, f.build(course_notebooks))
    out = root / "out"
    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = cli.main([ASSIGNMENT_ID, str(root / "submitted"), "--out", str(out), "--course-dir", str(course),
                       "--workers", "2", *FAST, *extra_args])
    assert rc == 0, buf.getvalue()
    return {"root": root, "course": course, "out": out, "fixtures": fixtures, "stdout": buf.getvalue(),
            "rows": read_csv(out / "grades.csv")}


def check_fixture(f, row: dict) -> None:
    """A fixture's expected status, scores and flags against its row of grades.csv."""
    assert row["status"] == f.status, (f.name, row)
    if f.scores is not None:
        got = {ex: float(row[ex]) for ex in EXERCISES}
        assert got == {k: float(v) for k, v in f.scores.items()}, (f.name, row)
        assert float(row["score"]) == sum(got.values())
    for flag in f.flags:
        assert flag in row["flags"].split("+"), (f.name, row)


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory, course_notebooks):
    if not _bwrap_ok(tmp_path_factory):
        pytest.skip("bubblewrap is not usable here")
    root = tmp_path_factory.mktemp("class")
    (root / "submitted" / "no-notebook" / ASSIGNMENT_ID).mkdir(parents=True)
    (root / "submitted" / "no-notebook" / ASSIGNMENT_ID / "Untitled.ipynb").write_text("{}")
    return grade_fixtures(root, collect(["basic"]), course_notebooks)


@pytest.mark.slow
def test_class_statuses_and_scores(graded_class):
    rows = graded_class["rows"]
    expected = {f.name: f for f in graded_class["fixtures"]}
    assert set(rows) == set(expected) | {"no-notebook"}
    for name, f in expected.items():
        check_fixture(f, rows[name])
        assert float(rows[name]["max_score"]) == 11
    assert rows["no-notebook"]["status"] == "no-notebook" and "Untitled.ipynb" in rows["no-notebook"]["notes"]
    assert "tamper" in graded_class["stdout"] and "grades:" in graded_class["stdout"]
    # why points were lost is in grades.csv, with the mistake named (its velocity has the wrong sign)
    assert "sgd_momentum lost 4 points: it looks like the velocity adds +learning_rate·dw" in rows["tamper"]["notes"], rows["tamper"]
    assert "lost" not in rows["correct"]["notes"]


@pytest.mark.slow
def test_gradebook_and_course_files(graded_class):
    rows = read_csv(graded_class["out"] / "grades.csv")
    course = graded_class["course"]
    gb = gradebook_scores(course, rows)
    for sid, row in rows.items():
        assert gb[sid]["score"] == pytest.approx(float(row["score"])), sid
        assert gb[sid]["flagged"] == (row["status"] != "graded")
        assert (course / "autograded" / sid / ASSIGNMENT_ID / NOTEBOOK).is_file()
        html = (course / "feedback" / sid / ASSIGNMENT_ID / "03_momentum.html").read_text()
        assert html == (graded_class["out"] / "feedback" / sid / ASSIGNMENT_ID / "03_momentum.html").read_text()
        for secret in ("HIDDEN TESTS", "_A.check", "ASSIGNMENT as _A"):
            assert secret not in html, (sid, secret)
        assert "Grading summary" in html
    # the tampering student: the verifier's 0 stands, and the cell is flagged for a human
    auto, manual, needs_review = gb["tamper"]["cells"]["test_sgd_momentum"]
    assert auto == 0 and needs_review
    autograded = nbformat.read(course / "autograded" / "tamper" / ASSIGNMENT_ID / NOTEBOOK, as_version=4)
    text = nbformat.writes(autograded)
    assert "sgd_momentum: hidden tests passed" in text and "[grader] verified outside your kernel: 0 / 4" in text
    # the empty notebook: every function reported as not implemented, nothing else
    empty = json.loads((graded_class["out"] / "results" / "empty.json").read_text())
    assert {e["outcome"] for e in empty["exercises"].values()} == {"not-implemented"}
    # every result file is the JSON form of a SubmissionResult, read back unchanged
    from autograder.grading.records import SubmissionResult

    for path in (graded_class["out"] / "results").glob("*.json"):
        data = json.loads(path.read_text())
        # the feedback page is stored once, in OUT/feedback/, and only named here by its hash
        assert data["feedback_html"] is None
        digest = data.pop("feedback_sha256", None)
        assert SubmissionResult.from_dict(data).to_dict() == data, path.name
        if data["status"] not in ("no-notebook",) and data.get("autograded"):
            page = graded_class["out"] / "feedback" / path.stem / ASSIGNMENT_ID / "03_momentum.html"
            assert hashlib.sha256(page.read_bytes()).hexdigest() == digest, path.name
    # the empty notebook's feedback contains no solution
    html = (course / "feedback" / "empty" / ASSIGNMENT_ID / "03_momentum.html").read_text()
    assert "sqrt_kappa" not in html and "v_prev = config" not in html


@pytest.mark.slow
def test_rerun_is_idempotent(graded_class):
    out, course = graded_class["out"], graded_class["course"]
    before_csv = (out / "grades.csv").read_text()
    before_gb = gradebook_scores(course, read_csv(out / "grades.csv"))
    res = grade_class(GradeOptions(assignment=ASSIGNMENT_ID, submissions_dir=graded_class["root"] / "submitted",
                                   out_dir=out, course_dir=course, workers=2, **FAST_OPTS), log=lambda *a, **k: None)
    assert res.graded_now == 0 and res.reused == len(graded_class["fixtures"]) + 1
    assert (out / "grades.csv").read_text() == before_csv
    assert gradebook_scores(course, read_csv(out / "grades.csv")) == before_gb

    # a feedback page that is gone (or was changed) is not taken from the cache: that student is graded again
    page = out / "feedback" / "correct" / ASSIGNMENT_ID / "03_momentum.html"
    kept = page.read_text()
    page.unlink()
    res = grade_class(GradeOptions(assignment=ASSIGNMENT_ID, submissions_dir=graded_class["root"] / "submitted",
                                   out_dir=out, course_dir=course, workers=2, students=["correct"], **FAST_OPTS),
                      log=lambda *a, **k: None)
    assert res.graded_now == 1 and page.is_file() and "Grading summary" in page.read_text()
    assert len(page.read_text()) == pytest.approx(len(kept), rel=0.01)
    assert (out / "grades.csv").read_text() == before_csv


@pytest.mark.slow
def test_dask_cluster_gives_the_same_results(graded_class):
    distributed = pytest.importorskip("dask.distributed")
    students = ["correct", "tamper", "not-json"]
    out = graded_class["root"] / "out-dask"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        res = grade_class(GradeOptions(assignment=ASSIGNMENT_ID, submissions_dir=graded_class["root"] / "submitted",
                                       out_dir=out, course_dir=graded_class["course"], scheduler=cluster.scheduler_address,
                                       students=students, **FAST_OPTS), log=lambda *a, **k: None)
    assert res.graded_now == len(students)
    pool = read_csv(graded_class["out"] / "grades.csv")
    dask = read_csv(out / "grades.csv")
    keep = ["score", "max_score", "status"] + EXERCISES
    assert {s: {k: dask[s][k] for k in keep} for s in students} == {s: {k: pool[s][k] for k in keep} for s in students}


@pytest.mark.slow
def test_without_bwrap_grading_refuses_unless_allowed(tmp_path, monkeypatch, course_notebooks):
    course = make_course(tmp_path)
    write_submission(tmp_path / "submitted", "correct", collect(["basic"])[0].build(course_notebooks))
    monkeypatch.setenv("NNOPT_BWRAP", "/nonexistent/bwrap")
    args = [ASSIGNMENT_ID, str(tmp_path / "submitted"), "--out", str(tmp_path / "out"), "--course-dir", str(course),
            "--workers", "1", *FAST]
    assert cli.main(args) == 2
    assert not (tmp_path / "out" / "grades.csv").exists()
    assert cli.main(args + ["--allow-unsandboxed"]) == 0
    row = read_csv(tmp_path / "out" / "grades.csv")["correct"]
    assert row["status"] == "unsandboxed" and float(row["score"]) == 11


def test_an_empty_submissions_folder_is_an_error_not_a_silent_success(tmp_path, capsys):
    (tmp_path / "submitted" / "stray-file-only").mkdir(parents=True)
    args = [ASSIGNMENT_ID, str(tmp_path / "submitted"), "--out", str(tmp_path / "out"), "--no-gradebook",
            "--workers", "1", "--allow-unsandboxed", *FAST]
    assert cli.main(args) == 1
    err = capsys.readouterr().err
    assert "no submissions found in" in err and f"<student_id>/{ASSIGNMENT_ID}/*.ipynb" in err


def test_ctrl_c_says_what_is_kept_and_exits_130(tmp_path, monkeypatch, capsys):
    from autograder.grading import coordinator

    def interrupted(opts, log=print):
        raise KeyboardInterrupt

    monkeypatch.setattr(coordinator, "grade_class", interrupted)
    (tmp_path / "submitted").mkdir()
    assert cli.main([ASSIGNMENT_ID, str(tmp_path / "submitted"), "--out", str(tmp_path / "out")]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "results" in err and "Traceback" not in err


# The catalogue of hostile and broken submissions (every other module of grading_fixtures) is
# graded, in one run, by tests/test_grading_catalogue.py.


# ---------------------------------------------------------------------------------------------
# The nbgrader workflow around nnopt-grade


def nbgrader(*args, cwd, env):
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args, "--log-level=WARN"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.mark.slow
def test_nbgrader_round_trip_then_nnopt_grade_then_export(tmp_path, tmp_path_factory, course_notebooks):
    if not _bwrap_ok(tmp_path_factory):
        pytest.skip("bubblewrap is not usable here")
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    os.chmod(exchange, 0o777)
    course = make_course(tmp_path, exchange)
    env = {**os.environ, "NNOPT_COURSE_ROOT": str(course), "HOME": str(tmp_path),
           "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])}
    nbgrader("generate_assignment", ASSIGNMENT_ID, "--force", cwd=course, env=env)
    nbgrader("release_assignment", ASSIGNMENT_ID, "--force", cwd=course, env=env)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in course_notebooks.source.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    for student, solved in {"alice": set(answers), "bob": {"momentum_optimal_params"}}.items():
        home = tmp_path / student
        home.mkdir()
        (home / "nbgrader_config.py").write_text(
            f"c = get_config()\nc.Exchange.root = {str(exchange)!r}\nc.CourseDirectory.course_id = 'nnopt'\n")
        nbgrader("fetch_assignment", ASSIGNMENT_ID, cwd=home, env={**env, "NNOPT_COURSE_ROOT": str(home)})
        path = home / ASSIGNMENT_ID / NOTEBOOK
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if gid in solved:
                cell.source = answers[gid]
        nbformat.write(nb, path)
        nbgrader("submit", ASSIGNMENT_ID, "--student", student, cwd=home, env={**env, "NNOPT_COURSE_ROOT": str(home)})
    nbgrader("collect", ASSIGNMENT_ID, cwd=course, env=env)
    assert sorted(p.name for p in (course / "submitted").iterdir()) == ["alice", "bob"]

    out = tmp_path / "out"
    assert cli.main([ASSIGNMENT_ID, str(course / "submitted"), "--out", str(out), "--course-dir", str(course),
                     "--workers", "2", *FAST]) == 0
    rows = read_csv(out / "grades.csv")
    assert (rows["alice"]["status"], float(rows["alice"]["score"])) == ("graded", 11.0)
    assert (rows["bob"]["status"], float(rows["bob"]["score"])) == ("graded", 2.0)

    # nbgrader's exchange takes nnopt-grade's feedback as its own: release, then each student fetches it
    for student in ("alice", "bob"):
        secret = (course / "submitted" / student / ASSIGNMENT_ID / "submission_secret.txt").read_text()
        assert (course / "feedback" / student / ASSIGNMENT_ID / "submission_secret.txt").read_text() == secret
    nbgrader("release_feedback", ASSIGNMENT_ID, cwd=course, env=env)
    for student, score in (("alice", "11"), ("bob", "2")):
        home = tmp_path / student
        nbgrader("fetch_feedback", ASSIGNMENT_ID, cwd=home, env={**env, "NNOPT_COURSE_ROOT": str(home)})
        fetched = sorted((home / ASSIGNMENT_ID / "feedback").rglob("03_momentum.html"))
        assert fetched, f"{student} fetched no feedback"
        texts = [f.read_text() for f in fetched]
        assert any(f"{score} / 11" in t.replace(".0 /", " /") for t in texts) and not any("HIDDEN TESTS" in t for t in texts)

    # formgrader's view (nbgrader's API): both submissions autograded, with the verified scores
    from nbgrader.apps import NbGraderAPI

    c = load_course(course)
    api = NbGraderAPI(coursedir=c.coursedir, config=c.config)
    subs = {s["student"]: s for s in api.get_submissions(ASSIGNMENT_ID)}
    assert subs["alice"]["autograded"] and subs["alice"]["score"] == 11
    assert subs["bob"]["autograded"] and subs["bob"]["score"] == 2

    # nbgrader's own feedback, through the course configuration, shows no hidden tests either
    nbgrader("generate_feedback", ASSIGNMENT_ID, "--force", cwd=course, env=env)
    html = (course / "feedback" / "bob" / ASSIGNMENT_ID / "03_momentum.html").read_text()
    assert "HIDDEN TESTS" not in html and "_A.check" not in html

    nbgrader("export", cwd=course, env=env)
    with open(course / "grades.csv", newline="") as f:
        export = {r["student_id"]: r for r in csv.DictReader(f) if r["assignment"] == ASSIGNMENT_ID}
    assert float(export["alice"]["score"]) == 11 and float(export["bob"]["score"]) == 2
    # the gradebook's maximum adds the two written answers (4 points) a person grades in formgrader
    assert float(export["alice"]["max_score"]) == 15 and float(rows["alice"]["written_max"]) == 4
    for student in ("alice", "bob"):  # grades.csv holds what the gradebook holds
        assert float(rows[student]["final_score"]) == float(export[student]["score"])
        assert rows[student]["timestamp"] == export[student]["timestamp"]


def nbgrader_export(course: Path, home: Path) -> dict[str, dict]:
    """``nbgrader export`` of the course, this assignment's rows by student id."""
    env = {**os.environ, "NNOPT_COURSE_ROOT": str(course), "HOME": str(home),
           "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])}
    nbgrader("export", cwd=course, env=env)
    with open(course / "grades.csv", newline="") as f:
        return {r["student_id"]: r for r in csv.DictReader(f) if r["assignment"] == ASSIGNMENT_ID}


@pytest.mark.slow
def test_grades_csv_and_nbgrader_export_agree_on_a_late_penalty(tmp_path, tmp_path_factory, course_notebooks):
    """A due date and nbgrader's "zero" late-penalty method: ann submits before the due date, bob
    after; grades.csv's late_penalty and final_score are what ``nbgrader export`` says."""
    if not _bwrap_ok(tmp_path_factory):
        pytest.skip("bubblewrap is not usable here")
    from nbgrader.api import Gradebook

    course = make_course(tmp_path)
    with open(course / "nbgrader_config.py", "a") as f:
        f.write("c.LateSubmissionPlugin.penalty_method = 'zero'\n")
    c = load_course(course)
    with Gradebook(c.db_url, c.course_id) as gb:
        gb.update_or_create_assignment(ASSIGNMENT_ID, duedate=datetime.datetime(2026, 12, 2))
    for sid, when in (("ann", "2026-12-01 10:00:00"), ("bob", "2026-12-03 10:00:00")):
        d = write_submission(tmp_path / "submitted", sid, edit()(course_notebooks))
        (d / "timestamp.txt").write_text(when)
    out = tmp_path / "out"
    assert cli.main([ASSIGNMENT_ID, str(tmp_path / "submitted"), "--out", str(out), "--course-dir", str(course),
                     "--workers", "2", "--grades-only", *FAST]) == 0
    rows = read_csv(out / "grades.csv")
    export = nbgrader_export(course, tmp_path)
    assert [float(rows[s]["score"]) for s in ("ann", "bob")] == [11.0, 11.0]  # the verified score
    assert [float(rows[s]["late_penalty"]) for s in ("ann", "bob")] == [0.0, 11.0]
    for sid in ("ann", "bob"):
        assert float(rows[sid]["final_score"]) == float(export[sid]["score"])
        assert float(rows[sid]["late_penalty"]) == float(export[sid]["late_submission_penalty"])
        assert rows[sid]["timestamp"] == export[sid]["timestamp"]
    assert float(export["bob"]["score"]) == 0.0
    assert rows["ann"]["written_score"] == "" and float(rows["ann"]["written_max"]) == 4, "not graded by a person yet"

    # the instructor grades ann's written answers in formgrader (nbgrader's API, as formgrader does), then
    # grades again: grades.csv adds them, as nbgrader export does
    with Gradebook(c.db_url, c.course_id) as gb:
        written = [g for g in gb.find_submission_notebook(Path(NOTEBOOK).stem, ASSIGNMENT_ID, "ann").grades
                   if g.cell.cell_type == "markdown"]
        assert len(written) == 2
        for g, score in zip(written, (1.5, 2.0)):
            g.manual_score = score
        gb.db.commit()
    assert cli.main([ASSIGNMENT_ID, str(tmp_path / "submitted"), "--out", str(out), "--course-dir", str(course),
                     "--workers", "2", "--grades-only", *FAST]) == 0
    rows = read_csv(out / "grades.csv")
    export = nbgrader_export(course, tmp_path)
    assert (float(rows["ann"]["written_score"]), float(rows["ann"]["final_score"])) == (3.5, 14.5)
    assert float(export["ann"]["score"]) == 14.5


def test_feedback_bounds_the_learners_markdown_in_any_thread(course_notebooks):
    """nbconvert's markdown parser is quadratic on nested brackets; the grader's SIGALRM deadline only
    works in a main thread, so a Dask worker thread relies on the learner's markdown being cut."""
    import threading

    nb = copy.deepcopy(course_notebooks.slim)
    nb.cells.append(nbformat.v4.new_markdown_cell("[" * 80_000 + "x" + "]" * 80_000))
    nb.cells += [nbformat.v4.new_markdown_cell(f"note {i}: " + "word " * 3000) for i in range(20)]
    fb = nbs.feedback_notebook(nb, "summary", {})
    learner = [c.source for c in fb.cells[-21:]]
    assert "cut here in this feedback: the cell has 160,001 characters" in learner[0]
    assert len(learner[0]) < nbs.FEEDBACK_MARKDOWN_CELL + 200
    assert sum(min(len(s), nbs.FEEDBACK_MARKDOWN_CELL) for s in learner) < nbs.FEEDBACK_MARKDOWN_TOTAL + 20 * 100
    assert learner[-1].startswith("*[your markdown cell of 15,009 characters is left out")
    # the instructor's (locked) markdown is never cut
    locked = [c.source for c in fb.cells if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("locked")]
    assert locked == [c.source for c in course_notebooks.slim.cells
                      if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("locked")]
    html = []
    t = threading.Thread(target=lambda: html.append(nbs.render_feedback_html(fb, notebook_name="n", score=1, max_score=2)),
                         daemon=True)
    t.start()
    t.join(120)  # uncut, this cell alone takes minutes; cut, about a second
    assert html and "cut here in this feedback" in html[0]


@pytest.mark.slow
def test_changing_points_after_release_updates_the_gradebook_and_flags_nobody(tmp_path, tmp_path_factory,
                                                                                course_notebooks):
    """Issue 11's instructor gives sgd_momentum one point more after the class submitted, and grades
    again: the gradebook (formgrader, nbgrader export) gets the new points, grades.csv and the export
    agree (12 / 12, and 16 in the gradebook with the written answers), and the submissions, which carry the old points, are not 'restored'."""
    if not _bwrap_ok(tmp_path_factory):
        pytest.skip("bubblewrap is not usable here")
    course = make_course(tmp_path)
    for sid in ("ann", "bob"):
        write_submission(tmp_path / "submitted", sid, edit()(course_notebooks))
    out = tmp_path / "out"
    args = [ASSIGNMENT_ID, str(tmp_path / "submitted"), "--out", str(out), "--course-dir", str(course),
            "--workers", "2", "--grades-only", *FAST]
    assert cli.main(args) == 0
    source = course / "solutions" / ASSIGNMENT_ID / NOTEBOOK
    nb = nbformat.read(source, as_version=4)
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_sgd_momentum"]
    cell.metadata["nbgrader"]["points"] += 1
    nbformat.write(nb, source)
    log = []
    assert grade_class(GradeOptions(assignment=ASSIGNMENT_ID, submissions_dir=tmp_path / "submitted", out_dir=out,
                                    course_dir=course, workers=2, grades_only=True, **FAST_OPTS),
                       log=log.append).results
    assert any("points for test_sgd_momentum were" in line and "updated" in line for line in log), log
    rows = read_csv(out / "grades.csv")
    export = nbgrader_export(course, tmp_path)
    for sid in ("ann", "bob"):
        assert rows[sid]["status"] == "graded", rows[sid]["notes"]
        assert (float(rows[sid]["score"]), float(rows[sid]["max_score"])) == (12.0, 12.0)
        assert (float(export[sid]["score"]), float(export[sid]["max_score"])) == (12.0, 16.0)  # + 4 written


def _edit_summary(nb, text: str):
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "md_summary"]
    cell.source = cell.source.replace("## Summary", text, 1)


@pytest.mark.slow
@pytest.mark.parametrize("history", ["graded-before", "release-folder"])
def test_a_locked_cell_from_an_older_release_is_not_an_edit(history, tmp_path, tmp_path_factory, course_notebooks):
    """Issue 11's instructor fixes a locked cell's text after release and grades again: ann, who submitted
    the older release untouched, is ``graded``; bob, who edited that cell himself, is still restored. The
    older release is known from an earlier grading run, or from the course's release folder (what
    ``nbgrader release_assignment`` sent out)."""
    if not _bwrap_ok(tmp_path_factory):
        pytest.skip("bubblewrap is not usable here")
    course = make_course(tmp_path)
    write_submission(tmp_path / "submitted", "ann", edit()(course_notebooks))
    write_submission(tmp_path / "submitted", "bob", edit(lambda nb: _edit_summary(nb, "## My summary"))(course_notebooks))
    out = tmp_path / "out"
    args = [ASSIGNMENT_ID, str(tmp_path / "submitted"), "--out", str(out), "--course-dir", str(course),
            "--workers", "2", "--grades-only", *FAST]
    if history == "graded-before":
        assert cli.main(args) == 0
        rows = read_csv(out / "grades.csv")
        assert (rows["ann"]["status"], rows["bob"]["status"]) == ("graded", "missing-cells-restored")
    else:
        released = course / "notebooks" / ASSIGNMENT_ID / NOTEBOOK  # the course's release folder (nbgrader_config)
        released.parent.mkdir(parents=True)
        nbformat.write(course_notebooks.student, released)
    source = course / "solutions" / ASSIGNMENT_ID / NOTEBOOK
    nb = nbformat.read(source, as_version=4)
    _edit_summary(nb, "## Summary (a typo fixed after release)")
    nbformat.write(nb, source)
    assert cli.main(args) == 0
    rows = read_csv(out / "grades.csv")
    assert rows["ann"]["status"] == "graded", rows["ann"]["notes"]
    assert rows["bob"]["status"] == "missing-cells-restored" and "'md_summary' had been edited" in rows["bob"]["notes"]
    assert float(rows["ann"]["score"]) == float(rows["bob"]["score"]) == 11
