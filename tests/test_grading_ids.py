"""Student ids are folder names, so anything: no id may break or confuse a class.

A small class is graded by ``nnopt-grade`` (``autograder.cli.main``) once per session: a normal
student, a 250-byte id, 120 accented letters, ``col a`` beside ``col_a``, ids that a spreadsheet
reads as formulas, an id with ANSI escape sequences, an id that is not UTF-8, one with a comma,
``José`` in NFC and in NFD, and two symbolic links (a student folder, and an assignment folder,
each pointing at the normal student's work). Then: the batch completed, every student has its own
row, result file and feedback file, ids the course cannot take are ``bad-student-id`` and kept out
of it, grades.csv is safe to open in a spreadsheet, the terminal never gets a raw control
character, the gradebook and ``nbgrader export`` agree with grades.csv, and a re-run, or a resumed
run, gives the same. The policy itself is in ``autograder/grading/coordinator.py`` ("Student ids").

Most submissions are the slim correct notebook (a few seconds each) or a file that is not a
notebook (no kernel at all), and time limits are short, as in test_grading_catalogue.py.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import sys
import unicodedata
from contextlib import redirect_stdout
from pathlib import Path

import nbformat
import pytest

from autograder import cli
from autograder.grading import coordinator as co
from grading_fixtures import ASSIGNMENT_ID, NOTEBOOK, WRONG_PARAMS, WRONG_SGD, load_course_notebooks, write_submission
from test_grading import make_course, nbgrader
from test_grading_catalogue import _read_gradebook

pytestmark = pytest.mark.xdist_group("student-ids")

LIMITS = ["--timeout", "10", "--notebook-timeout", "120", "--verify-timeout", "6", "--feedback-timeout", "10",
          "--no-progress"]
HTML = Path(NOTEBOOK).stem + ".html"

NORMAL = "alice"
LONG = "long-" + "x" * 245                   # 250 bytes: a results file name used to be too long
ACCENTED = "\u00e9" * 120                    # 240 bytes in UTF-8, 120 characters
COL_SPACE, COL_UNDERSCORE = "col a", "col_a"  # used to share one results and feedback file
FORMULA = "=cmd|' \\C calc'!A0"              # the classic payload, with "\" ("/" cannot be in a folder name)
PLUS, MINUS, AT = "+1", "-2", "@SUM(1)"
ANSI = "\x1b[31mred\x1b[0m"
NOT_UTF8 = "bad-\udcff"                      # the folder name's bytes are b"bad-\xff"
COMMA = "doe, jane"
JOSE_NFC, JOSE_NFD = unicodedata.normalize("NFC", "Jos\u00e9"), unicodedata.normalize("NFD", "Jos\u00e9")
LINKED_STUDENT = "mallory"                   # submitted/mallory -> submitted/alice
LINKED_ASSIGNMENT = "trudy"                  # submitted/trudy/03_momentum -> submitted/alice/03_momentum

CORRECT, NOT_JSON, EMPTY, NO_NOTEBOOK = "correct", "not-json", "empty", "none"
WHAT = {NORMAL: CORRECT, LONG: CORRECT, ACCENTED: CORRECT, COL_SPACE: CORRECT, COL_UNDERSCORE: "wrong-sgd",
        FORMULA: CORRECT, PLUS: NOT_JSON, MINUS: NO_NOTEBOOK, AT: EMPTY, ANSI: NOT_JSON, NOT_UTF8: NOT_JSON,
        COMMA: NO_NOTEBOOK, JOSE_NFC: CORRECT, JOSE_NFD: "wrong-params"}
STUDENTS = list(WHAT) + [LINKED_STUDENT, LINKED_ASSIGNMENT]
#: status and total score expected in grades.csv
#: (03_momentum: 11 points the grader scores, the derived number included)
EXPECTED = {NORMAL: ("graded", 11), LONG: ("bad-student-id", 11), ACCENTED: ("graded", 11),
            COL_SPACE: ("graded", 11), COL_UNDERSCORE: ("graded", 7), FORMULA: ("graded", 11),
            PLUS: ("malformed", 0), MINUS: ("no-notebook", 0), AT: ("malformed", 0), ANSI: ("bad-student-id", 0),
            NOT_UTF8: ("bad-student-id", 0), COMMA: ("bad-student-id", 0), JOSE_NFC: ("graded", 11),
            JOSE_NFD: ("graded", 9), LINKED_STUDENT: ("no-notebook", 0), LINKED_ASSIGNMENT: ("no-notebook", 0)}
BAD = {sid for sid, (status, _) in EXPECTED.items() if status == "bad-student-id"}
RECORDED = set(STUDENTS) - BAD


def _bwrap_ok(tmp_path_factory) -> bool:
    from autograder.sandbox import build_lib_dir, probe

    return probe(build_lib_dir(tmp_path_factory.mktemp("probe") / "lib", mpl_cache=False))[0]


def csv_key(sid: str) -> str:
    """How ``sid`` appears in grades.csv once the spreadsheet quote is taken off (bytes that are not UTF-8 as ``\\udcff``)."""
    return sid.encode("utf-8", "backslashreplace").decode("utf-8")


def unquote(cell: str) -> str:
    return cell[1:] if cell.startswith("'") else cell


def read_rows(path: Path) -> dict[str, dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return {unquote(r["student_id"]): r for r in csv.DictReader(f)}


def run_cli(root: Path, course: Path, out: Path, *extra: str) -> tuple[int, str]:
    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = cli.main([ASSIGNMENT_ID, str(root / "submitted"), "--out", str(out), "--course-dir", str(course),
                       "--workers", "2", *LIMITS, *extra])
    return rc, buf.getvalue()


def submission(cn, what: str) -> dict | None:
    if what == NO_NOTEBOOK:
        return {}
    if what == NOT_JSON:
        return {NOTEBOOK: b"{not json"}
    if what == EMPTY:
        return {NOTEBOOK: b""}
    nb = copy.deepcopy(cn.slim)
    {CORRECT: lambda nb: None, "wrong-sgd": WRONG_SGD, "wrong-params": WRONG_PARAMS}[what](nb)
    return {NOTEBOOK: nbformat.writes(nb).encode()}


@pytest.fixture(scope="module")
def pinned_code():
    """A result's key includes a hash of the grader's code: pinned here, so that someone editing
    ``autograder/`` while this module runs does not turn the re-runs below into full regrades."""
    real, seen = co._code_fingerprint, {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(co, "_code_fingerprint", lambda ref: seen.setdefault(ref, real(ref)))
        yield


@pytest.fixture(scope="module")
def graded(tmp_path_factory, pinned_code):
    if not _bwrap_ok(tmp_path_factory):
        pytest.skip("bubblewrap is not usable here")
    root = tmp_path_factory.mktemp("ids")
    course = make_course(root)
    cn = load_course_notebooks()
    sub = root / "submitted"
    for sid, what in WHAT.items():
        write_submission(sub, sid, submission(cn, what))
    assert os.fsencode(sub / NOT_UTF8).endswith(b"/bad-\xff")
    (sub / LINKED_STUDENT).symlink_to(NORMAL)
    (sub / LINKED_ASSIGNMENT).mkdir()
    (sub / LINKED_ASSIGNMENT / ASSIGNMENT_ID).symlink_to(sub / NORMAL / ASSIGNMENT_ID)
    out = root / "out"
    rc, stdout = run_cli(root, course, out)
    return {"root": root, "course": course, "out": out, "rc": rc, "stdout": stdout,
            "csv": (out / "grades.csv").read_text(encoding="utf-8") if (out / "grades.csv").exists() else "",
            "gradebook": _read_gradebook(course)}


# ---------------------------------------------------------------------------------------------
# The class


@pytest.mark.slow
def test_every_student_gets_a_row_and_the_expected_status(graded):
    assert graded["rc"] == 0, graded["stdout"][-3000:]
    rows = read_rows(graded["out"] / "grades.csv")
    assert set(rows) == {csv_key(s) for s in STUDENTS}, set(rows) ^ {csv_key(s) for s in STUDENTS}
    got = {sid: (rows[csv_key(sid)]["status"], float(rows[csv_key(sid)]["score"])) for sid in STUDENTS}
    assert got == {sid: (status, float(score)) for sid, (status, score) in EXPECTED.items()}
    assert rows[NORMAL]["flags"] == "" and rows[NORMAL]["notes"] == ""
    assert float(rows[NORMAL]["max_score"]) == 11
    for sid in BAD:
        assert "not recorded in the course" in rows[csv_key(sid)]["notes"], sid
    assert "250 characters" in rows[LONG]["notes"] and "U+001B" in rows[ANSI]["notes"]
    assert "not UTF-8" in rows[csv_key(NOT_UTF8)]["notes"] and "comma" in rows[COMMA]["notes"]
    assert set(rows[csv_key(ANSI)]["flags"].split("+")) == {"bad-student-id", "malformed"}
    for sid in (LINKED_STUDENT, LINKED_ASSIGNMENT):
        assert "symbolic link and is not followed" in rows[sid]["notes"], rows[sid]
    for sid, other in ((JOSE_NFC, JOSE_NFD), (JOSE_NFD, JOSE_NFC)):
        assert "looks like another one" in rows[sid]["notes"] and co.display_id(other) in rows[sid]["notes"]
    # the student the links pointed at is graded as usual, once, under its own name
    assert rows[NORMAL]["score"] == "11"


@pytest.mark.slow
def test_every_student_has_its_own_files(graded):
    out, course = graded["out"], graded["course"]
    names = [co._safe_name(sid) for sid in STUDENTS]
    assert len(set(names)) == len(names)
    assert all(len(n.encode()) <= 64 for n in names)
    assert names[STUDENTS.index(COL_SPACE)].startswith("col_a~") and co._safe_name(COL_UNDERSCORE) == "col_a"
    results = {}
    for path in (out / "results").glob("*.json"):
        r = json.loads(path.read_text())
        assert path.stem == co._safe_name(r["student_id"]), path
        results[r["student_id"]] = r
    assert set(results) == set(STUDENTS)
    feedback = {}
    for sid in STUDENTS:
        path = out / "feedback" / co._safe_name(sid) / ASSIGNMENT_ID / HTML
        assert path.is_file(), sid
        feedback[sid] = path.read_text()
    assert sorted(p.name for p in (out / "feedback").iterdir()) == sorted(names)
    # look-alike ids, each with its own grade in its own feedback
    for sid, score in ((COL_SPACE, 11), (COL_UNDERSCORE, 7), (JOSE_NFC, 11), (JOSE_NFD, 9), (NORMAL, 11)):
        assert f"Score: {score} / 11" in feedback[sid], sid
    # the course: nbgrader's layout under the exact id, for the ids it can take, and nothing for the others
    for sid in RECORDED:
        assert (course / "autograded" / sid / ASSIGNMENT_ID / NOTEBOOK).is_file(), sid
        assert (course / "feedback" / sid / ASSIGNMENT_ID / HTML).read_text() == feedback[sid], sid
    for sid in BAD:
        assert not (course / "autograded" / sid).exists() and not (course / "feedback" / sid).exists(), repr(sid)
    # a link is not followed: nothing was written through it, and nothing read from the linked work
    assert (graded["root"] / "submitted" / LINKED_STUDENT).is_symlink()
    assert "Score: 0 / 11" in feedback[LINKED_STUDENT] and "Score: 0 / 11" in feedback[LINKED_ASSIGNMENT]


@pytest.mark.slow
def test_grades_csv_is_safe_in_a_spreadsheet(graded):
    text = graded["csv"]
    rows = list(csv.reader(io.StringIO(text, newline="")))
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (cell, row)
    by_id = {row[0]: row for row in rows[1:]}
    for sid in (FORMULA, PLUS, MINUS, AT):
        assert "'" + sid in by_id, sid
    assert COL_SPACE in by_id and ACCENTED in by_id and JOSE_NFD in by_id  # other ids are exactly as they are
    assert "bad-\\udcff" in by_id  # the bytes that are not UTF-8, escaped; the file itself is UTF-8
    # numbers stay numbers
    header = rows[0]
    for row in rows[1:]:
        for col in ("score", "max_score"):
            value = row[header.index(col)]
            assert value == "" or float(value) >= 0, row


@pytest.mark.slow
def test_the_terminal_gets_no_control_characters(graded):
    stdout = graded["stdout"]
    assert not [ch for ch in stdout if unicodedata.category(ch) == "Cc" and ch != "\n"], stdout[-2000:]
    assert "\\x1b[31mred\\x1b[0m" in stdout and "bad-\\udcff" in stdout and "Jose\\u0301" in stdout
    assert f"{len(STUDENTS)} submissions:" in stdout and "4 bad-student-id" in stdout
    assert LONG not in stdout and ("...~" + co._id_hash(LONG)) in stdout  # a 250-byte id is cut, and ends with its hash
    assert max(len(line) for line in stdout.splitlines()) < 160


@pytest.mark.slow
def test_gradebook_and_nbgrader_export_agree(graded, tmp_path):
    rows = read_rows(graded["out"] / "grades.csv")
    gb = graded["gradebook"]
    assert set(gb["students"]) == RECORDED
    assert gb["assignment"]["num_submissions"] == len(RECORDED)
    for sid in RECORDED:
        row, student = rows[sid], gb["students"][sid]
        assert student["score"] == pytest.approx(float(row["score"])), sid
        assert student["flagged"] == (row["status"] != "graded"), sid
    course = graded["course"]
    env = {**os.environ, "NNOPT_COURSE_ROOT": str(course), "HOME": str(tmp_path),
           "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])}
    nbgrader("export", "--to", str(tmp_path / "export.csv"), cwd=course, env=env)
    with open(tmp_path / "export.csv", newline="", encoding="utf-8") as f:
        export = {r["student_id"]: r for r in csv.DictReader(f) if r["assignment"] == ASSIGNMENT_ID}
    assert set(export) == RECORDED  # nbgrader's ids are the exact ids: grades.csv's without the quote
    for sid in RECORDED:
        assert float(export[sid]["score"]) == pytest.approx(float(rows[sid]["score"])), sid


@pytest.mark.slow
def test_rerun_and_resume_give_the_same(graded):
    root, course, out = graded["root"], graded["course"], graded["out"]
    rc, stdout = run_cli(root, course, out)
    assert rc == 0 and f"graded 0 now, reused {len(STUDENTS)}" in stdout, stdout[-2000:]
    assert (out / "grades.csv").read_text(encoding="utf-8") == graded["csv"]
    assert _read_gradebook(course) == graded["gradebook"]
    # an interrupted run: two results are missing (a hashed name, and an id the course refuses)
    for sid in (COL_SPACE, NOT_UTF8):
        (out / "results" / f"{co._safe_name(sid)}.json").unlink()
    rc, stdout = run_cli(root, course, out)
    assert rc == 0 and f"graded 2 now, reused {len(STUDENTS) - 2}" in stdout, stdout[-2000:]
    assert (out / "grades.csv").read_text(encoding="utf-8") == graded["csv"]
    assert _read_gradebook(course) == graded["gradebook"]


# ---------------------------------------------------------------------------------------------
# The policy, piece by piece (fast, no sandbox)


TRICKY = ["alice", "Alice", "ALICE", "col a", "col_a", "col_a~" + co._id_hash("col a"), "-2", "+1", ".x", "_x",
          "x" * 64, "x" * 65, "x" * 250, "\u00e9" * 120, "e\u0301" * 120, JOSE_NFC, JOSE_NFD, "jos\u00e9", ANSI,
          NOT_UTF8, "\udcfe", "a\\b", "a b", " a", "a\t", "\u212b", "\u00c5", "\uff41lice", "\U0001f600" * 60]


def test_file_names_are_unique_bounded_and_readable():
    names = {sid: co._safe_name(sid) for sid in TRICKY}
    assert len(set(names.values())) == len(TRICKY)
    # unique even where the file system folds case or Unicode normalization (macOS, Windows)
    folded = {unicodedata.normalize("NFC", n).casefold() for n in names.values()}
    assert len(folded) == len(TRICKY)
    for sid, name in names.items():
        assert 0 < len(name.encode("utf-8")) <= 64, (sid, name)
        assert "/" not in name and "\0" not in name and not name.startswith((".", "-")), name
        assert name.isprintable() and unicodedata.is_normalized("NFC", name), name
    assert names["alice"] == "alice" and names["x" * 64] == "x" * 64 and names["_x"] == "_x"
    assert names["Alice"].startswith("Alice~") and names["col a"].startswith("col_a~")
    assert names[JOSE_NFC].startswith("Jos\u00e9~") and names[JOSE_NFD].startswith("Jos\u00e9~")
    assert names["x" * 250].startswith("x" * 48 + "~")


def test_which_ids_the_course_refuses():
    ok = ["alice", "col a", "col_a", "=1+1", "+1", "-2", "@SUM(1)", JOSE_NFC, JOSE_NFD, "\u00e9" * 120, "x" * 128,
          "O'Brien", "a\\b", "\U0001f600"]
    assert {sid: co.student_id_problem(sid) for sid in ok} == {sid: None for sid in ok}
    for sid in ["x" * 129, ANSI, "a\nb", "a\rb", "\tx", "a\u202eb", "a\u2028b", NOT_UTF8, " a", "a ", "a,b", 'a"b',
                "", ".", "..", "a/b"]:
        assert co.student_id_problem(sid), repr(sid)


def test_ids_are_printed_escaped():
    for sid in TRICKY + ["a\nb", "\x9b31m", "a\u202eb"]:
        shown = co.display_id(sid)
        assert shown.isprintable() and len(shown) <= 40, (sid, shown)
    assert co.display_id("col a") == "col a" and co.display_id(JOSE_NFC) == JOSE_NFC
    assert co.display_id(ANSI) == "\\x1b[31mred\\x1b[0m"
    assert co.display_id(JOSE_NFD) == "Jose\\u0301" != co.display_id(JOSE_NFC)
    assert co.display_id("a\\b") == "a\\\\b" and co.display_id(" a") == "\\x20a"
    assert co.display_id("x" * 250).endswith("...~" + co._id_hash("x" * 250))
    assert co.display_id("x" * 250) != co.display_id("x" * 249)
    from autograder.cli import _printable

    assert _printable(f"no such file: /tmp/{ANSI}\n") == "no such file: /tmp/\\x1b[31mred\\x1b[0m\\n"


def test_csv_cells_are_neutralized_reversibly():
    for text in ["=1+1", "+1", "-2", "@SUM(1)", "\tx", "\rx", "'x", "''", "=cmd|' \\C calc'!A0"]:
        cell = co._csv_text(text)
        assert cell == "'" + text and unquote(cell) == text
    for text in ["alice", "col a", "", "1", "x=1", " =1"]:
        assert co._csv_text(text) == text


def test_one_failing_submission_does_not_stop_the_others(monkeypatch):
    """A result that cannot be recorded, and a job that raises, still leave every job with a result."""
    def grade(job):
        if job["student_id"] == "raises":
            raise RuntimeError("boom")
        return {"student_id": job["student_id"], "status": "graded"}

    monkeypatch.setattr(co, "grade_submission", grade)
    jobs = [{"student_id": s, "assignment_id": ASSIGNMENT_ID, "notebook": NOTEBOOK, "key": "k"}
            for s in ("a", "raises", "refused", "b")]
    got = []

    def on_result(res):
        if res["student_id"] == "refused" and res["status"] == "graded":
            raise OSError("File name too long")
        got.append(res)

    co._run_jobs(jobs, co.GradeOptions(assignment=ASSIGNMENT_ID, submissions_dir=Path("."), out_dir=Path("."),
                                       workers=1), on_result)
    assert [(r["student_id"], r["status"]) for r in got] == [("a", "graded"), ("raises", "grader-error"),
                                                             ("refused", "grader-error"), ("b", "graded")]
    assert "File name too long" in got[2]["notes"][0]


def test_files_that_cannot_be_written_mark_only_their_student(tmp_path):
    course = co.load_course(make_course(tmp_path))
    out = tmp_path / "out"
    results = [{"student_id": sid, "status": "graded", "flags": [], "notes": [], "autograded": "{}",
                "feedback_html": "<html></html>"} for sid in ("a", "blocked", "b")]
    (course.root / "autograded").mkdir()
    (course.root / "autograded" / "blocked").write_text("a file where a folder should be")
    opts = co.GradeOptions(assignment=ASSIGNMENT_ID, submissions_dir=tmp_path, out_dir=out)
    co._write_files(course, opts, results, ASSIGNMENT_ID, NOTEBOOK, {})
    assert [r["status"] for r in results] == ["graded", "grader-error", "graded"]
    assert "could not be written" in results[1]["notes"][0]
    for sid in ("a", "b"):
        assert (out / "feedback" / sid / ASSIGNMENT_ID / HTML).is_file()
        assert (course.root / "feedback" / sid / ASSIGNMENT_ID / HTML).is_file()


def test_symlinked_student_folders_are_reported_not_followed(tmp_path):
    sub = tmp_path / "submitted"
    write_submission(sub, "alice", {NOTEBOOK: b"{}"})
    (sub / "mallory").symlink_to("alice")
    (sub / "trudy").mkdir()
    (sub / "trudy" / ASSIGNMENT_ID).symlink_to(sub / "alice" / ASSIGNMENT_ID)
    (sub / "dangling").symlink_to("nowhere")
    (sub / "to-a-file").symlink_to(sub / "alice" / ASSIGNMENT_ID / NOTEBOOK)
    subs = {s["student_id"]: s for s in co._discover(sub, ASSIGNMENT_ID, NOTEBOOK)}
    assert set(subs) == {"alice", "mallory", "trudy"}
    assert subs["alice"]["notebook_bytes"] == b"{}"
    for sid in ("mallory", "trudy"):
        assert subs[sid]["notebook_bytes"] is None and "symbolic link" in subs[sid]["notes"][0], subs[sid]
