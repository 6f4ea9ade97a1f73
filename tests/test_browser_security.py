"""No script from a submission runs in anything an instructor or a learner opens, in a real browser.

A small class of ``03_momentum`` is graded for real (``nnopt-grade`` through ``autograder.cli.main``,
sandboxed): an honest notebook, one whose markdown, raw cells, attachments, metadata and kernel
outputs carry every script vector of ``grading_fixtures/scripts.py``, and one whose only notebook
is named with an event handler (the grader's note quotes the name). Each vector, if it ran, would
push its name to ``window.__nnopt_pwned``, log ``nnopt-xss-<vector>`` and request
``/nnopt-xss-<vector>``. Headless Chromium (Debian's, through Playwright, as in test_browser.py)
then opens

* every feedback HTML file the grader wrote (``OUT/feedback/...`` and the course's ``feedback/``),
  served over HTTP from a local server;
* nbgrader's formgrader for real: ``jupyter lab`` with nbgrader's server extensions on the graded
  course, logged in as the instructor with a known token, at the gradebook's list of submissions
  and at ``/formgrader/submissions/<id>`` of each student -- the page that renders the
  autograded notebook inside the instructor's session;

and asserts that no marker fired (no request, no console line, nothing in ``window.__nnopt_pwned``),
that no element carries an ``on*`` handler or a ``javascript:`` URL of the learner's, and that
the honest content (the learner's heading, the score formgrader loads through its API) is there.

Positive controls, in the same browser: the hostile notebook rendered *without* sanitizing (nbgrader's
feedback and formgrade templates) fires the markers, and so does formgrader itself once an
unsanitized hostile notebook is put in ``autograded/`` -- so the test cannot pass vacuously.

Skips without Chromium/Playwright (fails under ``NNOPT_REQUIRE_BROWSER=1``) or without a usable
bubblewrap (fails under ``NNOPT_REQUIRE_SANDBOX=1``, see conftest.py).
"""

from __future__ import annotations

import copy
import functools
import http.server
import io
import threading
from contextlib import redirect_stdout
from pathlib import Path

import nbformat
import pytest

from autograder import cli
from grading_fixtures import ASSIGNMENT_ID, NOTEBOOK, load_course_notebooks, slim, write_submission
from grading_fixtures import scripts as S
from test_browser import CHROMIUM, CHROMIUM_ARGS, UI_TIMEOUT_MS, LabServer, _require_browser
from test_grading import FAST, _bwrap_ok, make_course, read_csv

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - _require_browser() skips (or fails) first
    PlaywrightTimeout = expect = sync_playwright = None

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]

STEM = Path(NOTEBOOK).stem
STUDENTS = {"honest": "graded", "hostile": "graded", "file-name": "no-notebook"}
#: Vectors that must fire in an unsanitized rendering (the control): scripts, handlers, outputs. (Not
#: all of them fire there: nbconvert already cleans raw cells, and its javascript outputs need jQuery.)
MUST_FIRE = {"md-script", "md-img-onerror", "md-svg-onload", "md-details-ontoggle", "md-mermaid", "md-iframe",
             "md-body-onload", "out-html-script", "out-html-img", "out-markdown"}
SETTLE_MS = 2_500  # after "load": onerror/onload/ontoggle handlers and fetches have run by then


def _add_honest_markdown(nb):
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(S.HONEST_MARKDOWN))


# --------------------------------------------------------------------------------------------
# The graded class


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    _require_browser()  # before minutes of grading
    if not _bwrap_ok(tmp_path_factory):
        pytest.skip("bubblewrap is not usable here")
    root = tmp_path_factory.mktemp("xss")
    course = make_course(root)
    cn = load_course_notebooks()
    builds = {"honest": slim(_add_honest_markdown), "hostile": slim(S.add_hostile()),
              "file-name": dict(zip(S.NAMES, (f.build for f in S.FIXTURES)))["script-in-file-name"]}
    for student, build in builds.items():
        write_submission(root / "submitted", student, build(cn))
    out = root / "out"
    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = cli.main([ASSIGNMENT_ID, str(root / "submitted"), "--out", str(out), "--course-dir", str(course),
                       "--workers", "2", *FAST])
    assert rc == 0, buf.getvalue()
    rows = read_csv(out / "grades.csv")
    assert {s: rows[s]["status"] for s in STUDENTS} == STUDENTS, rows
    assert float(rows["hostile"]["score"]) == 11, rows["hostile"]
    # Unsanitized renderings of the same hostile notebook, for the positive control.
    hostile = S.hostile_notebook(cn.slim)
    controls = root / "controls"
    controls.mkdir()
    for template in ("feedback", "formgrade"):
        (controls / f"{template}.html").write_text(S.render_with_template(hostile, template), encoding="utf-8")
    return {"root": root, "course": course, "out": out, "rows": rows, "unsanitized": hostile}


