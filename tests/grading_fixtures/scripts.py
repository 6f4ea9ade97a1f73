"""Script in what instructors and learners open: markdown, raw cells, attachments, metadata and outputs.

A submission's markdown and its kernel's outputs end up in the feedback HTML and in the
autograded notebook that nbgrader's formgrader renders inside the instructor's Jupyter session
(where a script could open a terminal through the server's API). Every vector here, if it ever
ran, records itself three ways: a request to ``/nnopt-xss-<vector>`` (seen by the browser test),
``window.__nnopt_pwned`` (a list of vector names) and a console line ``nnopt-xss-<vector>``.

The helpers are shared with ``tests/test_sanitize.py`` (unit) and ``tests/test_browser_security.py``
(the graded class opened in Chromium, feedback files and formgrader). The catalogue's fixtures are
correct submissions carrying every vector: full marks, status ``graded`` (the grade is not
the point; ``test_grading_catalogue.py`` checks their feedback and autograded notebook).
"""

from __future__ import annotations

import base64
import copy
import html
import json
import re
from html.parser import HTMLParser

import nbformat

from . import FULL, NOTEBOOK, ZERO, Fixture, _find, raw, slim

#: Every marker starts with this: in a request path, in window.__nnopt_pwned, on the console.
MARKER = "nnopt-xss-"
#: Text of the learner's honest markdown that must stay readable wherever the hostile one was.
HONEST_HEADING = "Notes on momentum nnopt-honest"
HONEST_MARKDOWN = f"""## {HONEST_HEADING}

The heavy ball keeps **velocity** $v_t = \\mu v_{{t-1}} - \\eta \\nabla f(w_t)$, and with *Polyak's*
tuning the rate is $\\frac{{\\sqrt{{\\kappa}} - 1}}{{\\sqrt{{\\kappa}} + 1}}$:

$$\\rho = \\max\\left(|1 - \\sqrt{{\\eta \\lambda_i}}|\\right), \\quad a < b \\;\\&\\; c > d$$

| method | rate | note |
|:--|--:|---|
| GD | $1 - 1/\\kappa$ | slow |
| heavy ball | $1 - 1/\\sqrt{{\\kappa}}$ | fast |

See [Polyak 1964](https://doi.org/10.1016/0041-5553(64)90137-5) and <https://distill.pub/2017/momentum/>.
Inline code `x < y && z` and a line<br>break, H<sub>2</sub>O, x<sup>2</sup>.

```python
velocity = momentum * velocity - learning_rate * dw  # "<b>" stays text
```
"""
#: A 1x1 PNG: an honest image output / attachment that must survive.
PNG_1X1 = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


def beacon(vector: str) -> str:
    """JavaScript that records that ``vector`` ran (single quotes only: it goes inside attributes)."""
    name = MARKER + vector
    return (f"(window.__nnopt_pwned=window.__nnopt_pwned||[]).push('{vector}');console.log('{name}');"
            f"fetch(location.origin+String.fromCharCode(47)+'{name}').catch(function(){{}})")


def _svg(vector: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="{beacon(vector + "-onload")}">'
            f'<script>{beacon(vector + "-script")}</script><rect width="10" height="10"/></svg>')


