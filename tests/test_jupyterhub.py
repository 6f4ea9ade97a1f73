"""The course on a real JupyterHub, end to end, as an instructor and two students would use it.

A real JupyterHub (PAMAuthenticator, LocalProcessSpawner, configurable-http-proxy) runs as root on
free localhost ports; an instructor and two students are real system users made for the test
(``useradd``, with passwords), and each logs in through the hub's login page in headless Chromium
and works in their own JupyterLab (the virtualenv's, with nbgrader's lab extensions), spawned as
them. nbgrader's exchange is a shared 1777 directory; the course id and exchange are set
site-wide, the instructor's course in their ~/.jupyter/nbgrader_config.py
(docs/jupyterhub.md shows the same configuration for a real server). Then:

1. the instructor generates and releases ``03_momentum`` with formgrader's buttons (the course
   directory holds ``solutions/`` exactly as the grading tests build a course);
2. each student fetches it in the Assignments tab, opens the notebook from there, writes
   ``sgd_momentum`` over its stub cell (the second student with one sign wrong: a known mistake)
   and types the derived number key by key, puts the other two functions in through Jupyter's
   contents API from the logged-in page, saves with Ctrl+S, and submits in the Assignments tab;
3. the instructor collects with formgrader, grades with ``nnopt-grade`` (sandboxed, run as the
   instructor) and releases the feedback with ``nbgrader release_feedback``;
4. each student fetches the feedback in the Assignments tab and opens it in Lab: it shows the
   verified score (11 / 11, and 7 / 11 with the mistake named), and no hidden-test code.

Skipped, with what is missing, when the machine cannot do it (not root, no useradd, no
``configurable-http-proxy``, no Chromium...); under ``NNOPT_REQUIRE_HUB=1`` (CI) that is a failure.
Every process, user and temporary directory is removed at the end, also on failure. Set
``NNOPT_BROWSER_SCREENSHOT_DIR`` to keep the screenshots.
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
import shutil
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

import hub_helpers as hh

try:  # the [test] extra; without it the test skips (fails under NNOPT_REQUIRE_HUB=1)
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover
    expect = sync_playwright = None

pytestmark = [pytest.mark.hub, pytest.mark.slow, pytest.mark.browser, pytest.mark.xdist_group("hub")]

REQUIRE_HUB = os.environ.get("NNOPT_REQUIRE_HUB") == "1"
ASSIGNMENT = "03_momentum"
NOTEBOOK = f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
SOLUTION = hh.ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
# sgd_momentum's known mistake "velocity_sign_flipped" (autograder/mutants/momentum.py): the velocity
# adds +learning_rate·dw. The second student makes it by changing this one sign.
RIGHT_SIGN = 'config["momentum"] * config["velocity"] - config["learning_rate"] * dw'
WRONG_SIGN = 'config["momentum"] * config["velocity"] + config["learning_rate"] * dw'

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
UI_TIMEOUT_MS = 60_000
SPAWN_TIMEOUT_MS = 120_000  # login → the user's Lab has loaded (spawn + Lab's JavaScript)
NBGRADER_TIMEOUT_MS = 120_000  # a formgrader or Assignments-tab action that runs nbgrader in the server
SAVE_TIMEOUT_S = 40  # Ctrl+S until the server has the notebook as typed (then Ctrl+S again, 3 times at most)


def _unavailable(reason: str):
    if REQUIRE_HUB:
        pytest.fail(f"{reason}, but NNOPT_REQUIRE_HUB=1", pytrace=False)
    pytest.skip(reason)


# ------------------------------------------------------------------------------------------------
# the site: users, configuration, the hub
# ------------------------------------------------------------------------------------------------


def _build_course(site: hh.Site, instructor: hh.Account) -> Path:
    """~instructor/course, as the grading tests build a course: solutions/<id>/ and an
    nbgrader_config.py that loads the course's config; private to the instructor."""
    course = instructor.home / "course"
    (course / "solutions").mkdir(parents=True)
    shutil.copytree(hh.ROOT / "solutions" / ASSIGNMENT, course / "solutions" / ASSIGNMENT,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    (course / "nbgrader_config.py").write_text(hh.instructor_nbgrader_config(course))
    site.chown_tree(course, instructor)
    os.chmod(course, 0o700)
    return course


def _configure(site: hh.Site, instructor: hh.Account, students: list[hh.Account], course: Path) -> None:
    path = site.config_dir / "nbgrader_config.py"
    path.write_text(hh.site_nbgrader_config(site))
    os.chmod(path, 0o644)
    site.write_user_file(instructor, ".jupyter/nbgrader_config.py", hh.instructor_nbgrader_config(course))
    for account in (instructor, *students):
        site.write_user_file(account, ".jupyter/labconfig/page_config.json",
                             hh.lab_page_config(student=account.role == "student"))
    for account in students:
        site.write_user_file(account, ".jupyter/jupyter_server_config.json", hh.student_server_config())


@pytest.fixture(scope="module")
def hub_site():
    missing = hh.missing_prerequisites()
    if missing:
        _unavailable("a real JupyterHub with system users needs " + "; ".join(missing))
    hh.remove_stale_users()
    site = hh.Site()
    hub = None
    try:
        instructor = site.add_user("instructor", "ins")
        students = [site.add_user("student", "s1"), site.add_user("student", "s2")]
        problem = site.probe(students[0])
        if problem:
            _unavailable(problem)
        course = _build_course(site, instructor)
        _configure(site, instructor, students, course)
        hub = hh.Hub(site)
        hub.start()
        yield SimpleNamespace(site=site, hub=hub, instructor=instructor, students=students, course=course)
    finally:
        try:
            if hub is not None:
                hub.stop()
        finally:
            problems = site.cleanup()  # users (and their processes) and the whole temporary tree
    assert not problems, problems


@pytest.fixture(scope="module")
def browser(hub_site):
    expect.set_options(timeout=UI_TIMEOUT_MS)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(hh.CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()
            expect.set_options(timeout=None)


# ------------------------------------------------------------------------------------------------
# people in the browser
# ------------------------------------------------------------------------------------------------


class Person:
    """One user's browser (its own cookies) and their Lab page."""

    def __init__(self, browser, hub: hh.Hub, account: hh.Account, shots: Path):
        self.account, self.hub, self.shots = account, hub, shots
        self.context = browser.new_context(viewport={"width": 1400, "height": 900})
        self.context.set_default_timeout(UI_TIMEOUT_MS)
        self.page = self.context.new_page()
        for title, button in (("Select Kernel", "Select"), ("File Changed", "Overwrite")):
            dialog = self.page.locator(".jp-Dialog").filter(has_text=title)
            self.page.add_locator_handler(dialog, lambda d, b=button: d.get_by_role("button", name=b).click())
        self.console: list[str] = []
        self.page.on("console", lambda msg: self.console.append(f"[{msg.type}] {msg.text}"))
        self.page.on("pageerror", lambda exc: self.console.append(f"[pageerror] {exc}"))

    @property
    def base(self) -> str:
        return f"/user/{self.account.name}/"

    def log_in(self) -> None:
        """The hub's login page, the system password, then the user's own JupyterLab."""
        page = self.page
        page.goto(f"{self.hub.url}/hub/login")
        page.locator("#username_input").fill(self.account.name)
        page.locator("#password_input").fill(self.account.password)
        page.locator("#login_submit").click()
        page.wait_for_url(re.compile(rf"/user/{re.escape(self.account.name)}/lab"), timeout=SPAWN_TIMEOUT_MS)
        expect(page.locator("#jupyterlab-splash")).to_have_count(0, timeout=SPAWN_TIMEOUT_MS)
        expect(page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile(r"^Nbgrader$"))).to_have_count(1)

    def screenshot(self, name: str, page=None) -> None:
        path = self.shots / f"hub-{name}.png"
        (page or self.page).screenshot(path=str(path))
        extra = os.environ.get("NNOPT_BROWSER_SCREENSHOT_DIR")
        if extra:
            Path(extra).mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, Path(extra) / path.name)

    def api(self, method: str, path: str, body=None):
        """A request to the user's Jupyter server from the logged-in page (cookie + XSRF token)."""
        return self.page.evaluate(
            """async ([method, url, body]) => {
                const xsrf = decodeURIComponent((document.cookie.match(/(?:^|; )_xsrf=([^;]*)/) || [])[1] || "");
                const r = await fetch(url, {method, headers: {"Content-Type": "application/json", "X-XSRFToken": xsrf},
                                            body: body === null ? undefined : JSON.stringify(body)});
                const text = await r.text();
                let json = null;
                try { json = JSON.parse(text); } catch (e) { /* not JSON: an error page */ }
                return {status: r.status, json, text: json === null ? text.slice(0, 2000) : ""};
            }""",
            [method, f"{self.base}{path}", body],
        )

    # -- the Assignments tab (nbgrader's assignment list) ------------------------------------------

    def open_assignments(self) -> None:
        page = self.page
        tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=re.compile(r"^Assignments$"))
        if tab.count() == 0:
            page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile(r"^Nbgrader$")).click()
            page.locator('.lm-Menu li[data-command="nbgrader:open-assignment-list"]').click()
            expect(tab).to_have_count(1)
        tab.click()
        page.locator("#refresh_assignments_list").click()

    def assignment_rows(self, name: str, count: int):
        """The rows of the "released", "fetched" or "submitted" list, once loaded."""
        page = self.page
        for state in ("loading", "error"):
            expect(page.locator(f"#{name}_assignments_list_{state}")).not_to_be_visible(timeout=NBGRADER_TIMEOUT_MS)
        rows = page.locator(f"#{name}_assignments_list > .list_item")
        expect(rows).to_have_count(count, timeout=NBGRADER_TIMEOUT_MS)
        return rows


