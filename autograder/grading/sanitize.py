"""Make a graded notebook inert: nothing a submission wrote may run in the browser of whoever opens it.

The notebook the grader writes (the course's ``autograded/``, which nbgrader's formgrader renders
inside the instructor's logged-in Jupyter session) and the feedback HTML rendered from it are
opened by instructors and learners. A submission controls its markdown, its raw cells, its
attachments, its cell and notebook metadata and every output its kernel produced (including the
outputs of locked test cells: the kernel is the learner's). :func:`sanitize_notebook` returns a
copy of a notebook in which none of that can run script, whatever nbconvert template (nbgrader's
``feedback`` and ``formgrade``, nbconvert's ``classic``/``lab``) or JupyterLab renders it.

HTML is judged by `bleach <https://github.com/mozilla/bleach>`_ (html5lib's spec-compliant parser,
already nbconvert's sanitizer) against one allowlist, :data:`TAGS` and :func:`_attribute_ok`:

* **kept as is**: markdown whose rendering (nbconvert's own ``markdown2html`` with
  ``strip_files_prefix``, as the templates render it) contains only allowlisted tags and
  attributes -- headings, emphasis, lists, task lists, tables (with mistune's ``text-align``),
  code blocks (pygments' spans), ``$...$`` / ``$$...$$`` math (it is text; MathJax typesets it),
  links to http(s)/mailto/relative/``#anchor`` addresses, images from http(s), relative paths and
  ``data:image/{png,jpeg,gif,webp}`` (attachments included), and simple inline HTML (``<br>``,
  ``<sub>``, ``<details>``, ...). The honest notebooks of the course come out byte for byte
  identical. Outputs: ``stream`` and ``error`` outputs (nbconvert escapes them; the grader's own
  verdict is a stream), ``text/plain``, ``image/png``, ``image/jpeg``, ``image/gif``,
  ``text/latex`` (escaped, then typeset by MathJax, which nbconvert's templates load with its ``Safe``
  extension: no ``javascript:`` in ``\\href``), and ``text/html`` / ``text/markdown`` /
  raw cells that pass the same allowlist.
* **neutralized, still readable**: a markdown cell (or ``text/markdown`` output) whose rendering has
  anything else -- ``<script>``, ``<style>``, ``<iframe>``/``<object>``/``<embed>``, ``<svg>``,
  ``<math>``, forms, comments, event handlers (``onerror=``, ``onload=``, ...), ``style``
  attributes, ``javascript:``/``data:`` links, mermaid blocks -- is replaced by its source as a
  fenced code block (plain text; a note says why), so the instructor sees exactly what was written
  and nothing runs. A ``text/html`` output or raw cell that fails is replaced by bleach's cleaned
  HTML, in which every disallowed tag is escaped into visible text and every disallowed attribute
  is dropped.
* **dropped**: every other output mimetype -- ``application/javascript``, widget views and state
  (``application/vnd.jupyter.widget-view+json`` and ``-state+json``), ``image/svg+xml`` (an SVG
  can carry script and event handlers), plotly/vega/bokeh/mermaid and any vendor type -- with a
  ``text/plain`` note when nothing else is left; output metadata except images' numeric
  width/height (``isolated``/``filenames`` make templates emit iframes and arbitrary URLs);
  attachments other than PNG/JPEG/GIF; notebook metadata other than ``kernelspec``,
  ``language_info`` and ``nbgrader`` (``widgets`` makes nbconvert load the widget manager and
  render its state); cell metadata other than ``nbgrader``, ``tags`` (plain names only),
  ``jupyter``'s hidden flags, ``collapsed``, ``scrolled``, ``editable``, ``deletable`` and a raw
  cell's ``raw_mimetype``; nbgrader's ``comment`` (the templates render it as markdown; instructors'
  comments live in the gradebook).

Code cell sources are left alone: every template highlights them with pygments (escaped text).
The result is validated with nbformat.
"""

from __future__ import annotations

import base64
import copy
import functools
import html
import re

import bleach
import nbformat
from bleach.css_sanitizer import CSSSanitizer
from bleach.sanitizer import BleachSanitizerFilter

__all__ = ["sanitize_notebook", "clean_html"]