#: Hostile markdown cells, by vector. Each would run (or make a request) if rendered unsanitized
#: by nbconvert's templates, except the click-only links (javascript:, files/javascript:, &colon;),
#: which are checked as markup instead.
HOSTILE_MARKDOWN = {
    "md-script": f"Plain words, then a script.\n\n<script>{beacon('md-script')}</script>",
    "md-img-onerror": f'An image: <img src="x-missing.png" onerror="{beacon("md-img-onerror")}">',
    "md-svg-onload": f"<svg onload=\"{beacon('md-svg-onload')}\"></svg>",
    "md-iframe": f'<iframe srcdoc="<script>parent.eval(&quot;{beacon("md-iframe")}&quot;)</script>"></iframe>',
    "md-details-ontoggle": f'<details open ontoggle="{beacon("md-details-ontoggle")}"><summary>s</summary>x</details>',
    "md-body-onload": f'<body onload="{beacon("md-body-onload")}">',
    "md-math-style": ("<math><mtext><table><mglyph><style><img src=x-missing.png "
                      f"onerror=\"{beacon('md-math-style')}\"></style></mglyph></table></mtext></math>"),
    "md-style-import": "<style>@import url('/nnopt-xss-md-style-import');</style>",
    "md-object": f"<object data=\"data:text/html;base64,{base64.b64encode(_svg('md-object').encode()).decode()}\"></object>",
    "md-embed": "<embed src=\"javascript:alert('nnopt-xss-md-embed')\">",
    "md-mermaid": f"```mermaid\n<img src=x-missing.png onerror=\"{beacon('md-mermaid')}\">\n```",
    "md-js-link": "[click me](javascript:alert('nnopt-xss-md-js-link'))",
    "md-js-link-entity": "<a href=\"javascript&colon;alert('nnopt-xss-md-js-link-entity')\">click</a>",
    "md-files-js-link": "[files link](files/javascript:alert('nnopt-xss-md-files-js-link'))",
    "md-meta-refresh": "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert('nnopt-xss-md-meta-refresh')\">",
    "md-base": "<base href=\"javascript:alert('nnopt-xss-md-base')//\">",
    "md-form": "<form action=\"javascript:alert('nnopt-xss-md-form')\"><button>go</button></form>",
    "md-noscript": (f"<noscript><p title=\"</noscript><img src=x-missing.png "
                    f"onerror='{beacon('md-noscript')}'>\"></p></noscript>"),
}

_WIDGET_STATE = {"application/vnd.jupyter.widget-state+json": {"version_major": 2, "version_minor": 0, "state": {
    "deadbeef": {"model_name": "HTMLModel", "model_module": "@jupyter-widgets/controls", "model_module_version": "2.0.0",
                 "state": {"value": f'<img src="x-missing.png" onerror="{beacon("widget-state")}">'}}}}}


def hostile_outputs() -> list:
    """The outputs HOSTILE_CODE produces, written directly (for tests that do not run a kernel)."""
    out = nbformat.v4.new_output
    return [
        out("display_data", data={"text/html": f"<b>honest html output</b><script>{beacon('out-html-script')}</script>"
                                               f'<img src="x-missing.png" onerror="{beacon("out-html-img")}">',
                                  "text/plain": "<IPython.core.display.HTML object>"}),
        out("display_data", data={"application/javascript": beacon("out-javascript"),
                                  "text/plain": "<IPython.core.display.Javascript object>"}),
        out("display_data", data={"image/svg+xml": _svg("out-svg")}),
        out("display_data", data={"text/markdown": f'<img src="x-missing.png" onerror="{beacon("out-markdown")}">'}),
        out("display_data", data={"text/html": f"<script>{beacon('out-html-isolated')}</script>", "text/plain": "isolated"},
            metadata={"text/html": {"isolated": True}}),
        out("display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "deadbeef", "version_major": 2,
                                                                               "version_minor": 0},
                                  "text/plain": "a widget"}),
        out("display_data", data={"image/png": PNG_1X1, "text/plain": "<Figure size 1x1>"},
            metadata={"image/png": {"width": 1, "height": 1}, "filenames": {"image/png": "javascript:alert(1)"}}),
        out("display_data", data={"text/vnd.mermaid": f"graph TD; A[\"<img src=x onerror={beacon('out-mermaid')}>\"]",
                                  "application/vnd.plotly.v1+json": {"data": [], "layout": {"title": "<b>x</b>"}}}),
        out("stream", name="stdout", text=f"<script>{beacon('out-stream')}</script> printed text nnopt-honest-stream\n"),
        out("execute_result", data={"text/plain": "42", "text/html": f"<img src=x onerror=\"{beacon('out-result')}\">"},
            execution_count=3),
        out("error", ename="ValueError", evalue=f"<script>{beacon('out-error')}</script>",
            traceback=[f"ValueError: <img src=x onerror=\"{beacon('out-error-tb')}\">"]),
    ]


