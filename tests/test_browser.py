"""JupyterLab in a real browser: what a learner sees when they open the course.

A real ``jupyter lab`` server is started on a free localhost port with a random token, on a
temporary copy of ``notebooks/``, with every Jupyter config/data/runtime directory isolated
under tmp (only the virtualenv's ``share/jupyter`` stays visible, so the ipywidgets and nbgrader
lab extensions load exactly as they do for a learner). Debian's Chromium is driven through
Playwright's sync API (no Playwright browser download). The tests run code cells with the
keyboard, as a learner does, and assert on the rendered DOM: a matplotlib figure, a live
ipywidgets slider, ``NotImplementedError`` from an untouched stub, and nbgrader's Validate.

Two tests share one server and one browser:

* ``test_lab_stack_renders_plots_widgets_and_validate`` uses a small notebook written here, so the
  stack (Lab + kernel + ipywidgets + matplotlib + nbgrader) is checked even before any student
  notebook exists;
* ``test_student_notebook_03_momentum`` opens the generated student notebook, and skips until
  ``notebooks/03_momentum`` exists.

Without /usr/bin/chromium (or the playwright package) the tests skip, unless
``NNOPT_REQUIRE_BROWSER=1`` (set by CI), in which case they fail. Set
``NNOPT_BROWSER_SCREENSHOT_DIR`` to also keep the screenshots somewhere (e.g. a CI artifact dir).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

try:  # optional (the [test] extra): without it the tests skip, or fail under NNOPT_REQUIRE_BROWSER=1
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover
    expect = sync_playwright = None

# One xdist worker runs them all, in file order: one Lab server and one Chromium, the smoke test first.
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
CHROMIUM = Path("/usr/bin/chromium")
REQUIRE_BROWSER = os.environ.get("NNOPT_REQUIRE_BROWSER") == "1"

# Debian's Chromium launched by Playwright. The background-networking/component-update/sync
# flags stop Chromium phoning home at start-up, which in a sandboxed network otherwise makes
# connections (including to our localhost server) get refused.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

SERVER_START_TIMEOUT = 60  # s, until /api/status answers
UI_TIMEOUT_MS = 45_000  # default for every Playwright wait/expect: Lab's first load fetches many MB of JS
CELL_TIMEOUT_MS = 60_000  # one code cell; notebooks are meant to run in seconds (DESIGN principle 7)
VALIDATE_TIMEOUT_MS = 120_000  # Validate re-executes the whole notebook inside the server

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


# --------------------------------------------------------------------------------------------
# skip / fail when the browser is not there
# --------------------------------------------------------------------------------------------


def _browser_unavailable(reason: str):
    """Skip locally; fail in CI, where NNOPT_REQUIRE_BROWSER=1 says the browser must be there."""
    if REQUIRE_BROWSER:
        pytest.fail(f"{reason}, but NNOPT_REQUIRE_BROWSER=1", pytrace=False)
    pytest.skip(reason)


def _require_browser() -> None:
    if not CHROMIUM.exists():
        _browser_unavailable(f"{CHROMIUM} not found (apt-get install chromium)")
    if sync_playwright is None:
        _browser_unavailable("the playwright Python package is not installed (pip install -e .[test])")


# --------------------------------------------------------------------------------------------
# the Lab server
# --------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """A ``jupyter lab`` subprocess; ``url(path)`` gives an authenticated address."""

    def __init__(self, course: Path, state: Path):
        self.course = course  # cwd of the server: where nbgrader looks for nbgrader_config.py
        self.root_dir = course / "notebooks"  # what Lab's file browser shows
        self.state = state
        self.port = _free_port()
        self.token = secrets.token_hex(24)
        self.log_path = state / "jupyter-server.log"
        self.proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base}/{path.lstrip('/')}{sep}token={self.token}"

    def env(self) -> dict[str, str]:
        # Isolate everything Jupyter reads or writes per user, so neither ~/.jupyter nor a
        # previous run's workspace/settings can change what the test sees. The virtualenv's
        # share/jupyter (labextensions, kernelspec) and etc/jupyter (server extensions, e.g.
        # nbgrader's) are found through sys.prefix regardless; JUPYTER_PATH names the former
        # explicitly in case JUPYTER_PREFER_ENV_PATH is switched off.
        env = dict(os.environ)
        for var in ("JUPYTER_TOKEN", "JUPYTERHUB_API_TOKEN", "JUPYTER_PREFER_ENV_PATH"):
            env.pop(var, None)
        env.update(
            JUPYTER_CONFIG_DIR=str(self.state / "config"),
            JUPYTER_DATA_DIR=str(self.state / "data"),
            JUPYTER_RUNTIME_DIR=str(self.state / "runtime"),
            JUPYTER_PATH=str(Path(sys.prefix) / "share" / "jupyter"),
            IPYTHONDIR=str(self.state / "ipython"),
            # the kernel is started by the server with the server's interpreter; keep its bin
            # first so nothing falls back to a system Python
            PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
        )
        return env

    def write_lab_settings(self) -> None:
        config = self.state / "config"
        # No "Would you like to get notified about official Jupyter news?" toast over the page.
        (config / "labconfig").mkdir(parents=True, exist_ok=True)
        (config / "labconfig" / "page_config.json").write_text(
            json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
        )
        # Attach every cell to the DOM (no virtual scrolling), so that every output can be
        # located and asserted on, wherever the cell is in a long notebook.
        tracker = config / "lab" / "user-settings" / "@jupyterlab" / "notebook-extension"
        tracker.mkdir(parents=True, exist_ok=True)
        (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))

    def start(self, attempts: int = 3) -> None:
        self.write_lab_settings()
        for attempt in range(attempts):
            self._spawn()
            try:
                self._wait_ready()
                return
            except RuntimeError:
                # _free_port() only found a port that was free a moment ago; another process
                # may have taken it since. Then (only then) try again on a new port.
                if attempt + 1 < attempts and "already in use" in self.log():
                    self.stop()
                    self.port = _free_port()
                    continue
                raise

    def _spawn(self) -> None:
        cmd = [
            sys.executable, "-m", "jupyter", "lab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--ServerApp.port_retries=0",  # fail loudly rather than silently serve on another port
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")  # containers/CI often run as root; Jupyter refuses otherwise
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            cmd, cwd=self.course, env=self.env(), stdout=self._log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,  # its own process group: see stop()
        )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url("api/status"), timeout=2) as resp:
                    if resp.status == 200 and "started" in json.load(resp):
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"jupyter lab did not answer /api/status in {SERVER_START_TIMEOUT}s:\n{self.log()}")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            # SIGTERM lets the server shut its kernels down cleanly ...
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        # ... and the server's own process group (its kernels) catches anything left behind.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc = None
        self._log.close()

    def log(self, tail: int = 20_000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError as exc:
            return f"(no server log: {exc})"


def _smoke_notebook() -> nbformat.NotebookNode:
    """A small notebook using everything a course notebook uses, with one nbgrader stub + test."""
    stub_meta = {"nbgrader": {"grade": False, "grade_id": "smoke_stub", "locked": False,
                              "schema_version": 3, "solution": True, "task": False}}
    test_meta = {"nbgrader": {"grade": True, "grade_id": "smoke_test", "locked": True, "points": 1,
                              "schema_version": 3, "solution": False, "task": False}}
    return new_notebook(
        metadata={"kernelspec": KERNELSPEC, "language_info": {"name": "python"}},
        cells=[
            new_markdown_cell("# Browser smoke test\nWritten by `tests/test_browser.py`."),
            new_code_cell("import numpy as np\nimport matplotlib.pyplot as plt\nimport ipywidgets as widgets\n"
                          "import nnopt_helpers\n%matplotlib inline"),
            new_code_cell("w = np.linspace(-2, 2, 200)\nfig, ax = plt.subplots(figsize=(4, 3))\n"
                          "ax.plot(w, w**2, label='loss')\nax.set_xlabel('w')\nax.legend()\nplt.show()"),
            # A slider whose observer runs in the kernel and writes to an Output widget: moving
            # it in the browser and seeing the new text proves the comm round trip works.
            new_code_cell("steps = widgets.IntSlider(value=3, min=0, max=10, description='steps')\n"
                          "out = widgets.Output()\n"
                          "def show(change):\n"
                          "    out.clear_output()\n"
                          "    with out:\n"
                          "        print(f'steps squared = {change[\"new\"] ** 2}')\n"
                          "steps.observe(show, names='value')\n"
                          "widgets.VBox([steps, out])"),
            new_code_cell("def momentum_step(w, v, grad, lr, beta):\n"
                          "    # YOUR CODE HERE\n    raise NotImplementedError()", metadata=stub_meta),
            new_code_cell("assert momentum_step(1.0, 0.0, 2.0, 0.1, 0.9) is not None", metadata=test_meta),
        ],
    )


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory):
    """A Lab server on a temp course: a copy of notebooks/ (+ a smoke notebook) and the nbgrader config."""
    base = tmp_path_factory.mktemp("lab")
    course = base / "course"
    notebooks = course / "notebooks"
    if NOTEBOOKS.is_dir():
        shutil.copytree(NOTEBOOKS, notebooks, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    notebooks.mkdir(parents=True, exist_ok=True)
    (notebooks / "_browser_smoke").mkdir()
    nbformat.write(_smoke_notebook(), notebooks / "_browser_smoke" / "smoke.ipynb")
    # nbgrader's Validate handler reads nbgrader_config.py from the server's cwd, as it does when a
    # learner runs the README's command from the repository root: give it the course's config.
    for rel in ("nbgrader_config.py", "autograder/nbgrader_config.py"):
        if (ROOT / rel).is_file():
            (course / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, course / rel)
    # nnopt_helpers needs no copying: it is installed (editable) in the venv the kernel runs in.

    state = base / "state"
    state.mkdir()
    server = LabServer(course, state)
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory):
    _require_browser()
    expect.set_options(timeout=UI_TIMEOUT_MS)  # expect() has its own default (5 s), separate from the page's
    profile = tmp_path_factory.mktemp("chromium-profile")  # fresh user-data dir: no cache, no state
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1400, "height": 900},
        )
        context.set_default_timeout(UI_TIMEOUT_MS)
        try:
            yield context
        finally:
            context.close()
            expect.set_options(timeout=None)  # back to Playwright's default


@pytest.fixture
def page(browser_context):
    page = browser_context.new_page()
    # Lab once asked "Select Kernel" in CI for the smoke notebook after its kernel had started and
    # was idle (a race in Lab's session start-up; not reproduced on demand: a notebook saved with
    # a missing kernel just gets python3). A learner would press "Select" (python3 preselected); so
    # does the test, before any action the dialog would block.
    select_kernel = page.locator(".jp-Dialog").filter(has_text="Select Kernel")
    page.add_locator_handler(select_kernel, lambda dialog: dialog.get_by_role("button", name="Select").click())
    yield page
    page.close()


@contextlib.contextmanager
def _diagnostics_on_failure(page, server: LabServer, tmp_path: Path):
    """On any failure inside the block, put a screenshot, the browser console and the server log
    into the test report (stderr is shown with the failure), then re-raise."""
    console: list[str] = []
    page.on("console", lambda msg: console.append(f"[{msg.type}] {msg.text}"))
    page.on("pageerror", lambda exc: console.append(f"[pageerror] {exc}"))
    try:
        yield
    except BaseException:
        shot = tmp_path / "failure.png"
        with contextlib.suppress(Exception):
            page.screenshot(path=str(shot))
        print(f"\n--- screenshot at failure: {shot}", file=sys.stderr)
        print("--- browser console ---\n" + "\n".join(console[-200:]), file=sys.stderr)
        print("--- jupyter server log (tail) ---\n" + server.log(), file=sys.stderr)
        raise


# --------------------------------------------------------------------------------------------
# driving Lab like a learner
# --------------------------------------------------------------------------------------------

NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook in the active tab
CELLS = f"{NOTEBOOK} .jp-Notebook .jp-Cell"
CODE_CELLS = f"{NOTEBOOK} .jp-Notebook .jp-CodeCell"
OUTPUTS = f"{NOTEBOOK} .jp-OutputArea-output"
STDERR = f"{NOTEBOOK} .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
KERNEL_IDLE = f"{NOTEBOOK} .jp-Notebook-ExecutionIndicator[data-status='idle']"
VALIDATE_BUTTON = f"{NOTEBOOK} .jp-NotebookPanel-toolbar jp-button.validate-button"  # nbgrader's ToolbarButton
NBGRADER_MENU = "#jp-MainMenu .lm-MenuBar-itemLabel"  # top menu bar labels; nbgrader adds "Nbgrader"


def _open_notebook(page, server: LabServer, rel_path: str) -> nbformat.NotebookNode:
    """Open a notebook in Lab; return it as read from disk, to know what Lab must show."""
    nb = nbformat.read(server.root_dir / rel_path, as_version=4)
    # ?reset: start from an empty workspace, so no tab restored from an earlier test competes
    page.goto(server.url(f"lab/tree/{rel_path}?reset"))
    expect(page.locator("#jupyterlab-splash")).to_have_count(0)  # Lab has finished restoring its layout
    # Lab attaches cells in batches after the tab opens: wait for all of them, or a count taken
    # now would miss the end of the notebook.
    expect(page.locator(CELLS)).to_have_count(len(nb.cells))
    # the kernel has started and is idle (the notebook toolbar's execution indicator)
    expect(page.locator(KERNEL_IDLE)).to_have_count(1, timeout=CELL_TIMEOUT_MS)
    return nb


def _run_cell(page, cell, prompt, attempts: int = 3) -> None:
    """Select ``cell`` and press Ctrl+Enter (notebook:run-cell), until Lab has taken the keystroke.

    Clicking the prompt selects the cell in command mode (clicking the editor would enter edit
    mode). Lab handles the click and moves keyboard focus asynchronously, and a keystroke that
    arrives before the notebook has focus is silently dropped, so: wait for the cell to be
    active and focus to be inside the notebook, then check that the prompt left "[ ]:" (Lab
    shows "[*]:" as soon as it sends the cell). Pressing again is safe only while the prompt
    still reads "[ ]:", i.e. nothing was queued.
    """
    for attempt in range(attempts):
        prompt.click()
        expect(cell).to_have_class(re.compile(r"\bjp-mod-active\b"))
        page.wait_for_function("() => !!document.activeElement?.closest('.jp-Notebook')")
        page.keyboard.press("Control+Enter")
        try:
            expect(prompt).not_to_have_text("[ ]:", timeout=5_000)
            return
        except AssertionError:
            if attempt == attempts - 1:
                raise


def _run_code_cells(page, nb: nbformat.NotebookNode) -> int:
    """Run every code cell top to bottom, one at a time, like a learner pressing Ctrl+Enter.

    One at a time, waiting for each: "Run All" stops at the first error, and an untouched
    student notebook raises NotImplementedError in its first stub, so the plots and widgets
    after it would never render. A fresh kernel numbers executions 1, 2, 3, ... so cell k is
    done when its prompt reads [k]. Returns the number of code cells run.
    """
    n = sum(cell.cell_type == "code" for cell in nb.cells)
    cells = page.locator(CODE_CELLS)
    expect(cells).to_have_count(n)
    for k in range(n):
        cell = cells.nth(k)
        prompt = cell.locator(".jp-InputArea-prompt")
        _run_cell(page, cell, prompt)
        try:
            expect(prompt).to_have_text(f"[{k + 1}]:", timeout=CELL_TIMEOUT_MS)
        except AssertionError as exc:
            source = cell.locator(".jp-InputArea-editor").inner_text()[:400]
            raise AssertionError(f"code cell {k + 1}/{n} did not finish within {CELL_TIMEOUT_MS / 1000:.0f}s:"
                                 f"\n{source}") from exc
    expect(page.locator(KERNEL_IDLE)).to_have_count(1)
    return n


def _assert_rendered_figure(page) -> None:
    """A matplotlib figure is an <img> in an output area, and the browser decoded it."""
    img = page.locator(f"{OUTPUTS} img")
    expect(img.first).to_be_visible()
    sizes = img.evaluate_all("imgs => imgs.map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
    assert any(ok and w > 50 and h > 50 for ok, w, h in sizes), f"no decoded figure image: {sizes}"


_OVERFLOW_JS = """cells => cells.flatMap((cell, i) => {
    const edge = cell.getBoundingClientRect().right + 1;
    const out = [];
    for (const o of cell.querySelectorAll('.jp-OutputArea-output')) {
        if (o.scrollWidth > o.clientWidth + 1) out.push(`cell ${i}: an output scrolls sideways (${o.scrollWidth} px in ${o.clientWidth} px)`);
        for (const el of o.querySelectorAll('img, .jupyter-widgets')) {
            const r = el.getBoundingClientRect();
            if (r.width > 0 && r.right > edge) out.push(`cell ${i}: ${el.tagName.toLowerCase()} ends ${Math.round(r.right - edge)} px past the cell`);
        }
    }
    return out;
})"""


def _assert_nothing_overflows(page) -> None:
    """No figure or widget is wider than the notebook: nothing sticks out of its cell, and no output
    needs a sideways scroll bar (the Lab window is 1400 px wide, a usual laptop screen)."""
    wide = page.locator(CODE_CELLS).evaluate_all(_OVERFLOW_JS)
    assert not wide, "\n".join(wide)


def _assert_rendered_slider(page):
    """An ipywidgets slider is rendered by the widget manager (not 'Loading widget...' text)."""
    slider = page.locator(f"{OUTPUTS} .jupyter-widgets.widget-slider").first
    expect(slider).to_be_visible()
    expect(slider.locator(".noUi-handle")).to_be_visible()  # ipywidgets 8 draws sliders with noUiSlider
    # a missing/broken widget manager shows one of these instead of the widget
    for text in ("Loading widget...", "Error displaying widget", "Failed to load model class"):
        expect(page.locator(OUTPUTS).filter(has_text=text)).to_have_count(0)
    return slider


def _assert_slider_redraws_figure(page, key: str = "ArrowRight") -> None:
    """Moving a slider of an interactive figure makes the kernel redraw it.

    The figure is a widget holding a slider and an image (e.g. nnopt_helpers' explorers: sliders
    above an Output with the figure). One key press on the slider's handle (a step, or ``Home``:
    to its lowest value) must change the readout and then the image (a new PNG from the kernel).
    """
    figure = (page.locator(f"{OUTPUTS} .jupyter-widgets.widget-vbox")
              .filter(has=page.locator(".widget-slider"))
              .filter(has=page.locator("img")).first)
    expect(figure).to_be_visible()
    figure.scroll_into_view_if_needed()
    img, readout = figure.locator("img").first, figure.locator(".widget-slider .widget-readout").first
    expect(img).to_be_visible()
    before_src, before_readout = img.get_attribute("src"), readout.inner_text()

    figure.locator(".widget-slider .noUi-handle").first.focus()
    page.keyboard.press(key)
    expect(readout).not_to_have_text(before_readout)
    expect(img).not_to_have_attribute("src", before_src)  # (re-)located on every poll: may be a new <img>
    expect(img).to_be_visible()


def _assert_stub_raises(page) -> None:
    """The untouched stub is there, and running the notebook shows its NotImplementedError.

    A stub usually defines a function, so the error appears where it is called: in the visible
    test cell (or an experiment) below it, with the stub's ``raise`` line in the traceback.
    """
    stub = page.locator(CODE_CELLS).filter(has=page.locator(".jp-InputArea-editor", has_text="raise NotImplementedError"))
    expect(stub.first).to_be_visible()
    raised = page.locator(STDERR).filter(has_text="NotImplementedError")
    expect(raised.first).to_be_visible()
    expect(raised.first).to_contain_text("raise NotImplementedError")  # the traceback reaches the stub


def _assert_no_broken_cells(page) -> None:
    """Untouched stubs may raise; a missing module or a syntax error means a broken notebook."""
    errors = page.locator(STDERR).all_inner_texts()
    broken = [e for e in errors if re.search(r"\b(ModuleNotFoundError|ImportError|SyntaxError|IndentationError)\b", e)]
    assert not broken, "cells fail for reasons other than an unfinished exercise:\n\n" + "\n\n".join(
        e[-1500:] for e in broken
    )


def _assert_nbgrader_extension(page) -> None:
    """Learners validate with nbgrader's toolbar button; instructors use the Nbgrader menu."""
    button = page.locator(VALIDATE_BUTTON)
    expect(button).to_be_visible()
    expect(button).to_have_text("Validate")
    expect(page.locator(NBGRADER_MENU, has_text=re.compile(r"^Nbgrader$"))).to_have_count(1)


