"""Nothing a submission wrote runs in what the grader writes: ``autograder/grading/sanitize.py``.

Fast unit tests on hostile notebooks (``grading_fixtures/scripts.py``): every vector is neutralized
in the sanitized notebook, whichever template renders it (nbconvert's classic and lab, nbgrader's
formgrade -- what formgrader shows the instructor -- and the feedback HTML the grader writes),
while honest markdown, images and text stay as they were; the course's six student notebooks come
out unchanged. ``tests/test_browser_security.py`` checks the same in Chromium, on a graded class.
"""

from __future__ import annotations

import copy
import re
import time
from pathlib import Path

import nbformat
import pytest

from autograder.grading import notebooks as nbs
from autograder.grading import worker
from autograder.grading.records import GradeJob, SubmissionResult
from autograder.grading.sanitize import CHECK_MARKDOWN_CELL, clean_html, sanitize_notebook
from grading_fixtures import scripts as S

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = sorted(p.name for p in (ROOT / "notebooks").iterdir() if (p / f"{p.name}.ipynb").is_file())
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
_FENCE_NOTE = "*[The grader shows this markdown cell as plain text"


def _hostile(base=None) -> nbformat.NotebookNode:
    nb = base if base is not None else nbformat.v4.new_notebook(metadata={"kernelspec": KERNELSPEC},
                                                                cells=[nbformat.v4.new_markdown_cell("# Start")])
    if base is None:
        nb.cells[0].metadata["nbgrader"] = {"grade_id": "md_intro", "locked": True, "solution": False,
                                            "grade": False, "schema_version": 3}
    return S.hostile_notebook(nb)


_render = S.render_with_template


TEMPLATES = ["classic", "lab", "formgrade", "feedback"]


@pytest.fixture(scope="module")
def hostile():
    return _hostile()


@pytest.fixture(scope="module")
def sanitized(hostile):
    return sanitize_notebook(hostile)


# ---------------------------------------------------------------------------------------------
# The hostile notebook


@pytest.mark.parametrize("template", TEMPLATES)
def test_unsanitized_hostile_notebook_is_active(hostile, template):
    """The control: the detector finds the vectors when nothing is sanitized (so the tests below can fail)."""
    found = S.active_markup(_render(hostile, template))
    text = " ".join(found)
    for what in ("<script>", "onerror", "onload", "javascript:", "<iframe>", "ontoggle", "<style>"):
        assert what in text, (what, found)


@pytest.mark.parametrize("template", TEMPLATES)
def test_sanitized_notebook_is_inert_in_every_template(sanitized, template):
    assert S.active_markup(_render(sanitized, template)) == []


def test_sanitized_notebook_is_valid_and_keeps_its_cells(hostile, sanitized):
    nbformat.validate(sanitized)
    nbformat.validate(nbformat.reads(nbformat.writes(sanitized), as_version=4))
    assert [c.cell_type for c in sanitized.cells] == [c.cell_type for c in hostile.cells]
    assert [c.id for c in sanitized.cells] == [c.id for c in hostile.cells]
    assert sanitized is not hostile and S.MARKER in nbformat.writes(hostile)  # the input is untouched


@pytest.mark.parametrize("vector", list(S.HOSTILE_MARKDOWN))
def test_each_markdown_vector_is_shown_as_text(hostile, sanitized, vector):
    i = [c.source for c in hostile.cells].index(S.HOSTILE_MARKDOWN[vector])
    cell = sanitized.cells[i]
    assert cell.source.startswith(_FENCE_NOTE), cell.source
    assert S.HOSTILE_MARKDOWN[vector] in cell.source  # the instructor still sees what was written
    assert S.active_markup(nbs_render_markdown(cell.source)) == []


def nbs_render_markdown(source: str) -> str:
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return markdown2html_mistune(source)