def _hostile_code() -> str:
    """A code cell that makes the learner's kernel display :func:`hostile_outputs` (the displays and the print)."""
    lines = ["from IPython.display import display"]
    for o in hostile_outputs():
        if o.output_type == "display_data":
            lines.append(f"display({dict(o.data)!r}, metadata={dict(o.metadata)!r}, raw=True)")
        elif o.output_type == "stream":
            lines.append(f"print({o.text.rstrip(chr(10))!r})")
    return "\n".join(lines) + "\n"


#: The code cell the learner's kernel runs: every kind of active output IPython can display.
HOSTILE_CODE = _hostile_code()


def hostile_cells(*, with_outputs: bool) -> list:
    """Every hostile cell: the markdown vectors, a raw HTML cell, an SVG attachment, a tagged cell and
    the code cell (with :func:`hostile_outputs` when ``with_outputs``, else for the kernel to make them)."""
    cells = [nbformat.v4.new_markdown_cell(HONEST_MARKDOWN)]
    cells += [nbformat.v4.new_markdown_cell(src) for src in HOSTILE_MARKDOWN.values()]
    cells.append(nbformat.v4.new_raw_cell(f"<script>{beacon('raw-html')}</script><img src=x onerror=\"{beacon('raw-img')}\">",
                                          metadata={"raw_mimetype": "text/html"}))
    cells.append(nbformat.v4.new_raw_cell(f"<img src=x onerror=\"{beacon('raw-plain')}\">"))
    attached = nbformat.v4.new_markdown_cell("A photo ![photo](attachment:photo.png) and a drawing "
                                             "![drawing](attachment:drawing.svg)")
    attached.attachments = {"photo.png": {"image/png": PNG_1X1},
                            "drawing.svg": {"image/svg+xml": base64.b64encode(_svg("attachment").encode()).decode()}}
    cells.append(attached)
    tagged = nbformat.v4.new_markdown_cell("A tagged cell.", metadata={
        "tags": [f'x" onmouseover="{beacon("cell-tag")}', "honest-tag"], "widgets": _WIDGET_STATE,
        "nbgrader": {"comment": f"<img src=x onerror=\"{beacon('nbgrader-comment')}\">"}})
    cells.append(tagged)
    code = nbformat.v4.new_code_cell(HOSTILE_CODE, metadata={"tags": ["hostile"], "magics_language": "html"})
    if with_outputs:
        code.outputs = hostile_outputs()
        code.execution_count = 3
    cells.append(code)
    return cells


def add_hostile(after: str = "md_intro", *, with_outputs: bool = False):
    """An edit: every hostile cell after the cell ``after``, and widget state in the notebook's metadata."""

    def apply(nb):
        i = _find(nb, after) + 1
        nb.cells[i:i] = hostile_cells(with_outputs=with_outputs)
        nb.metadata["widgets"] = copy.deepcopy(_WIDGET_STATE)
        nb.metadata["title"] = f"</title><script>{beacon('nb-title')}</script>"

    return apply


def hostile_notebook(base) -> nbformat.NotebookNode:
    """``base`` (a notebook) with every hostile cell, outputs included (no kernel needed)."""
    nb = copy.deepcopy(base)
    add_hostile(with_outputs=True)(nb)
    return nb


_URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "xlink:href", "background", "poster", "srcdoc"}
_ACTIVE_TAGS = {"iframe", "object", "embed", "base", "meta", "form", "frame", "frameset", "link", "portal"}


