"""The class report (``OUT/report.html`` and ``report.json``): what the class got wrong, counted from
the graded results, rebuilt without grading, escaped, and standing alone in a real browser."""

from __future__ import annotations

import io
import json
import re
from contextlib import redirect_stdout
import pytest

from autograder import cli
from autograder.grading.report import NOT_IMPLEMENTED, UNRECOGNISED, build_report, classify, render_html, write_report
from grading_fixtures import ASSIGNMENT_ID, NOTEBOOK, edit, load_course_notebooks, solution_cell, write_submission

HOSTILE_ID = "<script>alert('id')</script>"


def _exercise(name, passed, outcome="failed", problems=()):
    return {"name": name, "points": 2.0, "score": 2.0 if passed else 0.0, "passed": passed,
            "outcome": "passed" if passed else outcome, "problems": list(problems)}


def _result(sid, status="graded", notes=(), **exercises):
    ex = {n: e for n, e in exercises.items()}
    return {"student_id": sid, "assignment": "03_momentum", "notebook": NOTEBOOK, "status": status,
            "score": sum(e["score"] for e in ex.values()), "max_score": 2.0 * len(ex), "notes": list(notes),
            "exercises": ex}


def test_a_failed_exercise_is_counted_under_its_named_mistake():
    hint = "on a 3-step run: next_w differs. Hint: it looks like the sign is flipped"
    assert classify(_exercise("f", True)) is None
    assert classify(_exercise("f", False, problems=[hint])) == "it looks like the sign is flipped"
    assert classify(_exercise("f", False, "not-implemented", ["f is not implemented yet"])) == NOT_IMPLEMENTED
    assert classify(_exercise("f", False, problems=["on a case: next_w differs"])) == UNRECOGNISED


def test_report_counts_escapes_and_needs_no_network():
    sign = "on a run: differs. Hint: it looks like the sign is flipped"
    results = [_result("a", f=_exercise("f", True)),
               _result("b", f=_exercise("f", False, problems=[sign])),
               _result("c", f=_exercise("f", False, problems=[sign, sign])),
               _result(HOSTILE_ID, status="tamper-suspected", notes=["<img src=x onerror=alert(1)>"],
                       f=_exercise("f", False, problems=["oops"]))]
    report = build_report(results)
    assert report["exercises"]["f"]["passed"] == 1 and report["exercises"]["f"]["pass_rate"] == 0.25
    assert report["exercises"]["f"]["mistakes"] == [{"mistake": "it looks like the sign is flipped", "count": 2},
                                                    {"mistake": UNRECOGNISED, "count": 1}]
    assert [a["student_id"] for a in report["needs_a_person"]] == [HOSTILE_ID]
    page = render_html(report)
    assert "<script" not in page and "onerror=" not in page.replace("onerror=alert(1)&gt;", "")
    assert html_escaped(HOSTILE_ID) in page
    # stands alone: every image is inline, nothing refers to another host
    assert re.findall(r"src='([^']*)'", page) and all(s.startswith("data:image/png;base64,")
                                                       for s in re.findall(r"src='([^']*)'", page))
    assert "http://" not in page and "https://" not in page


def html_escaped(text: str) -> str:
    import html

    return html.escape(text)


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """03_momentum for a class of six with known mistakes, graded grades-only (the report is the same)."""
    from test_grading import _bwrap_ok, make_course

    if not _bwrap_ok(tmp_path_factory):
        pytest.skip("bubblewrap is not usable here")
    root = tmp_path_factory.mktemp("report")
    course = make_course(root)
    cn = load_course_notebooks()
    sign = edit(solution_cell("sgd_momentum", replace=("- config", "+ config")))
    to_plain = ("next_w = w - mu * v_prev + (1 + mu) * v", "next_w = w + v")  # plain momentum, named "Nesterov"
    plain = edit(solution_cell("nesterov_momentum", replace=to_plain))
    students = {"ann": edit(), "bob": sign, "cat": sign, "dan": plain, "eve": edit(start="student"),
                "fay": edit(solution_cell("sgd_momentum", replace=("- config", "+ config")),
                            solution_cell("nesterov_momentum", replace=to_plain))}
    for sid, build in students.items():
        write_submission(root / "submitted", sid, build(cn))
    out = root / "out"
    with redirect_stdout(io.StringIO()):
        rc = cli.main([ASSIGNMENT_ID, str(root / "submitted"), "--out", str(out), "--course-dir", str(course),
                       "--workers", "2", "--no-progress", "--grades-only"])
    assert rc == 0
    return out