def test_honest_content_survives(hostile, sanitized):
    by_source = {c.source: c for c in sanitized.cells}
    assert S.HONEST_MARKDOWN in by_source  # byte for byte: math, table, link, code, <br>, <sub>
    code = next(c for c in sanitized.cells if c.cell_type == "code")
    png = next(o for o in code.outputs if "image/png" in o.get("data", {}))
    assert png.data["image/png"] == S.PNG_1X1 and png.metadata == {"image/png": {"width": 1, "height": 1}}
    stream = next(o for o in code.outputs if o.output_type == "stream")
    assert "nnopt-honest-stream" in stream.text and "<script>" in stream.text  # text, escaped by every template
    html_out = code.outputs[0].data["text/html"]
    assert "<b>honest html output</b>" in html_out and "&lt;script&gt;" in html_out and "<script" not in html_out
    error = next(o for o in code.outputs if o.output_type == "error")
    assert error.ename == "ValueError"
    assert code.execution_count == 3 and code.source == S.HOSTILE_CODE
    photo = next(c for c in sanitized.cells if c.get("attachments"))
    assert photo.attachments == {"photo.png": {"image/png": S.PNG_1X1}}  # the SVG drawing is dropped
    assert "attachment:drawing.svg" in photo.source
    assert photo.source.startswith(_FENCE_NOTE)  # it references an attachment that is gone: shown as text
    tagged = next(c for c in sanitized.cells if c.source == "A tagged cell.")
    assert tagged.metadata == {"tags": ["honest-tag"]}
    assert set(sanitized.metadata) == {"kernelspec"}  # widget state and title dropped
    for rendered in (_render(sanitized, "classic"), _render(sanitized, "feedback")):
        assert S.HONEST_HEADING in rendered and "honest html output" in rendered


def test_outputs_keep_only_inert_mimetypes(sanitized):
    code = next(c for c in sanitized.cells if c.cell_type == "code")
    mimes = {m for o in code.outputs for m in o.get("data", {})}
    assert mimes <= {"text/plain", "text/html", "text/markdown", "image/png"}, mimes
    notes = [o.data["text/plain"] for o in code.outputs if o.get("data", {}).get("text/plain", "").startswith("[output removed")]
    assert any("image/svg+xml" in n for n in notes) and any("text/vnd.mermaid" in n for n in notes), notes
    assert all(set(o.get("metadata", {})) <= {"image/png", "image/jpeg", "image/gif"} for o in code.outputs)
    markdown = next(o for o in code.outputs if "text/markdown" in o.get("data", {}))
    assert markdown.data["text/markdown"].startswith("*[The grader shows this markdown output as plain text")


def test_raw_cells_are_inert(hostile, sanitized):
    raws = [c for c in sanitized.cells if c.cell_type == "raw"]
    assert len(raws) == 2
    for cell in raws:
        assert S.active_markup(cell.source) == [], cell.source
        assert "&lt;script&gt;" in cell.source or '<img src="x">' in cell.source, cell.source
    assert raws[0].metadata == {"raw_mimetype": "text/html"}


def test_sanitizing_twice_changes_nothing(sanitized):
    again = sanitize_notebook(sanitized)
    assert nbformat.writes(again) == nbformat.writes(sanitized)


@pytest.mark.parametrize("url, tag, ok", [
    ("https://example.org/a?b#c", "a", True), ("mailto:me@example.org", "a", True), ("#top", "a", True),
    ("relative/page.html", "a", True), ("javascript:alert(1)", "a", False), ("JaVaScRiPt:alert(1)", "a", False),
    ("java\tscript:alert(1)", "a", False), ("javascript&colon;alert(1)", "a", False), ("javascript:1", "a", False),
    ("&#106;avascript:alert(1)", "a", False), ("vbscript:x", "a", False), ("data:text/html,<b>x</b>", "a", False),
    ("files/javascript:alert(1)", "a", False), ("data:image/png;base64,AAAA", "img", True),
    ("data:image/svg+xml;base64,AAAA", "img", False), ("data:image/png;base64,AAAA", "a", False),
])
def test_url_policy(url, tag, ok):
    attr = "href" if tag == "a" else "src"
    cleaned = clean_html(f'<{tag} {attr}="{url}">x</{tag}>' if tag == "a" else f'<img src="{url}">')
    assert (f'{attr}="' in cleaned) == ok, cleaned


def test_large_inputs_are_made_inert_without_being_parsed():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("[" * 80_000 + "x" + "]" * 80_000),  # minutes in nbconvert's parser
        nbformat.v4.new_markdown_cell("ok " * 3000),
        nbformat.v4.new_code_cell("x")])
    nb.cells[2].outputs = [nbformat.v4.new_output("display_data", data={"text/html": "<p>row</p>" * 200_000}),
                           nbformat.v4.new_output("display_data", data={"text/html": "<p>row</p>" * 200_000,
                                                                       "text/plain": "a table"})]
    t0 = time.monotonic()
    out = sanitize_notebook(nb)
    assert time.monotonic() - t0 < 10
    assert out.cells[0].source.startswith(_FENCE_NOTE) and "was not checked" in out.cells[0].source
    assert len(out.cells[1].source) > CHECK_MARKDOWN_CELL and out.cells[1].source.startswith(_FENCE_NOTE)
    assert out.cells[2].outputs[0].data == {"text/plain": "[output removed by the grader: text/html of 2,000,000 characters]"}
    assert out.cells[2].outputs[1].data == {"text/plain": "a table"}