#: Tags a learner's HTML (and nbconvert's rendering of markdown) may contain.
TAGS = frozenset({
    "a", "abbr", "acronym", "b", "blockquote", "br", "caption", "center", "code", "col", "colgroup", "dd",
    "del", "details", "div", "dl", "dt", "em", "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
    "input", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strike",
    "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul",
    "var",
})
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_PER_TAG = {
    "a": {"href"}, "img": {"src", "alt", "width", "height"}, "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"}, "col": {"span"}, "colgroup": {"span"}, "ol": {"start", "type"},
    "li": {"value"}, "input": {"type", "checked", "disabled"}, "font": {"color", "size"},
    "details": {"open"},
}
_EVERYWHERE = {"title", "align"}
_CLASSED = frozenset({"a", "code", "div", "input", "li", "pre", "span", "ul", "ol"})
#: What mistune writes for an aligned table column; no other inline style is kept.
_TABLE_STYLES = frozenset({"text-align:left", "text-align:right", "text-align:center"})
_LINK_PROTOCOLS = frozenset({"http", "https", "mailto"})
_IMAGE_DATA = ("data:image/png;", "data:image/jpeg;", "data:image/gif;", "data:image/webp;")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")

_OUTPUT_MIMETYPES_KEPT = ("text/plain", "image/png", "image/jpeg", "image/gif", "text/latex")
_IMAGE_MIMETYPES = ("image/png", "image/jpeg", "image/gif")
_CELL_METADATA_KEPT = ("collapsed", "scrolled", "editable", "deletable")
_NOTEBOOK_METADATA_KEPT = ("kernelspec", "language_info", "nbgrader")

_URI = BleachSanitizerFilter(source=iter(()))  # only for bleach's own URL check (sanitize_uri_value)
_CSS = CSSSanitizer(allowed_css_properties=["text-align"])


def _url_ok(tag: str, value: str) -> bool:
    # strip_files_prefix (applied by every template after markdown2html) turns "files/x" into "x":
    # "files/javascript:..." would become a script URL after any check, so such URLs are refused.
    if value.lstrip().startswith(("files/", "/files/")):
        return False
    if tag == "img" and value.strip().lower().startswith(_IMAGE_DATA):
        return True
    if _URI.sanitize_uri_value(value, _LINK_PROTOCOLS) is None:
        return False
    # bleach's check reads "javascript:1" as a relative path (its urlparse takes the 1 for a port) and
    # leaves "&colon;" undecoded (a browser decodes it): also refuse any scheme that is not allowed in
    # the URL decoded as the HTML standard does (html.unescape decodes at least what a browser does).
    normalized = re.sub(r"[`\x00-\x20\x7f-\xa0\s]+|[^\x00-\x7f]", "", html.unescape(value)).lower()
    head = re.split(r"[/?#]", normalized, maxsplit=1)[0]
    return ":" not in head or head.split(":", 1)[0] in _LINK_PROTOCOLS


def _attribute_ok(tag: str, name: str, value: str) -> bool:
    """The attribute policy (bleach calls it for every attribute of an allowlisted tag)."""
    name = name.lower()
    if name in ("href", "src"):
        return name in _PER_TAG.get(tag, ()) and _url_ok(tag, value)
    if name in _EVERYWHERE or name in _PER_TAG.get(tag, ()):
        return not (tag == "input" and name == "type" and value.strip().lower() != "checkbox")
    if name == "id":  # nbconvert's heading anchors
        return tag in _HEADINGS
    if name == "class":  # pygments, anchor links, task lists; a mermaid block would be run by mermaid.js
        return tag in _CLASSED and "mermaid" not in html.unescape(value).lower()
    if name == "style":
        return tag in ("td", "th") and value.strip().rstrip(";").replace(" ", "") in _TABLE_STYLES
    return False


def _cleaner(record=None, *, strip: bool, strip_comments: bool) -> bleach.Cleaner:
    def attributes(tag, name, value):
        ok = _attribute_ok(tag, name, value)
        if not ok and record is not None:
            record(f"{tag}[{name}]")
        return ok

    return bleach.Cleaner(tags=TAGS, attributes=attributes, protocols=_LINK_PROTOCOLS | {"data"}, strip=strip,
                          strip_comments=strip_comments, css_sanitizer=_CSS)