@pytest.mark.slow
def test_the_report_names_what_the_class_got_wrong(graded_class):
    """ann is right, bob and cat flip the velocity's sign, dan's Nesterov is plain momentum, fay does
    both, eve submits the untouched stub."""
    report = json.loads((graded_class / "report.json").read_text())
    assert report["submissions"] == 6 and report["max_score"] == 11
    sgd = report["exercises"]["sgd_momentum"]
    assert (sgd["passed"], sgd["submissions"]) == (2, 6)
    counts = {m["mistake"]: m["count"] for m in sgd["mistakes"]}
    (sign,) = [m for m in counts if "velocity adds +learning_rate" in m]
    assert counts == {sign: 3, NOT_IMPLEMENTED: 1}
    nesterov = report["exercises"]["nesterov_momentum"]
    assert nesterov["passed"] == 3
    counts = {m["mistake"]: m["count"] for m in nesterov["mistakes"]}
    assert counts.pop(NOT_IMPLEMENTED) == 1
    ((named, n),) = counts.items()
    assert n == 2 and named != UNRECOGNISED
    assert report["exercises"]["momentum_optimal_params"]["mistakes"] == [{"mistake": NOT_IMPLEMENTED, "count": 1}]
    assert sorted(report["scores"]) == sorted([11, 7, 7, 7, 0, 3])
    page = (graded_class / "report.html").read_text()
    assert html_escaped(sign) in page and "Pass rate per exercise" not in page  # the title is in the figure


@pytest.mark.slow
def test_the_report_is_rebuilt_from_results_without_grading(graded_class, tmp_path):
    before = json.loads((graded_class / "report.json").read_text())
    (graded_class / "report.json").unlink()
    (graded_class / "report.html").unlink()
    with redirect_stdout(io.StringIO()) as buf:
        assert cli.main(["report", str(graded_class)]) == 0
    assert "report.html" in buf.getvalue()
    assert json.loads((graded_class / "report.json").read_text()) == before
    assert cli.main(["report", str(tmp_path)]) == 2  # no results/ there: says so


@pytest.mark.slow
@pytest.mark.browser
def test_the_report_opens_in_a_browser_alone(graded_class):
    """Headless Chromium: no console error, no request beyond the file itself, both figures drawn."""
    from test_browser import CHROMIUM, CHROMIUM_ARGS, _require_browser

    _require_browser()
    from playwright.sync_api import sync_playwright

    requests, errors = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto((graded_class / "report.html").as_uri(), wait_until="load")
            widths = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.naturalWidth)")
            heading = page.inner_text("h1")
        finally:
            browser.close()
    assert errors == []
    assert [u for u in requests if not u.startswith(("file://", "data:"))] == []
    assert len(widths) == 2 and all(w > 100 for w in widths)
    assert heading == "Class report: 03_momentum"


@pytest.mark.slow
def test_regrading_one_student_keeps_the_rest_of_the_class(graded_class):
    """``--student bob --force`` regrades bob only; grades.csv and the report still have all six."""
    from test_grading import read_csv

    root = graded_class.parent
    before = read_csv(graded_class / "grades.csv")
    with redirect_stdout(io.StringIO()):
        rc = cli.main([ASSIGNMENT_ID, str(root / "submitted"), "--out", str(graded_class), "--course-dir",
                       str(root / "course"), "--workers", "1", "--no-progress", "--grades-only",
                       "--student", "bob", "--force"])
    assert rc == 0
    after = read_csv(graded_class / "grades.csv")
    assert after.keys() == before.keys() and len(after) == 6
    assert {k: r["score"] for k, r in after.items()} == {k: r["score"] for k, r in before.items()}
    assert json.loads((graded_class / "report.json").read_text())["submissions"] == 6


@pytest.mark.slow
def test_feedback_of_a_grades_only_run_is_rendered_afterwards(graded_class):
    """``nnopt-grade feedback OUT``: the pages --grades-only left out, from the stored results, where a
    full run puts them (OUT and the course's feedback/), kept in the stored result; no regrading."""
    import html
    from pathlib import Path

    from autograder.grading.coordinator import _safe_name

    course, stem = graded_class.parent / "course", Path(NOTEBOOK).stem
    grades = (graded_class / "grades.csv").read_text()
    assert not list(graded_class.glob("feedback/**/*.html"))  # grades-only writes none
    with redirect_stdout(io.StringIO()) as buf:
        assert cli.main(["feedback", str(graded_class), "--course-dir", str(course), "--no-progress"]) == 0
    assert "feedback rendered for 6 submission(s); 0 had it already" in buf.getvalue()
    page = html.unescape((graded_class / "feedback" / _safe_name("bob") / ASSIGNMENT_ID / f"{stem}.html").read_text())
    assert "Score: 7 / 11" in page and "written answers (4 points) are graded by a person" in page and "velocity adds +learning_rate" in page
    assert "graded for its score only" in page and "BEGIN HIDDEN TESTS" not in page
    assert (course / "feedback" / "bob" / ASSIGNMENT_ID / f"{stem}.html").read_text() == \
        (graded_class / "feedback" / _safe_name("bob") / ASSIGNMENT_ID / f"{stem}.html").read_text()
    stored = json.loads((graded_class / "results" / f"{_safe_name('bob')}.json").read_text())
    # kept (the report links it), in OUT/feedback/ only: the stored result names it by its hash
    assert stored["feedback_sha256"] and stored["feedback_html"] is None and "grades-only" in stored["flags"]
    assert (graded_class / "grades.csv").read_text() == grades  # the scores are not touched
    with redirect_stdout(io.StringIO()) as buf:  # a second call has nothing left to do
        assert cli.main(["feedback", str(graded_class), "--course-dir", str(course), "--no-progress"]) == 0
    assert "feedback rendered for 0 submission(s); 6 had it already" in buf.getvalue()
    assert cli.main(["feedback", str(graded_class / "nowhere")]) == 2