# ---------------------------------------------------------------------------------------------
# In the grader: the autograded notebook and the feedback HTML


def _finish(nb) -> dict:
    result = SubmissionResult(student_id="s", assignment=None, notebook="03_momentum.ipynb", key=None,
                              notes=["a note with <script>alert(1)</script>"], score=3.0, max_score=10.0)
    return worker.feedback(GradeJob(student_id="s", notebook="03_momentum.ipynb"), result, nb, time.monotonic())


def test_grader_writes_only_sanitized_notebooks_and_feedback(hostile):
    verdict = nbformat.v4.new_output("stream", name="stdout", text="[grader] verified outside your kernel: 4 / 4 points\n")
    nb = copy.deepcopy(hostile)
    next(c for c in nb.cells if c.cell_type == "code").outputs.append(verdict)
    result = _finish(nb)
    autograded = nbformat.reads(result["autograded"], as_version=4)
    nbformat.validate(autograded)
    for template in ("formgrade", "classic"):
        assert S.active_markup(_render(autograded, template)) == []
    html = result["feedback_html"]
    assert S.active_markup(html) == [], S.active_markup(html)
    assert "Grading summary" in html and "[grader] verified outside your kernel: 4 / 4 points" in html
    assert S.HONEST_HEADING in html and "Score: 3" in html
    assert "feedback could not be rendered" not in " ".join(result["notes"])
    assert "sanitize_s" in result["timings"]


def test_placeholder_quoting_a_file_name_is_sanitized():
    master = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 03")])
    result = _finish(worker._placeholder(master, f"no 03_momentum.ipynb in the submission (found: {S.HOSTILE_FILE_NAME})"))
    assert S.active_markup(result["feedback_html"]) == []
    assert S.active_markup(_render(nbformat.reads(result["autograded"], as_version=4), "formgrade")) == []
    assert "found:" in result["feedback_html"]


def test_feedback_rendering_cleans_markdown_and_html_outputs_itself():
    """render_feedback_html does not rely on its input being sanitized (nbgrader's own generate_feedback)."""
    nb = _hostile()
    html = nbs.render_feedback_html(nb, notebook_name="n", score=1, max_score=2)
    # Left: an output's "filenames" metadata as an <img src> (browsers never run a javascript: image);
    # sanitize_notebook drops it, and every caller renders a sanitized notebook (feedback_notebook).
    assert [f for f in S.active_markup(html) if not f.startswith("<img src=")] == []
    assert S.HONEST_HEADING in html


# ---------------------------------------------------------------------------------------------
# The course's notebooks


def _math_spans(source: str) -> int:
    return len(re.findall(r"\$\$.+?\$\$|\$[^$\n]+?\$", source, flags=re.S))


def _table_rows(source: str) -> int:
    return sum(1 for line in source.splitlines() if line.lstrip().startswith("|"))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_course_notebook_with_hostile_cells(assignment):
    student = nbformat.read(ROOT / "notebooks" / assignment / f"{assignment}.ipynb", as_version=4)
    honest = sanitize_notebook(student)
    for before, after in zip(student.cells, honest.cells, strict=True):
        assert after.source == before.source, before.source[:200]  # unchanged, not just equivalent
        if before.cell_type == "markdown":
            assert (_math_spans(after.source), _table_rows(after.source)) == (_math_spans(before.source),
                                                                            _table_rows(before.source))
    assert sum(_math_spans(c.source) for c in honest.cells if c.cell_type == "markdown") > 0
    nb = copy.deepcopy(student)
    nb.cells += S.hostile_cells(with_outputs=True)
    out = sanitize_notebook(nb)
    nbformat.validate(out)
    for template in ("formgrade", "feedback"):
        assert S.active_markup(_render(out, template)) == []
    kept = {c.source for c in out.cells}
    assert all(c.source in kept for c in student.cells if c.cell_type == "markdown")


def test_a_cell_that_fails_validation_is_neutralized_alone(monkeypatch):
    """Cells are validated with the whole notebook; one that fails is replaced by a note, the others stay."""
    from autograder.grading import sanitize as san

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# kept"), nbformat.v4.new_code_cell("x = 1")])
    real = san._safe_cell

    def broken_code(cell, budget):
        new = real(cell, budget)
        if new.cell_type == "code":
            new["execution_count"] = "not a number"  # what nbformat's schema refuses
        return new

    monkeypatch.setattr(san, "_safe_cell", broken_code)
    out = san.sanitize_notebook(nb)
    assert out.cells[0].source == "# kept"
    assert "removed this cell" in out.cells[1].source and out.cells[1].cell_type == "code"
    nbformat.validate(out)