def _validate(page):
    """Click Validate and return the results dialog's message (nbgrader's #validation-message)."""
    page.locator(VALIDATE_BUTTON).click()  # saves, then POSTs assignments/validate
    dialog = page.locator(".jp-Dialog")
    expect(dialog.locator(".jp-Dialog-header")).to_have_text(re.compile("Validation Results|Validation failed"),
                                                            timeout=VALIDATE_TIMEOUT_MS)
    expect(dialog.locator(".jp-Dialog-header")).to_have_text("Validation Results")
    message = dialog.locator("#validation-message")
    expect(message).to_be_visible()
    return dialog, message


def _run_untouched_student_notebook(page, server: LabServer, aid: str, phase) -> None:
    """Open ``notebooks/<aid>/<aid>.ipynb`` and run it cell by cell, as a learner starting out would:
    figures drawn, the stubs say they are not implemented yet, nothing else broken."""
    with phase("open notebook, kernel idle"):
        nb = _open_notebook(page, server, f"{aid}/{aid}.ipynb")
    with phase("run code cells"):
        _run_code_cells(page, nb)
    _assert_no_broken_cells(page)
    _assert_rendered_figure(page)
    _assert_nothing_overflows(page)
    _assert_stub_raises(page)


def _validate_fails_on_the_stub(page, tmp_path: Path, screenshot: str) -> None:
    """nbgrader's Validate, run in the server: the untouched stub's visible test fails with NotImplementedError."""
    dialog, message = _validate(page)
    expect(message).to_have_class(re.compile(r"\bvalidation-failed\b"))
    expect(message).to_contain_text("NotImplementedError")
    _screenshot(page, tmp_path, screenshot)
    dialog.get_by_role("button", name="Ok").click()
    expect(dialog).to_have_count(0)