@contextlib.contextmanager
def _diagnostics(people: list[Person], hub: hh.Hub, shots: Path):
    try:
        yield
    except BaseException:
        for person in people:
            with contextlib.suppress(Exception):
                person.screenshot(f"failure-{person.account.name}")
            print(f"--- {person.account.name}'s browser console (tail) ---\n" + "\n".join(person.console[-80:]),
                  file=sys.stderr)
        print(f"--- screenshots in {shots}\n--- hub log (tail) ---\n{hub.log()}", file=sys.stderr)
        raise


class _Phases:
    def __init__(self):
        self.t0 = time.monotonic()

    @contextlib.contextmanager
    def __call__(self, name: str):
        t = time.monotonic()
        yield
        print(f"[hub] {name}: {time.monotonic() - t:.1f} s (at {time.monotonic() - self.t0:.0f} s)")


# ------------------------------------------------------------------------------------------------
# what each person does
# ------------------------------------------------------------------------------------------------


def _formgrader_action(fg, column: str, success: str) -> None:
    """Click the 03_momentum row's button in ``column`` and accept formgrader's success dialog."""
    row = fg.locator("tr", has=fg.locator("td", has_text=re.compile(rf"^{ASSIGNMENT}$")))
    expect(row).to_have_count(1)
    row.locator(f"td.{column} a").click()
    dialog = fg.locator(".modal-dialog").filter(has=fg.locator(".modal-title"))
    expect(dialog.locator(".modal-title")).to_have_text(re.compile("Success|Error"), timeout=NBGRADER_TIMEOUT_MS)
    assert dialog.locator(".modal-title").inner_text() == "Success", dialog.inner_text()
    expect(dialog).to_contain_text(success)
    dialog.get_by_role("button", name="OK").click()
    expect(fg.locator(".modal-dialog")).to_have_count(0)