class _Files(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass


@pytest.fixture(scope="module")
def files(graded):
    """An HTTP server on the class's directory (feedback files and controls), so that a page's
    fetch('/nnopt-xss-...') is a request the browser makes and the test sees."""
    handler = functools.partial(_Files, directory=str(graded["root"]))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def formgrader(graded, tmp_path_factory):
    """``jupyter lab`` (nbgrader's formgrader extension loaded) on the graded course, as its instructor."""
    state = tmp_path_factory.mktemp("formgrader-state")
    server = LabServer(graded["course"], state)
    server.root_dir = graded["course"]  # formgrader wants the course inside the server's root
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    yield server
    server.stop()


# --------------------------------------------------------------------------------------------
# The browser and what it records


class Recorder:
    """Every marker the pages of one browser context leave: requests, console lines, popups."""

    def __init__(self):
        self.requests: list[str] = []
        self.console: list[str] = []
        self.dialogs: list[str] = []

    def hits(self) -> list[str]:
        return ([f"request {u}" for u in self.requests] + [f"console {c}" for c in self.console]
                + [f"dialog {d}" for d in self.dialogs])


@pytest.fixture(scope="module")
def browser():
    _require_browser()
    expect.set_options(timeout=UI_TIMEOUT_MS)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()
            expect.set_options(timeout=None)


@pytest.fixture
def context(browser):
    """A fresh context (no cookies, no cache) whose every request outside 127.0.0.1 is refused (no CDN,
    no phoning home: pages load fast and offline) and whose markers are recorded."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    ctx.set_default_timeout(UI_TIMEOUT_MS)
    rec = Recorder()

    def route(r):
        url = r.request.url
        if S.MARKER in url:
            rec.requests.append(url)
        if url.startswith(("http://127.0.0.1:", "data:", "blob:", "about:")):
            r.continue_()
        else:
            r.abort()

    ctx.route("**/*", route)
    ctx.on("request", lambda req: rec.requests.append(req.url) if S.MARKER in req.url and req.url not in rec.requests else None)

    def watch(page):
        page.on("console", lambda msg: rec.console.append(msg.text) if S.MARKER in msg.text else None)
        page.on("dialog", lambda d: (rec.dialogs.append(d.message), d.dismiss()))

    ctx.on("page", watch)
    ctx.recorder = rec
    yield ctx
    ctx.close()


_JS_FINDINGS = """() => {
  const out = [];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      const v = a.value || '';
      if (a.name.startsWith('on') && v.includes('nnopt')) out.push(el.tagName + ' ' + a.name);
      if (['href', 'src', 'action', 'formaction', 'data', 'xlink:href'].includes(a.name)
          && /^(javascript|vbscript):/i.test(v.replace(/[\\x00-\\x20]/g, ''))) out.push(el.tagName + ' ' + a.name + '=' + v.slice(0, 60));
    }
  }
  for (const s of document.querySelectorAll('script')) if ((s.textContent || '').includes('nnopt')) out.push('SCRIPT ' + s.textContent.slice(0, 60));
  for (const f of document.querySelectorAll('iframe, object, embed, base, meta[http-equiv], form')) out.push(f.tagName);
  return {pwned: window.__nnopt_pwned || [], elements: out};
}"""


def visit(context, url: str) -> dict:
    """Open ``url``, let it settle, return what fired and what active markup the DOM holds."""
    page = context.new_page()
    try:
        page.goto(url, wait_until="load")
    except PlaywrightTimeout:
        pass  # whatever loaded is looked at; a hanging sub-resource is no reason to stop
    page.wait_for_timeout(SETTLE_MS)
    found = page.evaluate(_JS_FINDINGS)
    found["page"] = page
    found["hits"] = context.recorder.hits()
    return found


def assert_inert(found: dict, where: str) -> None:
    assert found["pwned"] == [], (where, found["pwned"])
    assert found["hits"] == [], (where, found["hits"])
    assert found["elements"] == [], (where, found["elements"])


# --------------------------------------------------------------------------------------------
# The tests (file order: the controls first, on the same browser)


def test_control_unsanitized_rendering_fires_the_markers(graded, files, context):
    """Without the sanitizer, nbgrader's own templates run the learner's scripts in this very browser."""
    for template in ("feedback", "formgrade"):
        found = visit(context, f"{files}/controls/{template}.html")
        fired = set(found["pwned"])
        assert MUST_FIRE <= fired, (template, sorted(MUST_FIRE - fired), sorted(fired))
        assert any(S.MARKER in h for h in found["hits"]), found["hits"]  # the requests and console lines too
        context.recorder.__init__()
        found["page"].close()


def test_feedback_files_run_no_learner_script(graded, files, context):
    pages = []
    for student in STUDENTS:
        for base in ("out", "course"):
            path = graded[base] / "feedback" / student / ASSIGNMENT_ID / f"{STEM}.html"
            assert path.is_file(), path
            pages.append((student, f"{files}/{path.relative_to(graded['root']).as_posix()}"))
    for student, url in pages:
        found = visit(context, url)
        assert_inert(found, url)
        page = found["page"]
        expect(page.get_by_text("Grading summary").first).to_be_visible()
        if student != "file-name":
            expect(page.get_by_text("Score: 11 / 11").first).to_be_visible()
            expect(page.get_by_role("heading", name=S.HONEST_HEADING)).to_be_visible()
        else:
            expect(page.get_by_text("could not use this submission").first).to_be_visible()
        if student == "hostile":  # the learner's hostile source is shown as text, and the honest output stays
            expect(page.get_by_text("nnopt-honest-stream").first).to_be_visible()
            expect(page.get_by_text("honest html output").first).to_be_visible()
        page.close()


_SIDEWAYS_JS = """() => [...document.querySelectorAll('pre, .output_area, .output_subarea, .jp-OutputArea-output')]
    .filter(el => el.scrollWidth > el.clientWidth + 1)
    .map(el => `${el.tagName.toLowerCase()}.${el.className}: ${el.scrollWidth} px in ${el.clientWidth} px`)"""


def test_feedback_wraps_the_graders_long_lines(graded, files, context):
    """The verifier's verdict under a test cell (a problem and its hint run to hundreds of characters)
    wraps in the feedback page: nothing needs a sideways scroll bar in a 1400 px window."""
    from autograder.grading import notebooks as nbs

    problem = ("on a 3-D array with non-default hyperparameters: config['velocity'] after step 3 differs. Hint: "
               + "it looks like the velocity adds +learning_rate·dw, so w moves uphill; " * 6)
    cell = nbformat.v4.new_code_cell("sgd_momentum_check()", metadata={"nbgrader": {
        "grade": True, "grade_id": "test_sgd_momentum", "locked": True, "points": 4, "solution": False,
        "schema_version": 3}})
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=(
        "[grader] verified outside your kernel: 0 / 4 points (failed)\n  - " + problem + "\n"))]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# wrap"), cell])
    (graded["root"] / "wrap.html").write_text(nbs.render_feedback_html(nb, notebook_name="wrap", score=0, max_score=4),
                                              encoding="utf-8")
    page = visit(context, f"{files}/wrap.html")["page"]
    expect(page.get_by_text("verified outside your kernel").first).to_be_visible()
    assert page.evaluate(_SIDEWAYS_JS) == []
    page.close()


def login(context, server: LabServer) -> None:
    """Log in as the instructor does: the token in Jupyter's login form (a session cookie for every
    request the pages make afterwards, formgrader's API calls and a learner's script alike)."""
    page = context.new_page()
    page.goto(f"{server.base}/login?next=%2Fformgrader")
    page.locator("#password_input").fill(server.token)
    page.locator("#password_input").press("Enter")
    page.wait_for_url(f"{server.base}/formgrader**")
    page.close()


def _submission_ids(course: Path) -> dict:
    from nbgrader.api import Gradebook

    from autograder.grading.coordinator import load_course

    c = load_course(course)
    with Gradebook(c.db_url, c.course_id) as gb:
        return {s: gb.find_submission_notebook(STEM, ASSIGNMENT_ID, s).id for s in STUDENTS}


def test_formgrader_runs_no_learner_script(graded, formgrader, context):
    ids = _submission_ids(graded["course"])
    login(context, formgrader)
    listing = visit(context, f"{formgrader.base}/formgrader/gradebook/{ASSIGNMENT_ID}/{STEM}")
    expect(listing["page"].get_by_text("Submission #3")).to_be_visible()  # loaded through the API: logged in
    assert_inert({**listing, **listing["page"].evaluate(_JS_FINDINGS), "hits": context.recorder.hits()},
                 "gradebook listing")
    listing["page"].close()
    for student, sid in ids.items():
        found = visit(context, f"{formgrader.base}/formgrader/submissions/{sid}")
        page = found["page"]
        # formgrader's own scripts did run: they loaded the autograded score through its API (shown as
        # the score input's placeholder until the instructor overrides it)
        expect(page.locator("input#test_sgd_momentum")).to_have_attribute("placeholder",
                                                                          "4" if student != "file-name" else "0")
        page.wait_for_timeout(500)
        found = {**found, **page.evaluate(_JS_FINDINGS), "hits": context.recorder.hits()}
        assert_inert(found, f"formgrader submission of {student}")
        if student != "file-name":
            expect(page.get_by_role("heading", name=S.HONEST_HEADING)).to_be_visible()
        if student == "hostile":
            expect(page.get_by_text("nnopt-honest-stream").first).to_be_visible()
        page.close()


def test_control_formgrader_runs_an_unsanitized_notebook(graded, formgrader, context):
    """The same formgrader page, once an unsanitized hostile notebook is in autograded/: the markers
    fire in the instructor's session (what the sanitizer prevents)."""
    path = graded["course"] / "autograded" / "honest" / ASSIGNMENT_ID / NOTEBOOK
    saved = path.read_bytes()
    try:
        nbformat.write(copy.deepcopy(graded["unsanitized"]), path)
        login(context, formgrader)
        found = visit(context, f"{formgrader.base}/formgrader/submissions/{_submission_ids(graded['course'])['honest']}")
        fired = set(found["pwned"])
        assert MUST_FIRE <= fired, (sorted(MUST_FIRE - fired), sorted(fired))
        assert any(S.MARKER in h for h in found["hits"])
        found["page"].close()
    finally:
        path.write_bytes(saved)