def clean_html(markup: str) -> str:
    """``markup`` with every disallowed tag escaped into visible text and every disallowed attribute dropped."""
    return _cleaner(strip=False, strip_comments=True).clean(str(markup))


def _html_is_inert(html: str) -> bool:
    """True when ``html`` holds only allowlisted tags and attributes (no comment either).

    A disallowed tag or a comment makes the escaping and the stripping cleaners disagree; a
    disallowed attribute (or URL) is recorded by the policy itself.
    """
    rejected: list[str] = []
    escaped = _cleaner(rejected.append, strip=False, strip_comments=False).clean(html)
    stripped = _cleaner(strip=True, strip_comments=True).clean(html)
    return not rejected and escaped == stripped


def _render_markdown(source: str, attachments: dict | None) -> str:
    """The HTML nbconvert's templates make of a markdown cell (``markdown2html | strip_files_prefix``)."""
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
    from nbconvert.filters.strings import strip_files_prefix

    renderer = IPythonRenderer(escape=False, attachments=attachments or {}, anchor_link_text="¶")
    return strip_files_prefix(MarkdownWithMath(renderer=renderer).render(source))


#: Work bounds. nbconvert's markdown parser is quadratic on some inputs (8 kB of "[[[...]]]" take
#: about a second) and bleach is superlinear on large HTML (200 kB: seconds, 1 MB: minutes): only
#: this much is rendered and checked; what is larger, or comes after the total, is made inert
#: without being looked at (markdown fenced as text, HTML dropped or escaped).
CHECK_MARKDOWN_CELL = 8_000
CHECK_MARKDOWN_TOTAL = 64_000
CHECK_HTML_ITEM = 50_000
CHECK_HTML_TOTAL = 200_000


class _Budget:
    def __init__(self):
        self.markdown = CHECK_MARKDOWN_TOTAL
        self.html = CHECK_HTML_TOTAL

    def take_markdown(self, n: int) -> bool:
        if n > CHECK_MARKDOWN_CELL or n > self.markdown:
            return False
        self.markdown -= n
        return True

    def take_html(self, n: int) -> bool:
        if n > CHECK_HTML_ITEM or n > self.html:
            return False
        self.html -= n
        return True


def _markdown_is_inert(source: str, attachments: dict | None = None) -> bool:
    if not attachments:
        return _text_markdown_is_inert(source)
    # An attachment's payload only ever lands inside an escaped data: URL (checked to be base64 by
    # _safe_attachments): a stand-in of the same names and types renders the same markup, cheaply.
    stand_in = {name: {m: "AAAA" for m in bundle} for name, bundle in attachments.items()}
    return _rendered_is_inert(source, stand_in)


@functools.lru_cache(maxsize=512)
def _text_markdown_is_inert(source: str) -> bool:
    """:func:`_markdown_is_inert` of a cell without attachments, remembered: every submission repeats
    the course's own markdown cells (a worker sanitizes a whole class), so each is checked once."""
    return _rendered_is_inert(source, {})


def _rendered_is_inert(source: str, stand_in: dict) -> bool:
    try:
        return _html_is_inert(_render_markdown(source, stand_in))
    except Exception:  # noqa: BLE001 - a missing attachment, a parser error: not known to be inert
        return False


def _as_text(value) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return value if isinstance(value, str) else str(value)