def _open_formgrader(instructor: Person):
    # Formgrader in its own browser tab: JupyterHub's single-user servers forbid framing
    # (frame-ancestors 'none'), so Lab's Formgrader tab (an iframe) stays blank on a hub.
    fg = instructor.context.new_page()
    fg.goto(f"{instructor.hub.url}{instructor.base}formgrader")
    expect(fg.locator("h1", has_text="Manage Assignments")).to_be_visible()
    return fg


def _answers() -> dict[str, str]:
    """The solution's code for each answer cell, as a student who got it right would write it."""
    nb = nbformat.read(SOLUTION, as_version=4)
    out = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution"):
            lines = [ln for ln in cell.source.splitlines() if ln.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")]
            out[meta["grade_id"]] = "\n".join(lines)
    assert set(out) == {"sgd_momentum", "nesterov_momentum", "momentum_optimal_params", "predicted_nesterov_max_lr"}
    assert out["sgd_momentum"].count(RIGHT_SIGN) == 1
    return out


def _student_works(student: Person, sgd_source: str, prediction: str, others: dict[str, str]) -> None:
    """Fetch, answer, save and submit, in the browser: ``sgd_momentum`` goes over its stub as a paste,
    the derived number is typed key by key, the ``others`` go in through the contents API."""
    page = student.page
    student.open_assignments()
    rows = student.assignment_rows("released", 1)
    expect(rows.first.locator(".item_name")).to_have_text(ASSIGNMENT)
    expect(rows.first.locator(".item_course")).to_have_text(hh.COURSE_ID)
    rows.first.locator(".item_status button", has_text="Fetch").click()
    student.assignment_rows("fetched", 1)
    assert (student.account.home / NOTEBOOK).is_file()  # in the student's home, as the student
    assert (student.account.home / NOTEBOOK).stat().st_uid == student.account.uid

    # The answers not typed go in through Jupyter's contents API, from this page, before Lab opens it.
    got = student.api("GET", f"api/contents/{NOTEBOOK}?content=1")
    assert got["status"] == 200, got
    nb = got["json"]["content"]
    for cell in nb["cells"]:
        gid = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if gid in others:
            cell["source"] = others[gid]
    put = student.api("PUT", f"api/contents/{NOTEBOOK}", {"type": "notebook", "format": "json", "content": nb})
    assert put["status"] == 200, put

    # Open the notebook from the Assignments tab: expand the assignment, click the notebook.
    page.locator("#fetched_assignments_list a.assignment-notebooks-link", has_text=ASSIGNMENT).click()
    notebooks = page.locator(f"#nbgrader-{hh.COURSE_ID}-{ASSIGNMENT}")
    expect(notebooks).to_have_class(re.compile(r"\bin\b"))
    notebooks.locator("a", has_text=re.compile(rf"^{ASSIGNMENT}$")).click()
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    expect(panel.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")).to_have_count(1, timeout=UI_TIMEOUT_MS)
    stub = panel.locator(".jp-CodeCell").filter(has=page.locator(".jp-InputArea-editor", has_text="def sgd_momentum("))
    expect(stub).to_have_count(1)
    expect(stub).to_contain_text("raise NotImplementedError()")
    # Select the stub cell's text and type the function over it (text typed as a paste is typed:
    # no auto-indentation to fight), then save with Ctrl+S as a student would.
    editor = stub.locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(sgd_source)
    expect(stub).not_to_contain_text("NotImplementedError")
    # The derived number: the stub's two lines under the "= None" placeholder selected with the
    # keyboard and typed over, key by key.
    value = panel.locator(".jp-CodeCell").filter(
        has=page.locator(".jp-InputArea-editor", has_text="predicted_nesterov_max_lr = None"))
    expect(value).to_have_count(1)
    expect(value).to_contain_text("raise NotImplementedError()")
    value.locator(".cm-content").click()
    for key in ("Control+End", "Shift+ArrowUp", "Shift+Home"):
        page.keyboard.press(key)
    page.keyboard.type(prediction.splitlines()[-1])
    expect(value).not_to_contain_text("NotImplementedError")
    page.keyboard.press("Escape")
    by_id: dict[str, str] = {}
    for _ in range(3):  # Ctrl+S, until the server has what was typed (on a busy machine, save again)
        page.keyboard.press("Control+s")
        deadline = time.monotonic() + SAVE_TIMEOUT_S
        while time.monotonic() < deadline:
            got = student.api("GET", f"api/contents/{NOTEBOOK}?content=1")
            if got["status"] == 200:  # (a read while the save is being written gets a 400: try again)
                by_id = {c["metadata"].get("nbgrader", {}).get("grade_id"): "".join(c["source"])
                         for c in got["json"]["content"]["cells"]}
            if (by_id.get("sgd_momentum", "").strip() == sgd_source.strip()
                    and by_id.get("predicted_nesterov_max_lr") == prediction):
                break
            time.sleep(1)
        else:
            continue
        break
    assert by_id["sgd_momentum"].strip() == sgd_source.strip(), by_id["sgd_momentum"]
    assert by_id["predicted_nesterov_max_lr"] == prediction, by_id["predicted_nesterov_max_lr"]
    assert all(by_id[gid] == src for gid, src in others.items())
    student.screenshot(f"{student.account.name}-answered")

    student.open_assignments()
    rows = student.assignment_rows("fetched", 1)
    rows.first.locator(".item_status button", has_text="Submit").click()
    rows = student.assignment_rows("submitted", 1)
    expect(rows.first.locator(".item_name").first).to_have_text(ASSIGNMENT)
    student.screenshot(f"{student.account.name}-submitted")


def _student_reads_feedback(student: Person) -> str:
    """Fetch the feedback in the Assignments tab, open it in Lab; return the page's text."""
    page = student.page
    student.open_assignments()
    submitted = page.locator("#submitted_assignments_list")
    expect(submitted).to_contain_text("feedback available to fetch", timeout=NBGRADER_TIMEOUT_MS)
    submitted.locator("button", has_text="Fetch Feedback").click()
    view = submitted.locator("a", has_text="view feedback")
    expect(view).to_be_visible(timeout=NBGRADER_TIMEOUT_MS)
    view.click()  # the file browser goes to the feedback folder
    item = page.locator(".jp-DirListing-item", has_text=f"{ASSIGNMENT}.html")
    expect(item).to_be_visible()
    item.dblclick()
    frame = page.frame_locator(".jp-HTMLViewer:not(.lm-mod-hidden) iframe")
    body = frame.locator("body")
    expect(body).to_contain_text("Grading summary", timeout=UI_TIMEOUT_MS)
    student.screenshot(f"{student.account.name}-feedback")
    return body.inner_text()


def _hidden_markers() -> list[str]:
    """Strings only the hidden tests hold: their cell code and names from the assignment's module."""
    markers = ["BEGIN HIDDEN TESTS", "_get_assignment", "autograder.assignments", "update_rule_cases",
               "optimal_params_cases", "sgd_momentum_case", "momentum_optimal_params_case"]
    module = (hh.ROOT / "autograder" / "assignments" / "momentum.py").read_text()
    reference = (hh.ROOT / "autograder" / "references" / "momentum.py").read_text()
    for m in markers[3:]:
        assert f"def {m}(" in module + reference, f"{m} is no longer in the hidden tests: update this list"
    return markers


# ------------------------------------------------------------------------------------------------
# the test
# ------------------------------------------------------------------------------------------------


def test_release_submit_grade_and_feedback_on_jupyterhub(hub_site, browser, tmp_path):
    from autograder.mutants.momentum import MUTANTS

    site, hub, course = hub_site.site, hub_site.hub, hub_site.course
    instructor = Person(browser, hub, hub_site.instructor, tmp_path)
    students = [Person(browser, hub, a, tmp_path) for a in hub_site.students]
    right, wrong = students
    phase = _Phases()
    answers = _answers()
    typed = {right: answers["sgd_momentum"], wrong: answers["sgd_momentum"].replace(RIGHT_SIGN, WRONG_SIGN)}
    others = {gid: src for gid, src in answers.items() if gid not in ("sgd_momentum", "predicted_nesterov_max_lr")}
    prediction = answers["predicted_nesterov_max_lr"]
    assert prediction.splitlines()[0].startswith("predicted_nesterov_max_lr = None") and len(prediction.splitlines()) == 2
    mistake = MUTANTS["sgd_momentum"]["velocity_sign_flipped"][1]

    with _diagnostics([instructor, *students], hub, tmp_path):
        # The instructor's course is theirs alone: students cannot read the solutions in it.
        denied = site.run_as(right.account, ["cat", str(course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")],
                             check=False)
        assert denied.returncode != 0 and "Permission denied" in denied.stderr, denied

        with phase("instructor: log in, formgrader generates and releases"):
            instructor.log_in()
            fg = _open_formgrader(instructor)
            _formgrader_action(fg, "assign", f"Successfully created the student version of '{ASSIGNMENT}'")
            _formgrader_action(fg, "release", f"Successfully released '{ASSIGNMENT}'")
            expect(fg.locator("tr", has_text=ASSIGNMENT).locator("td .label")).to_have_text("released")
            instructor.screenshot("instructor-released", fg)
        released = site.exchange / hh.COURSE_ID / "outbound" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        assert released.is_file() and released.stat().st_uid == instructor.account.uid
        assert "BEGIN HIDDEN TESTS" not in released.read_text() and RIGHT_SIGN not in released.read_text()

        for student in students:
            with phase(f"{student.account.name}: log in, fetch, answer, save, submit"):
                student.log_in()
                _student_works(student, typed[student], prediction, others)

        with phase("instructor: formgrader collects"):
            fg.reload()
            _formgrader_action(fg, "collect", f"Successfully collected submissions of '{ASSIGNMENT}'")
        submitted = course / "submitted"
        assert sorted(p.name for p in submitted.iterdir()) == sorted(s.account.name for s in students)

        with phase("instructor: nnopt-grade (sandboxed, as the instructor)"):
            out = course / "grading-out"
            graded = site.run_as(instructor.account, [
                str(hh.VENV_BIN / "nnopt-grade"), ASSIGNMENT, str(submitted), "--out", str(out),
                "--course-dir", str(course), "--workers", "2", "--no-progress"], cwd=course, timeout=600)
        with open(out / "grades.csv", newline="") as f:
            rows = {r["student_id"]: r for r in csv.DictReader(f)}
        assert (rows[right.account.name]["status"], float(rows[right.account.name]["score"])) == ("graded", 11.0), \
            (rows, graded.stdout)
        assert (rows[wrong.account.name]["status"], float(rows[wrong.account.name]["score"])) == ("graded", 7.0), \
            (rows, graded.stdout)
        assert float(rows[wrong.account.name]["sgd_momentum"]) == 0.0
        assert mistake in rows[wrong.account.name]["notes"], rows[wrong.account.name]["notes"]
        assert not any("unsandboxed" in r["flags"] for r in rows.values()), rows

        with phase("instructor: nbgrader release_feedback"):
            site.run_as(instructor.account, [hh.PYTHON, "-m", "nbgrader", "release_feedback", ASSIGNMENT],
                        cwd=course)

        markers = _hidden_markers()
        for student, score in ((right, "11"), (wrong, "7")):
            with phase(f"{student.account.name}: fetch and open the feedback"):
                text = _student_reads_feedback(student)
            # nnopt-grade's summary: the verified score, and each exercise's verdict
            assert re.search(rf"Score: {score} / 11\s*—\s*status:\s*graded", text), text[:3000]
            sgd = "0 / 4\\s+failed" if student is wrong else "4 / 4\\s+passed"
            assert re.search(rf"sgd_momentum\s+{sgd}", text), text[:3000]
            for exercise, points in (("nesterov_momentum", 4), ("momentum_optimal_params", 2),
                                     ("predicted_nesterov_max_lr", 1)):
                assert re.search(rf"{exercise}\s+{points} / {points}\s+passed", text), (exercise, text[:3000])
            # the mistake is named for the student who made it, and for nobody else
            assert (mistake.split(",")[0] in text) == (student is wrong), text[:3000]
            # ... and neither what the student sees nor the fetched file holds any hidden test
            files = list((student.account.home / ASSIGNMENT / "feedback").rglob(f"{ASSIGNMENT}.html"))
            assert len(files) == 1, files
            html = files[0].read_text()
            for marker in markers:
                assert marker not in text and marker not in html, marker