class _Phases:
    """Wall-clock seconds per phase, printed at the end (visible with ``pytest -s`` or on failure)."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, name: str):
        t0 = time.monotonic()
        try:
            yield
        finally:
            self.seconds[name] = time.monotonic() - t0
            print(f"[browser] {name}: {self.seconds[name]:.1f} s")


def _screenshot(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path))
    extra = os.environ.get("NNOPT_BROWSER_SCREENSHOT_DIR")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, Path(extra) / path.name)
    return path


# --------------------------------------------------------------------------------------------
# the tests
# --------------------------------------------------------------------------------------------


def test_lab_stack_renders_plots_widgets_and_validate(page, lab_server, tmp_path):
    phase = _Phases()
    with _diagnostics_on_failure(page, lab_server, tmp_path):
        with phase("open notebook, kernel idle"):
            nb = _open_notebook(page, lab_server, "_browser_smoke/smoke.ipynb")
        _assert_nbgrader_extension(page)

        with phase("run code cells"):
            assert _run_code_cells(page, nb) == 5
        _assert_no_broken_cells(page)  # e.g. nnopt_helpers importable in Lab's kernel
        _assert_rendered_figure(page)
        _assert_nothing_overflows(page)
        # ... and the overflow check sees a figure that is too wide (a 3000 px image, put in and
        # taken out again)
        page.locator(f"{OUTPUTS} img").first.evaluate("i => { i.dataset.w = i.style.cssText; "
                                                      "i.style.cssText = 'width:3000px; max-width:none'; }")
        assert page.locator(CODE_CELLS).evaluate_all(_OVERFLOW_JS), "the overflow check missed a 3000 px image"
        page.locator(f"{OUTPUTS} img").first.evaluate("i => { i.style.cssText = i.dataset.w; }")
        _assert_nothing_overflows(page)
        slider = _assert_rendered_slider(page)
        _assert_stub_raises(page)

        # Move the slider with the keyboard: the kernel-side observer must answer in the page.
        with phase("slider round trip"):
            expect(slider.locator(".widget-readout")).to_have_text("3")
            slider.locator(".noUi-handle").focus()
            page.keyboard.press("ArrowRight")
            expect(slider.locator(".widget-readout")).to_have_text("4")
            expect(page.locator(OUTPUTS, has_text="steps squared = 16").last).to_be_visible(timeout=10_000)
        _screenshot(page, tmp_path, "lab-smoke")

        # Validate runs nbgrader in the server: the stub's test fails with NotImplementedError.
        with phase("Validate"):
            _validate_fails_on_the_stub(page, tmp_path, "lab-smoke-validate")


@pytest.mark.skipif(not (NOTEBOOKS / "03_momentum" / "03_momentum.ipynb").is_file(),
                    reason="notebooks/03_momentum not generated yet")
def test_student_notebook_03_momentum(page, lab_server, tmp_path):
    phase = _Phases()
    with _diagnostics_on_failure(page, lab_server, tmp_path):
        _run_untouched_student_notebook(page, lab_server, "03_momentum", phase)
        _assert_nbgrader_extension(page)
        _assert_rendered_slider(page)
        # The explorer's sliders work on an untouched notebook too (SGD's path is drawn, the
        # learner's rules say "not implemented yet"): one step of a slider redraws the figure.
        with phase("slider step to redrawn figure"):
            _assert_slider_redraws_figure(page)
        _screenshot(page, tmp_path, "lab-03_momentum")

        # What a learner sees on Validate before writing anything: failing visible tests.
        with phase("Validate"):
            _validate_fails_on_the_stub(page, tmp_path, "lab-03_momentum-validate")


_OTHER_NOTEBOOKS = sorted(p.parent.name for p in NOTEBOOKS.glob("*/*.ipynb") if p.parent.name != "03_momentum")


@pytest.mark.parametrize("aid", _OTHER_NOTEBOOKS)
def test_student_notebook_runs_in_lab(page, lab_server, tmp_path, aid):
    """Every other student notebook, untouched, run cell by cell in Lab as a learner would start:
    the cells that need no answer draw their figures (and widgets), the stubs say they are not
    implemented yet, and nothing fails for any other reason. (03 above also moves a slider and
    clicks Validate.) Every notebook has an explorer: its sliders are drawn, and one step of a
    slider redraws its figure, stubs and all."""
    phase = _Phases()
    with _diagnostics_on_failure(page, lab_server, tmp_path):
        _run_untouched_student_notebook(page, lab_server, aid, phase)
        _assert_rendered_slider(page)
        # the first slider to its lowest value (e.g. the smallest learning rate, where the
        # baseline's path is drawn even when the learner's functions are still stubs)
        with phase("slider to its lowest value, figure redrawn"):
            _assert_slider_redraws_figure(page, "Home")
        _screenshot(page, tmp_path, f"lab-{aid}")