def _fenced(source: str, what: str, why: str) -> str:
    """``source`` as a fenced code block (shown as text by every renderer), under a note.

    The fence is longer than any run of backticks in ``source``, so nothing inside can close it.
    """
    longest = max((len(m) for m in re.findall(r"`+", source)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"*[The grader shows this {what} as plain text: {why}.]*\n\n{fence}text\n{source}\n{fence}"


_ACTIVE = "it contained HTML that could run in a browser (a script, an event handler, an embedded object or a script link)"


def _safe_markdown(source: str, attachments: dict | None, what: str, budget: _Budget) -> str:
    if not budget.take_markdown(len(source)):
        return _fenced(source, what, f"at {len(source):,} characters it was not checked")
    if _markdown_is_inert(source, attachments):
        return source
    return _fenced(source, what, _ACTIVE)


def _safe_html(markup: str, budget: _Budget) -> str | None:
    """``markup`` if it is inert, bleach's cleaned copy if not, None when it is too large to check."""
    if not budget.take_html(len(markup)):
        return None
    return markup if _html_is_inert(markup) else clean_html(markup)


def _safe_attachments(attachments) -> dict:
    out = {}
    if not isinstance(attachments, dict):
        return out
    for name, bundle in attachments.items():
        if not isinstance(name, str) or not isinstance(bundle, dict):
            continue
        kept = {}
        for mime in _IMAGE_MIMETYPES:
            if mime in bundle:
                data = _as_text(bundle[mime])
                try:
                    base64.b64decode("".join(data.split()), validate=True)
                except ValueError:
                    continue
                kept[mime] = data
        if kept:
            out[name] = kept
    return out


def _safe_cell_metadata(md, cell_type: str) -> dict:
    if not isinstance(md, dict):
        return {}
    out = {k: md[k] for k in _CELL_METADATA_KEPT if isinstance(md.get(k), (bool, str))}
    parts = {"nbgrader": _safe_nbgrader(md.get("nbgrader")), "tags": _safe_tags(md.get("tags")),
             "jupyter": _safe_jupyter(md.get("jupyter")),
             "raw_mimetype": _safe_raw_mimetype(md.get("raw_mimetype")) if cell_type == "raw" else None}
    out.update({k: v for k, v in parts.items() if v is not None})
    return out


def _safe_nbgrader(n) -> dict | None:
    """Plain nbgrader values (no comment), when the grade_id is a safe name; else None."""
    if not isinstance(n, dict):
        return None
    n = {k: v for k, v in n.items() if k != "comment" and (v is None or isinstance(v, (str, bool, int, float)))}
    gid = n.get("grade_id")
    return n if n and (gid is None or (isinstance(gid, str) and _SAFE_NAME.match(gid))) else None


def _safe_tags(tags) -> list | None:
    return [t for t in tags if isinstance(t, str) and _SAFE_NAME.match(t)] if isinstance(tags, list) else None


def _safe_jupyter(j) -> dict | None:
    if not isinstance(j, dict):
        return None
    j = {k: v for k, v in j.items() if k in ("source_hidden", "outputs_hidden") and isinstance(v, bool)}
    return j or None


def _safe_raw_mimetype(mimetype) -> str | None:
    return mimetype if isinstance(mimetype, str) and _SAFE_NAME.match(mimetype.replace("/", "")) else None


def _safe_output_metadata(md) -> dict:
    out = {}
    if not isinstance(md, dict):
        return out
    for mime in _IMAGE_MIMETYPES:
        m = md.get(mime)
        if isinstance(m, dict):
            dims = {k: m[k] for k in ("width", "height")
                    if isinstance(m.get(k), (int, float)) and not isinstance(m.get(k), bool)}
            if dims:
                out[mime] = dims
    return out


def _safe_output(output, budget: _Budget) -> dict:
    kind = output.get("output_type")
    if kind == "stream":
        return _node(output_type="stream", name="stderr" if output.get("name") == "stderr" else "stdout",
                     text=_as_text(output.get("text", "")))
    if kind == "error":
        tb = output.get("traceback", [])
        return _node(output_type="error", ename=_as_text(output.get("ename", "")),
                     evalue=_as_text(output.get("evalue", "")),
                     traceback=[_as_text(t) for t in tb] if isinstance(tb, list) else [])
    data = output.get("data") if isinstance(output.get("data"), dict) else {}
    kept, dropped = {}, []
    for mime, value in data.items():
        if mime in _OUTPUT_MIMETYPES_KEPT:
            kept[mime] = _as_text(value)
        elif mime == "text/html":
            markup = _safe_html(_as_text(value), budget)
            if markup is None:
                dropped.append(f"{mime} of {len(_as_text(value)):,} characters")
            else:
                kept[mime] = markup
        elif mime == "text/markdown":
            kept[mime] = _safe_markdown(_as_text(value), None, "markdown output", budget)
        else:
            dropped.append(mime)
    if dropped and "text/plain" not in kept:
        kept["text/plain"] = f"[output removed by the grader: {', '.join(sorted(dropped))[:200]}]"
    metadata = _safe_output_metadata(output.get("metadata"))
    if kind == "execute_result":
        count = output.get("execution_count")
        return _node(output_type="execute_result", data=kept, metadata=metadata,
                     execution_count=count if isinstance(count, int) else None)
    return _node(output_type="display_data", data=kept, metadata=metadata)


def _node(**fields) -> nbformat.NotebookNode:
    """A cell or output built from checked parts, not validated one by one (nbformat's ``new_*``
    validate each: most of the sanitizer's time); :func:`sanitize_notebook` validates the whole."""
    return nbformat.from_dict(fields)


def _safe_cell(cell, budget: _Budget):
    kind = cell.get("cell_type")
    metadata = _safe_cell_metadata(cell.get("metadata"), kind)
    source = _as_text(cell.get("source", ""))
    if kind == "code":
        count = cell.get("execution_count")
        new = _node(cell_type="code", metadata=metadata, source=source,
                    execution_count=count if isinstance(count, int) else None,
                    outputs=[_safe_output(o, budget) for o in cell.get("outputs", []) if isinstance(o, dict)])
    elif kind == "markdown":
        attachments = _safe_attachments(cell.get("attachments"))
        new = _node(cell_type="markdown", metadata=metadata,
                    source=_safe_markdown(source, attachments, "markdown cell", budget))
        if attachments:
            new.attachments = attachments
    else:  # raw: nbconvert's HTML templates emit it as HTML
        markup = _safe_html(source, budget)
        new = _node(cell_type="raw", metadata=metadata, source=html.escape(source) if markup is None else markup)
    if isinstance(cell.get("id"), str):
        new["id"] = cell["id"]
    return new


def _valid_cell(cell) -> bool:
    try:
        nbformat.v4.nbbase.validate(cell, f"{cell.get('cell_type')}_cell")
        return True
    except Exception:  # noqa: BLE001 - nbformat's ValidationError, or a cell type it does not know
        return False


def _neutral_cell(cell):
    """The last resort for a cell the sanitizer could not process: its type and grading metadata, no content."""
    metadata = _safe_cell_metadata(cell.get("metadata"), "markdown")
    new = nbformat.v4.new_markdown_cell("*[The grader removed this cell: it could not be shown safely.]*",
                                        metadata=metadata)
    if cell.get("cell_type") == "code":
        new = nbformat.v4.new_code_cell("# [The grader removed this cell: it could not be shown safely.]",
                                        metadata=metadata)
    if isinstance(cell.get("id"), str):
        new["id"] = cell["id"]
    return new


def sanitize_notebook(nb) -> nbformat.NotebookNode:
    """A copy of ``nb`` in which nothing the submission wrote can run in a browser (see the module docstring).

    Every cell is rebuilt from what is allowed, so anything not listed as kept is gone; the
    result is nbformat-valid. Never raises for a cell's content: a cell that cannot be processed
    is replaced by a note.
    """
    out = nbformat.v4.new_notebook()
    if isinstance(nb.get("metadata"), dict):
        for key in _NOTEBOOK_METADATA_KEPT:
            if isinstance(nb.metadata.get(key), dict):
                out.metadata[key] = copy.deepcopy(nb.metadata[key])
    budget = _Budget()
    for cell in nb.get("cells", []):
        if not isinstance(cell, dict):
            continue
        try:
            out.cells.append(_safe_cell(cell, budget))
        except Exception:  # noqa: BLE001 - never lose the grade over one cell's content
            out.cells.append(_neutral_cell(cell))
    seen = set()
    for cell in out.cells:  # ids: nbformat's pattern, unique (a notebook that skipped restore() may break either)
        cid = cell.get("id")
        if not isinstance(cid, str) or not re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", cid) or cid in seen:
            cid = f"c{len(seen)}"
            while cid in seen:
                cid += "x"
            cell["id"] = cid
        seen.add(cid)
    try:
        nbformat.validate(out)
    except Exception:  # noqa: BLE001 - not expected (every part is checked): neutralize the cells that fail
        out.cells = [c if _valid_cell(c) else _neutral_cell(c) for c in out.cells]
        try:
            nbformat.validate(out)
        except Exception:  # noqa: BLE001 - keep only the skeleton
            out.cells = [_neutral_cell(c) for c in out.cells]
            nbformat.validate(out)
    return nbformat.from_dict(out)