class _ActiveMarkup(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._raw: str | None = None  # inside <script> or <style>

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            value = value or ""
            if name.startswith("on") and MARKER in value:
                self.found.append(f"<{tag} {name}=...{MARKER}>")
            if name in _URL_ATTRIBUTES:
                url = re.sub(r"[\x00-\x20]+", "", html.unescape(value)).lower()
                if url.startswith(("javascript:", "vbscript:")) or (name == "srcdoc" and MARKER in value):
                    self.found.append(f"<{tag} {name}={value[:60]!r}>")
        if tag in _ACTIVE_TAGS and any(MARKER in (v or "") for _, v in attrs):
            self.found.append(f"<{tag}> carrying {MARKER}")
        if tag in ("script", "style"):
            self._raw = tag

    def handle_endtag(self, tag):
        if tag == self._raw:
            self._raw = None

    def handle_data(self, data):
        if self._raw is not None and (MARKER in data or "nnopt-pwned" in data):
            self.found.append(f"<{self._raw}> with {data.strip()[:80]!r}")


def active_markup(page: str) -> list[str]:
    """What in ``page`` (HTML) would run (or load) a learner's marker: event handlers, script and
    style elements, javascript: URLs, frames and objects carrying :data:`MARKER`. Text that merely
    shows the hostile source (escaped) is not active. A plain parser, for assertions: the browser
    test is the real check."""
    parser = _ActiveMarkup()
    parser.feed(page)
    parser.close()
    return parser.found


def render_with_template(nb, template: str) -> str:
    """``nb`` as an nbconvert template renders it -- ``classic``, ``lab``, or nbgrader's ``formgrade``
    (formgrader's view of a submission) and ``feedback`` -- with nothing sanitized by nbconvert."""
    from pathlib import Path

    import nbgrader.server_extensions.formgrader.handlers as formgrader
    from nbconvert.exporters import HTMLExporter
    from traitlets.config import Config

    c = Config()
    c.HTMLExporter.template_name = template
    c.HTMLExporter.extra_template_basedirs = [formgrader.template_path]
    c.HTMLExporter.extra_template_paths = [str(Path(formgrader.static_path) / "node_modules" / "bootstrap" / "dist" / "css")]
    resources = {"base_url": "/", "index": 0, "total": 1, "notebook_id": "n", "assignment_id": "a",
                 "submission_id": "s", "student": "st", "first_name": "f", "last_name": "l", "notebook_path": "/n",
                 "nbgrader": {"notebook": "n", "score": 0, "max_score": 1, "late_penalty": 0}}
    nb = copy.deepcopy(nb)
    for cell in nb.cells:  # the templates print per-cell scores (as render_feedback_html sets them)
        n = cell.metadata.get("nbgrader", {})
        if n.get("grade") or n.get("task"):
            n.setdefault("points", 0)
            if n.get("score") is None:
                n["score"] = 0.0
    body, _ = HTMLExporter(config=c).from_notebook_node(nb, resources=resources)
    return body


#: A file name the grader quotes when the expected notebook is missing ("found: <name>").
HOSTILE_FILE_NAME = f"<img src=x onerror=\"{beacon('file-name')}\">.ipynb"

FIXTURES = [
    Fixture("script-in-markdown-and-outputs", slim(add_hostile()), status="graded", scores=FULL,
            description="a correct notebook whose markdown, raw cells, attachments, metadata and kernel outputs carry "
                        "every script vector (script, event handlers, javascript: links, iframe, svg, mathml, "
                        "javascript/svg/widget outputs): nothing runs where it is shown"),
    Fixture("script-in-file-name", raw({HOSTILE_FILE_NAME: json.dumps({"cells": []}).encode()}),
            status="no-notebook", scores=ZERO,
            description="no 03_momentum.ipynb, and the notebook that is there is named with an event handler: "
                        "the grader's note quotes the name"),
]

#: The catalogue's student ids of the fixtures above.
NAMES = [f.name for f in FIXTURES]
assert NOTEBOOK not in HOSTILE_FILE_NAME
