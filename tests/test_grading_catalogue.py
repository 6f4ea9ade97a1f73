"""The catalogue of hostile and broken submissions, graded by ``nnopt-grade`` in one run.

Every fixture of ``tests/grading_fixtures/`` (except ``basic``, the class ``test_grading.py``
grades) is one student of one class. The whole class is graded once per test session (a
module-scoped fixture, two grading workers); then one test per fixture checks its status, its
verified score per exercise, its total and its flags in ``grades.csv`` *and* in the nbgrader
gradebook, and the module checks that the batch completed, that the gradebook is intact (the
assignment, its cells and checksums as ``nbgrader generate_assignment`` records them, no manual
scores or extra credit, one submission per student), that ``nbgrader export`` agrees with
``grades.csv``, and that nothing was written outside the sandbox.

Time limits are short (a cell 10 s, a verifier attempt 6 s, a feedback rendering 10 s) so that the
hanging fixtures cost little; the slowest cell of the honest notebook takes about 3 s on a loaded
2-core machine, its feedback well under a second.
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import sys
import time
import warnings
import zipfile
from contextlib import redirect_stdout
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder import cli
from autograder.grading.coordinator import _discover, load_course
from autograder.plain import NotPlain, pack, unpack
from autograder.sandbox import build_lib_dir, probe, read_untrusted
from grading_fixtures import ASSIGNMENT_ID, FULL, NOTEBOOK, collect, load_course_notebooks, write_submission
from grading_fixtures.isolation import SENTINEL, VICTIM
from test_grading import make_course, nbgrader, read_csv

REPO = Path(__file__).resolve().parents[1]
EXERCISES = list(FULL)
#: Modules of the catalogue (``basic`` is graded by test_grading.py).
MODULES = ["cells", "costs", "honest", "isolation", "noise", "resources", "robustness", "scripts", "tampering"]
FIXTURES = collect(MODULES)
BY_NAME = {f.name: f for f in FIXTURES}
LIMITS = ["--timeout", "10", "--notebook-timeout", "120", "--verify-timeout", "6", "--feedback-timeout", "10",
          "--no-progress"]

pytestmark = pytest.mark.xdist_group("catalogue")

#: The issue's list, item by item, and the fixtures that cover it.
REQUIRED = {
    "monkeypatching numpy": ["numpy-patched", "sys-modules-numpy"],
    "monkeypatching numpy.testing": ["numpy-testing-patched"],
    "monkeypatching builtins": ["builtins-patched"],
    "monkeypatching the checker modules": ["checker-modules-patched", "sys-modules-checkers"],
    "monkeypatching sys.modules": ["sys-modules-checkers", "sys-modules-numpy"],
    "editing cells": ["test-cell-edited", "locked-markdown-edited", "solution-to-markdown"],
    "deleting cells": ["deleted-solution", "noise-all-tests-deleted"],
    "duplicating cells": ["duplicated-test", "solution-duplicated", "solution-spoiled-by-copy"],
    "editing cell metadata": ["test-cell-ungraded", "points-edited", "test-metadata-removed", "test-grade-id-renamed",
                              "solution-grade-id-renamed", "same-cell-ids"],
    "reordering cells": ["cells-reordered"],
    "shadowing modules with extra files": ["shadow-files", "noise-extra-files", "shadow-at-runtime"],
    "always-equal and lying return values": ["always-equal-object", "float-subclass", "ndarray-subclass",
                                             "array-lookalike", "dict-subclass-config", "nan-answers", "lookup-table"],
    "reading the gradebook or hidden tests": ["steal-solution", "lookup-table", "ipython-pre-run-hook",
                                              "secrets-canary"],
    "writing the gradebook": ["write-everywhere"],
    "another student's files": ["copy-other-student", "symlink-to-other-student", "write-everywhere"],
    "infinite loops": ["while-true-cell", "while-true-in-function"],
    "infinite loops that swallow KeyboardInterrupt": ["swallow-interrupt-in-function"],
    "memory bombs": ["memory-error", "rss-bomb", "memory-bomb-in-function"],
    "fork bombs": ["fork-bomb"],
    "huge output": ["huge-output", "print-100mb", "fd-flood", "ten-thousand-plots"],
    "killing the kernel": ["kill-kernel-after-tests", "kill-kernel-in-solution", "sigkill-self", "os-exit-in-function"],
    "malformed JSON": ["invalid-nbformat", "empty-file", "binary-file", "json-not-notebook"],
    "wrong kernelspec": ["wrong-kernelspec", "kernelspec-nonexistent", "kernelspec-missing"],
    "input()": ["input", "input-in-function"],
    "warnings on stderr": ["warns", "noise-stderr-and-warnings"],
    "sys.exit": ["sys-exit", "sys-exit-in-function", "system-exit-in-solution-cell"],
    "behaving differently when graded": ["right-only-at-home", "right-only-in-kernel", "ipython-pre-run-hook",
                                         "ipython-input-transformer", "ipython-ast-transformer"],
    "attacking the grader's own files": ["forged-report", "fifo-and-symlink-report", "forged-verifier-results",
                                         "swapped-verifier-dir"],
    "notebook files: two, huge, too big, no notebook, bad timestamp": ["two-notebooks", "huge-notebook",
                                                                     "oversized-notebook", "no-notebook-file",
                                                                     "bad-timestamp"],
    "slowing the grader itself down": ["pathological-markdown"],
    "every cost is bounded: results too large to judge, long notebooks": [
        "huge-array-result", "oversized-result", "huge-nested-list", "huge-dict", "deep-wide-list",
        "six-hundred-cells", "runner-killed-after-tests"],
    "honest helper cells": ["honest-defaults-printed", "honest-helper-function", "honest-plot-in-helper-cell",
                            "honest-class-helper", "honest-import-in-helper-cell", "honest-magic-in-helper-cell",
                            "honest-magic-in-solution-cell", "honest-numpy-constant", "honest-own-numpy-alias",
                            "honest-helper-defined-later", "honest-experiments-skipped"],
    "script in markdown and outputs": ["script-in-markdown-and-outputs", "script-in-file-name"],
}
#: Correct submissions with something harmless (or hostile but beside the point) added: full marks.
CORRECT = [f.name for f in FIXTURES if f.scores == FULL]


def _bwrap_ok(tmp_path_factory) -> bool:
    return probe(build_lib_dir(tmp_path_factory.mktemp("probe") / "lib", mpl_cache=False))[0]


def _read_gradebook(course: Path) -> dict:
    """Everything the checks need from the gradebook, read once."""
    from nbgrader.api import Gradebook

    c = load_course(course)
    nb_name = Path(NOTEBOOK).stem
    out = {"students": {}, "source_cells": {}, "grade_cells": {}}
    with Gradebook(c.db_url, c.course_id) as gb:
        assignment = gb.find_assignment(ASSIGNMENT_ID)
        out["assignment"] = {"name": assignment.name, "max_score": assignment.max_score,
                             "num_submissions": assignment.num_submissions}
        notebook = gb.find_notebook(nb_name, ASSIGNMENT_ID)
        out["source_cells"] = {s.name: (s.cell_type, s.locked, s.source, s.checksum) for s in notebook.source_cells}
        out["grade_cells"] = {g.name: (g.max_score, g.cell_type) for g in notebook.grade_cells}
        for student in gb.students:
            try:
                sub = gb.find_submission_notebook(nb_name, ASSIGNMENT_ID, student.id)
            except Exception:  # noqa: BLE001 - a student without this submission
                continue
            out["students"][student.id] = {
                "score": sub.score, "max_score": sub.max_score, "flagged": sub.flagged,
                "grades": {g.name: {"auto": g.auto_score, "manual": g.manual_score, "extra": g.extra_credit,
                                    "needs_review": g.needs_manual_grade} for g in sub.grades}}
    return out


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory):
    if not _bwrap_ok(tmp_path_factory):
        pytest.skip("bubblewrap is not usable here")
    root = tmp_path_factory.mktemp("catalogue")
    course = make_course(root)
    course_notebooks = load_course_notebooks()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nbformat warns about the cell ids some fixtures break on purpose
        for f in FIXTURES:
            write_submission(root / "submitted", f.name, f.build(course_notebooks))
    out = root / "out"
    buf = io.StringIO()
    t0 = time.monotonic()
    with redirect_stdout(buf):
        rc = cli.main([ASSIGNMENT_ID, str(root / "submitted"), "--out", str(out), "--course-dir", str(course),
                       "--workers", "2", *LIMITS])
    seconds = time.monotonic() - t0
    print(f"\n[catalogue] {len(FIXTURES)} submissions graded in {seconds:.0f} s")  # shown with -s
    results = {}
    for path in (out / "results").glob("*.json"):
        r = json.loads(path.read_text())
        results[r["student_id"]] = r
    return {"root": root, "course": course, "out": out, "rc": rc, "stdout": buf.getvalue(), "seconds": seconds,
            "rows": read_csv(out / "grades.csv") if (out / "grades.csv").exists() else {}, "results": results,
            "gradebook": _read_gradebook(course)}


# ---------------------------------------------------------------------------------------------
# The catalogue itself (no grading needed)


def test_catalogue_covers_the_issue_list():
    hostile = [f for f in FIXTURES if not f.name.startswith(("control-", "noise-"))]
    assert len(hostile) >= 30, len(hostile)
    for item, names in REQUIRED.items():
        missing = [n for n in names if n not in BY_NAME]
        assert not missing, (item, missing)
    assert VICTIM in BY_NAME and BY_NAME[VICTIM].scores == FULL
    assert len(CORRECT) >= 10  # full marks expected despite the noise


# ---------------------------------------------------------------------------------------------
# One test per fixture


@pytest.mark.slow
@pytest.mark.parametrize("name", [f.name for f in FIXTURES])
def test_fixture(catalogue, name):
    f = BY_NAME[name]
    row = catalogue["rows"].get(name)
    assert row is not None, f"{name} has no row in grades.csv: the batch did not complete"
    result = catalogue["results"].get(name, {})
    context = (f.description, row["status"], row["flags"], row["notes"][:1500])
    # grades.csv: status, verified score per exercise, total, max, flags
    assert row["status"] == f.status, context
    flags = set(row["flags"].split("+")) - {""}
    assert set(f.flags) <= flags, context
    assert (f.status in flags) if f.status != "graded" else not flags, context
    got = {ex: float(row[ex]) for ex in EXERCISES}
    assert got == {ex: float(v) for ex, v in f.scores.items()}, context
    assert float(row["score"]) == sum(got.values())
    assert float(row["max_score"]) == 11
    if f.note:
        problems = " ".join(p for e in result.get("exercises", {}).values() for p in e.get("problems", []))
        assert f.note in row["notes"] + " " + problems, context
    # the gradebook says the same
    gb = catalogue["gradebook"]["students"][name]
    assert gb["score"] == pytest.approx(float(row["score"])), (gb, context)
    assert gb["max_score"] == 15  # 11 autograded + two written answers (4) a person grades
    assert gb["flagged"] == (f.status != "graded"), (gb, context)
    for ex in EXERCISES:
        grade = gb["grades"][f"test_{ex}"]
        assert grade["auto"] == pytest.approx(got[ex]), (ex, gb, context)
        assert grade["manual"] is None and not grade["extra"], (ex, gb)
    tampered = {e["name"] for e in result.get("exercises", {}).values()
                if e.get("kernel_passed") and not e.get("passed")}
    if f.status == "tamper-suspected":
        assert tampered and all(gb["grades"][f"test_{ex}"]["needs_review"] for ex in tampered), (gb, context)
    # feedback exists and shows no hidden test
    html = (catalogue["course"] / "feedback" / name / ASSIGNMENT_ID / "03_momentum.html")
    out_html = catalogue["out"] / "feedback" / name / ASSIGNMENT_ID / "03_momentum.html"
    assert out_html.is_file(), context
    for path in (html, out_html):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert "BEGIN HIDDEN TESTS" not in text and "_get_assignment(" not in text, (path, context)


# ---------------------------------------------------------------------------------------------
# The class as a whole


@pytest.mark.slow
def test_batch_completed(catalogue):
    assert catalogue["rc"] == 0, catalogue["stdout"][-3000:]
    assert set(catalogue["rows"]) == set(BY_NAME), set(BY_NAME) ^ set(catalogue["rows"])
    assert set(catalogue["results"]) == set(BY_NAME)
    assert not [n for n, r in catalogue["rows"].items() if r["status"] == "grader-error"]
    assert f"{len(FIXTURES)} submissions:" in catalogue["stdout"]


@pytest.mark.slow
def test_correct_submissions_get_full_marks(catalogue):
    rows = catalogue["rows"]
    assert {n: rows[n]["score"] for n in CORRECT} == {n: "11" for n in CORRECT}
    assert rows[VICTIM]["status"] == "graded"


@pytest.mark.slow
def test_gradebook_is_intact(catalogue, tmp_path):
    gb = catalogue["gradebook"]
    assert gb["assignment"]["name"] == ASSIGNMENT_ID and gb["assignment"]["max_score"] == 15
    # one submission per student directory, notebook or not (a missing notebook is recorded as a 0)
    assert gb["assignment"]["num_submissions"] == len(FIXTURES)
    assert set(gb["students"]) == set(BY_NAME)
    for name, student in gb["students"].items():
        for cell, grade in student["grades"].items():
            assert grade["manual"] is None and not grade["extra"], (name, cell, grade)
    # the cells and checksums recorded are those nbgrader's own generate_assignment records
    fresh = make_course(tmp_path / "fresh")
    env = {**os.environ, "NNOPT_COURSE_ROOT": str(fresh), "HOME": str(tmp_path),
           "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])}
    nbgrader("generate_assignment", ASSIGNMENT_ID, "--force", cwd=fresh, env=env)
    reference = _read_gradebook(fresh)
    assert gb["source_cells"] == reference["source_cells"]
    assert gb["grade_cells"] == reference["grade_cells"]
    assert sum(max_score for max_score, _ in gb["grade_cells"].values()) == 15


@pytest.mark.slow
def test_nbgrader_export_agrees_with_grades_csv(catalogue, tmp_path):
    course = catalogue["course"]
    env = {**os.environ, "NNOPT_COURSE_ROOT": str(course), "HOME": str(tmp_path),
           "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])}
    nbgrader("export", "--to", str(tmp_path / "export.csv"), cwd=course, env=env)
    with open(tmp_path / "export.csv", newline="") as f:
        export = {r["student_id"]: r for r in csv.DictReader(f) if r["assignment"] == ASSIGNMENT_ID}
    rows = catalogue["rows"]
    assert set(export) == set(rows)
    for name, row in rows.items():
        assert float(export[name]["score"]) == pytest.approx(float(row["score"])), name
        assert float(export[name]["max_score"]) == 15


@pytest.mark.slow
def test_nothing_was_written_outside_the_sandbox(catalogue):
    planted = [p for p in catalogue["root"].rglob(f"*{SENTINEL}*")]
    for d in (REPO, REPO / ".venv", REPO / ".venv" / "lib", REPO / "autograder", REPO / "solutions", REPO / "notebooks",
              Path("/"), Path("/tmp"), REPO.parent):
        planted += list(d.glob(f"*{SENTINEL}*"))
    assert not planted
    for path in (REPO / ".venv" / "pyvenv.cfg", REPO / "autograder" / "spec.py"):
        assert not path.exists() or SENTINEL.encode() not in path.read_bytes()
    # the honest student the others copied from, linked to or wrote at is unaffected
    assert catalogue["rows"][VICTIM]["score"] == "11" and catalogue["rows"][VICTIM]["status"] == "graded"
    victim_nb = catalogue["root"] / "submitted" / VICTIM / ASSIGNMENT_ID / NOTEBOOK
    assert nbformat.read(victim_nb, as_version=4).cells  # still a notebook, and still where it was


@pytest.mark.slow
def test_rerun_changes_nothing(catalogue):
    """Re-running the same command reuses every result and leaves grades.csv and the gradebook as they were."""
    out, course, root = catalogue["out"], catalogue["course"], catalogue["root"]
    before = (out / "grades.csv").read_text()
    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = cli.main([ASSIGNMENT_ID, str(root / "submitted"), "--out", str(out), "--course-dir", str(course),
                       "--workers", "2", *LIMITS])
    assert rc == 0
    assert f"graded 0 now, reused {len(FIXTURES)}" in buf.getvalue()
    assert (out / "grades.csv").read_text() == before
    assert _read_gradebook(course) == catalogue["gradebook"]


@pytest.mark.slow
def test_grades_only_gives_every_fixture_the_same_score(catalogue, tmp_path):
    """``--grades-only`` (no in-kernel run, no feedback) on the whole catalogue: the same score and the
    same points per exercise for every hostile, broken and honest submission, flagged ``grades-only``;
    statuses differ only where the in-kernel run is what noticed something (a cell's timeout,
    tampering that silenced the in-kernel tests, cut output...)."""
    root, course = catalogue["root"], catalogue["course"]
    out = tmp_path / "out"
    with redirect_stdout(io.StringIO()):
        rc = cli.main([ASSIGNMENT_ID, str(root / "submitted"), "--out", str(out), "--course-dir", str(course),
                       "--workers", "2", "--no-gradebook", "--grades-only", *LIMITS])
    assert rc == 0
    fast = read_csv(out / "grades.csv")
    assert fast.keys() == catalogue["rows"].keys()
    kernel_only = {"tamper-suspected", "timeout", "kernel-died", "output-truncated", "memory", "process-limit",
                   "disk-limit"}
    for name, row in catalogue["rows"].items():
        assert [fast[name][c] for c in ("score", *FULL)] == [row[c] for c in ("score", *FULL)], (name, fast[name], row)
        if fast[name]["status"] == "graded":
            assert "grades-only" in fast[name]["flags"].split(), (name, fast[name]["flags"])
        if row["status"] not in kernel_only:
            assert fast[name]["status"] == row["status"], (name, fast[name]["status"], row["status"])
    assert not list(out.glob("feedback/**/*.html")), "grades-only renders no feedback"


# ---------------------------------------------------------------------------------------------
# The grader's defences the catalogue relies on, tested directly (fast)


def test_read_untrusted_refuses_fifos_symlinks_and_big_files(tmp_path):
    (tmp_path / "ok").write_bytes(b"data")
    assert read_untrusted(tmp_path, "ok", 10) == b"data"
    with pytest.raises(FileNotFoundError):
        read_untrusted(tmp_path, "absent", 10)
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "zero").symlink_to("/dev/zero")
    (tmp_path / "link").symlink_to(tmp_path / "ok")
    (tmp_path / "big").write_bytes(b"x" * 11)
    (tmp_path / "dir").symlink_to(tmp_path)
    for name in ("fifo", "zero", "link", "big", "dir/ok"):
        with pytest.raises(OSError):
            read_untrusted(tmp_path, name, 10)


def test_unpack_refuses_zip_bombs_and_broken_archives():
    assert unpack(pack({"a": np.arange(3.0)}))["a"].tolist() == [0.0, 1.0, 2.0]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("__manifest__.npy", pack(None))  # any content: refused before it is read
        with z.open("a0.npy", "w", force_zip64=True) as f:
            for _ in range(64):
                f.write(bytes(4 << 20))  # 256 MB of zeros, about 256 kB compressed
    bomb = buf.getvalue()
    assert len(bomb) < 1 << 20
    with pytest.raises(NotPlain, match="inflate"):
        unpack(bomb, max_bytes=64 << 20)
    deep = io.BytesIO()
    np.savez(deep, __manifest__=np.frombuffer(("[" * 100_000 + "]" * 100_000).encode(), dtype=np.uint8))
    with pytest.raises(NotPlain):
        unpack(deep.getvalue())
    with pytest.raises(NotPlain):
        unpack(b"PK\x03\x04 not really a zip")


def test_discovery_reads_only_regular_files_and_checks_timestamps(tmp_path):
    sub = tmp_path / "submitted"
    good = write_submission(sub, "alice", {NOTEBOOK: b"{}", "timestamp.txt": b"2026-01-05 10:00:00.000000 UTC",
                                           "submission_secret.txt": b"ab12" * 32})
    write_submission(sub, "bob", {"timestamp.txt": b"\xff not a date",
                                  "submission_secret.txt": b"<script>alert(1)</script>"})
    os.symlink(good / NOTEBOOK, sub / "bob" / ASSIGNMENT_ID / NOTEBOOK)
    write_submission(sub, "carol", {})
    os.mkfifo(sub / "carol" / ASSIGNMENT_ID / NOTEBOOK)
    os.mkfifo(sub / "carol" / ASSIGNMENT_ID / "timestamp.txt")
    os.symlink("/etc/passwd", sub / "carol" / ASSIGNMENT_ID / "submission_secret.txt")
    subs = {s["student_id"]: s for s in _discover(sub, ASSIGNMENT_ID, NOTEBOOK)}  # must not block on the FIFOs
    assert subs["alice"]["notebook_bytes"] == b"{}" and subs["alice"]["timestamp"].startswith("2026-01-05")
    assert subs["bob"]["notebook_bytes"] is None and subs["bob"]["timestamp"] is None
    assert "not a timestamp" in subs["bob"]["notes"][0]
    # nbgrader's exchange secret (needed by release_feedback): kept only as a small regular file of hex digits
    assert subs["alice"]["secret"] == "ab12" * 32
    assert subs["bob"]["secret"] is None and any("not nbgrader's hex secret" in n for n in subs["bob"]["notes"])
    assert subs["carol"]["secret"] is None and any("submission_secret.txt is not a regular file" in n
                                                   for n in subs["carol"]["notes"])
    assert any("not a regular file" in o for o in subs["bob"]["other_notebooks"])
    assert subs["carol"]["notebook_bytes"] is None and subs["carol"]["timestamp"] is None
    assert stat.S_ISFIFO(os.lstat(sub / "carol" / ASSIGNMENT_ID / NOTEBOOK).st_mode)


def test_feedback_rendering_is_time_bounded(monkeypatch):
    from autograder.grading import worker

    def slow(*args, **kwargs):
        time.sleep(30)

    monkeypatch.setattr(worker.nbs, "render_feedback_html", slow)
    cn = load_course_notebooks()
    from autograder.grading.records import GradeJob, SubmissionResult

    job = GradeJob(student_id="s", notebook=NOTEBOOK, options={"feedback_timeout": 1.0})
    t0 = time.monotonic()
    result = worker.feedback(job, SubmissionResult(student_id="s", assignment=None, notebook=NOTEBOOK, key=None,
                                                   score=3.0, max_score=10.0), cn.slim, t0)
    assert time.monotonic() - t0 < 10
    assert "FeedbackTimeout" in result["feedback_html"] and "Score: 3 / 10" in result["feedback_html"]
    assert any("feedback could not be rendered" in n for n in result["notes"])


@pytest.mark.slow
def test_no_learner_script_in_feedback_or_autograded(catalogue):
    """The script fixtures' feedback HTML (ours and the course's) and autograded notebook (as formgrader
    renders it) hold no event handler, script, javascript: URL or frame of the learner's: as many
    ``<script`` tags as an honest submission's (the template's own), and the learner's text still there."""
    import re

    from grading_fixtures.scripts import HONEST_HEADING, NAMES, active_markup, render_with_template

    def pages(name):
        feedback = [catalogue["out"] / "feedback" / name / ASSIGNMENT_ID / "03_momentum.html",
                    catalogue["course"] / "feedback" / name / ASSIGNMENT_ID / "03_momentum.html"]
        autograded = nbformat.read(catalogue["course"] / "autograded" / name / ASSIGNMENT_ID / NOTEBOOK, as_version=4)
        nbformat.validate(autograded)
        return [p.read_text() for p in feedback] + [render_with_template(autograded, "formgrade")]

    honest = pages("control-correct")
    for name in NAMES:
        for page, control in zip(pages(name), honest):
            assert active_markup(page) == [], (name, active_markup(page))
            assert len(re.findall(r"<script\b", page)) == len(re.findall(r"<script\b", control)), name
            # in a tag, not in the text that shows the learner's source (there "<" is "&lt;")
            assert not re.search(r"<[a-z][^<>]*\son[a-z]+\s*=[^<>]*nnopt", page, re.I), name
            assert not re.search(r"""<[a-z][^<>]*\s(?:href|src|action)\s*=\s*["']?\s*javascript:""", page, re.I), name
    for page in pages("script-in-markdown-and-outputs"):
        assert HONEST_HEADING in page and "nnopt-honest-stream" in page
