"""Notebook surgery for grading: read what was submitted, restore what the student must not change,
score what the kernel printed, and strip what feedback must not show.

All functions here are pure (notebook in, notebook out) and run in the grader's processes, never
in the sandbox.

* :func:`read_submission` accepts any bytes: invalid JSON is refused with a reason; a notebook
  that parses but breaks the nbformat schema is rebuilt cell by cell when possible.
* :func:`build_master` is the instructor's notebook as nbgrader stores it in the gradebook at
  ``generate_assignment`` (solutions replaced by stubs, hidden tests kept, checksums computed).
* :func:`restore` rebuilds the submission on the master's skeleton: every locked/test cell comes
  back from the master by ``grade_id`` (deleted ones reinserted, duplicates dropped, edited ones
  overwritten), solution cells keep the student's code under the master's metadata, the
  student's own extra cells stay where they were, and the kernelspec is the master's.
* :func:`kernel_cell_scores` is nbgrader's ``determine_grade`` minus its two mistakes: output on
  stderr (a warning) does not fail a cell, and partial credit printed as ``np.float64(2.0)``
  (NumPy 2's repr) is read as 2.0 rather than as full credit.
* :func:`feedback_notebook` removes hidden-test code and shortens tracebacks of test cells, so
  that the feedback HTML shows what failed but not how it was tested.
"""

from __future__ import annotations

import ast
import copy
import json
import re
import uuid
import warnings

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell

__all__ = ["NotebookProblem", "read_submission", "build_master", "build_student_version", "restore",
           "solution_sources", "kernel_cell_scores", "parse_partial", "feedback_notebook",
           "render_feedback_html", "grade_cells", "Restored"]

MAX_NOTEBOOK_BYTES = 64 << 20
_NBGRADER_KEYS = ("grade", "solution", "locked", "task", "points", "grade_id")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ID_OK = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class NotebookProblem(ValueError):
    """A submission that cannot be read as a notebook at all."""


def _nbg(cell) -> dict | None:
    md = cell.get("metadata") if isinstance(cell, dict) else None
    n = md.get("nbgrader") if isinstance(md, dict) else None
    return n if isinstance(n, dict) else None


def _gid(cell) -> str | None:
    n = _nbg(cell)
    g = n.get("grade_id") if n else None
    return g if isinstance(g, str) and g else None


def _is(cell, key: str) -> bool:
    n = _nbg(cell)
    return bool(n and n.get(key))


def is_locked_kind(cell) -> bool:
    """A cell the student may not change: test (grade, not solution), locked, or task cells."""
    return (_is(cell, "grade") or _is(cell, "locked") or _is(cell, "task")) and not _is(cell, "solution")


# ---------------------------------------------------------------------------------------------
# Reading


def _salvage(raw: dict) -> nbformat.NotebookNode | None:
    """Rebuild a notebook from whatever cells still have a type and a source."""
    cells = raw.get("cells") if isinstance(raw, dict) else None
    if not isinstance(cells, list):
        worksheets = raw.get("worksheets") if isinstance(raw, dict) else None
        if isinstance(worksheets, list) and worksheets and isinstance(worksheets[0], dict):
            cells = worksheets[0].get("cells")
    if not isinstance(cells, list):
        return None
    nb = new_notebook()
    for c in cells:
        if not isinstance(c, dict):
            continue
        src = c.get("source", c.get("input", ""))
        if isinstance(src, list):
            src = "".join(s for s in src if isinstance(s, str))
        if not isinstance(src, str):
            continue
        md = c.get("metadata") if isinstance(c.get("metadata"), dict) else {}
        keep = {}
        if isinstance(md.get("nbgrader"), dict):
            keep["nbgrader"] = {k: v for k, v in md["nbgrader"].items() if isinstance(v, (str, bool, int, float))}
        kind = c.get("cell_type")
        if kind == "code":
            cell = new_code_cell(src, metadata=keep)
        elif kind == "markdown":
            cell = new_markdown_cell(src, metadata=keep)
        elif kind == "raw":
            cell = new_raw_cell(src, metadata=keep)
        else:
            continue
        nb.cells.append(cell)
    return nb if nb.cells else None


def read_submission(data: bytes) -> tuple[nbformat.NotebookNode, list[str]]:
    """Parse submitted bytes; return (notebook, notes). Notes name repairs (``malformed: ...``).

    Raises NotebookProblem when nothing usable can be recovered.
    """
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise NotebookProblem(f"the notebook file is larger than the {MAX_NOTEBOOK_BYTES >> 20} MiB allowed")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise NotebookProblem("the notebook file is not UTF-8 text") from None
    try:
        raw = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise NotebookProblem(f"the notebook file is not valid JSON ({str(exc)[:120]})") from None
    if not isinstance(raw, dict):
        raise NotebookProblem("the notebook file is JSON but not a notebook")
    notes = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # duplicate cell ids: restore() gives every cell a fresh unique id
            nb = nbformat.reads(text, as_version=4)
            nbformat.validate(nb)
    except Exception as exc:  # noqa: BLE001 - any schema problem: try to rebuild
        nb = _salvage(raw)
        if nb is None:
            raise NotebookProblem(f"the notebook file does not follow the notebook format ({str(exc)[:160]})") from None
        notes.append(f"malformed: the notebook did not follow the notebook format and was rebuilt from its cells "
                     f"({str(exc).splitlines()[0][:160]})")
    return nb, notes


# ---------------------------------------------------------------------------------------------
# Master and student versions (what nbgrader generate_assignment produces)


def build_master(source: nbformat.NotebookNode, config=None) -> nbformat.NotebookNode:
    """The source notebook as nbgrader saves it in the gradebook: stubs, hidden tests, checksums."""
    from nbgrader.preprocessors import ClearOutput, ClearSolutions, ComputeChecksums, LockCells

    nb = copy.deepcopy(source)
    resources = {}
    for pp in (LockCells, ClearSolutions, ClearOutput, ComputeChecksums):
        nb, resources = pp(config=config).preprocess(nb, resources)
    return nb


def build_student_version(master: nbformat.NotebookNode, config=None) -> nbformat.NotebookNode:
    """What the student receives (``notebooks/``): the master without hidden tests, re-checksummed."""
    from nbgrader.preprocessors import ClearHiddenTests, ComputeChecksums

    nb = copy.deepcopy(master)
    resources = {}
    for pp in (ClearHiddenTests, ComputeChecksums):
        nb, resources = pp(config=config).preprocess(nb, resources)
    return nb


def grade_cells(master) -> list[dict]:
    """[{grade_id, points, kind}] of the master's grade cells, in order (kind: test | manual)."""
    out = []
    for cell in master.cells:
        if _is(cell, "grade") and _gid(cell):
            kind = "test" if cell.cell_type == "code" and not _is(cell, "solution") else "manual"
            out.append({"grade_id": _gid(cell), "points": float(_nbg(cell).get("points", 0) or 0), "kind": kind})
    return out


# ---------------------------------------------------------------------------------------------
# Restoring


class Restored:
    """The notebook to grade, and what had to be repaired to get it."""

    def __init__(self, nb, notes):
        self.nb = nb
        self.notes = notes

    @property
    def restored(self) -> bool:
        return bool(self.notes)


def _fresh_from_master(mcell):
    cell = copy.deepcopy(mcell)
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None
    return cell


def _nbgrader_view(cell) -> dict:
    n = _nbg(cell) or {}
    return {k: n.get(k) for k in _NBGRADER_KEYS if k in n}


def restore(submitted: nbformat.NotebookNode, master: nbformat.NotebookNode,
            released: nbformat.NotebookNode | None = None) -> Restored:
    """Rebuild ``submitted`` on the skeleton of ``master`` (see the module docstring).

    released: the student version; a locked cell counts as edited when its source matches
    neither the released nor the master version.
    """
    notes: list[str] = []
    mcells = {_gid(c): c for c in master.cells if _gid(c)}
    shipped = {_gid(c): c.source for c in (released.cells if released is not None else []) if _gid(c)}
    order = [g for g in (_gid(c) for c in master.cells) if g]
    taken: dict[str, object] = {}
    after: dict[str | None, list] = {None: []}
    anchor = None
    for cell in submitted.cells:
        gid = _gid(cell)
        if gid is not None and gid in mcells:
            m = mcells[gid]
            if gid in taken:
                if is_locked_kind(m):
                    notes.append(f"a duplicate of cell {gid!r} was removed")
                    continue
                notes.append(f"a duplicate of solution cell {gid!r} was kept as an ordinary cell (not graded)")
                cell = copy.deepcopy(cell)
                cell.metadata.pop("nbgrader", None)
                after.setdefault(anchor, []).append(cell)
                continue
            if is_locked_kind(m):
                if (cell.get("cell_type") != m.cell_type
                        or cell.get("source") not in (m.source, shipped.get(gid, m.source))
                        or _nbgrader_view(cell) != _nbgrader_view(m)):
                    notes.append(f"cell {gid!r} had been edited and was restored")
                taken[gid] = _fresh_from_master(m)
            else:  # a solution cell: the student's code, the master's type and metadata
                if _nbgrader_view(cell) != _nbgrader_view(m):
                    notes.append(f"the nbgrader metadata of cell {gid!r} had been edited and was restored")
                if cell.get("cell_type") != m.cell_type:
                    notes.append(f"cell {gid!r} had its type changed and was restored to {m.cell_type}")
                fresh = _fresh_from_master(m)
                fresh.source = cell.get("source", "") if isinstance(cell.get("source", ""), str) else ""
                taken[gid] = fresh
            anchor = gid
            after.setdefault(anchor, [])
        else:
            cell = copy.deepcopy(cell)
            if gid is not None or "nbgrader" in cell.get("metadata", {}):
                if gid is not None:
                    notes.append(f"cell {gid!r} is not part of the assignment; its nbgrader metadata was removed")
                cell.metadata.pop("nbgrader", None)
            if cell.get("cell_type") == "code":
                cell.outputs = []
                cell.execution_count = None
            after.setdefault(anchor, []).append(cell)
    # Skeleton in the master's order; the student's own cells follow the cell they followed. A
    # missing cell goes right after the skeleton cell before it (a test right after its solution).
    cells = list(after[None])
    pending: list = []
    for gid in order:
        if gid in taken:
            cells.extend(pending)
            cells.append(taken[gid])
            pending = list(after.get(gid, []))
        else:
            m = mcells[gid]
            what = "solution cell" if _is(m, "solution") else "cell"
            notes.append(f"{what} {gid!r} was missing and was put back")
            cells.append(_fresh_from_master(m))
    cells.extend(pending)
    nb = new_notebook(cells=cells, metadata=copy.deepcopy(submitted.get("metadata", {})))
    for key in ("kernelspec", "language_info"):
        if key in master.metadata:
            nb.metadata[key] = copy.deepcopy(master.metadata[key])
        else:
            nb.metadata.pop(key, None)
    seen = set()
    for cell in nb.cells:
        cid = cell.get("id")
        if not isinstance(cid, str) or not _ID_OK.match(cid) or cid in seen:
            cid = uuid.uuid4().hex[:8]
            while cid in seen:
                cid = uuid.uuid4().hex[:8]
            cell["id"] = cid
        seen.add(cid)
    nbformat.validate(nb)
    return Restored(nb, notes)


def solution_sources(nb) -> list[str]:
    """The code of the solution cells (master metadata), in notebook order."""
    return [c.source for c in nb.cells if c.cell_type == "code" and _is(c, "solution")]


_DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def definitions_only(source: str) -> bool:
    """True for code that only imports and defines: functions, classes, constants, docstrings.

    Such a cell can be re-run by the verifier without running a learner's experiments.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    if not tree.body:
        return False
    for node in tree.body:
        if isinstance(node, _DEFINITIONS):
            continue
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None \
                and not any(isinstance(n, (ast.Call, ast.Lambda, ast.Await)) for n in ast.walk(node.value)):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue
        return False
    return True


def verifier_sources(nb, master) -> list[str]:
    """What the verifier re-runs: the solution cells and the learner's own helper cells.

    A learner may put a helper function in a cell of their own; leaving it out would score an
    honest answer 0. Cells that are not solution cells are taken only when they are the
    learner's (not a cell of the master, verbatim) and hold nothing but definitions.
    """
    shipped = {c.source for c in master.cells if c.cell_type == "code"}
    out = []
    for c in nb.cells:
        if c.cell_type != "code":
            continue
        if _is(c, "solution"):
            out.append(c.source)
        elif not _nbg(c) and c.source not in shipped and definitions_only(c.source):
            out.append(c.source)
    return out


# ---------------------------------------------------------------------------------------------
# In-kernel scores


_REPR_NUMBER = re.compile(r"^\s*(?:np|numpy)\.(?:float|int|uint)(?:16|32|64|128)?\((.*)\)\s*$")


def parse_partial(text) -> float | None:
    """The number a test cell returned as partial credit, or None if it is not a number.

    Reads ``2.0``, ``'2.0'`` and NumPy 2's ``np.float64(2.0)`` / ``np.int64(2)``.
    """
    if isinstance(text, list):
        if len(text) != 1:
            return None
        text = text[0]
    if not isinstance(text, str):
        return None
    s = text.strip()
    m = _REPR_NUMBER.match(s)
    if m:
        s = m.group(1).strip()
    try:
        return float(s)
    except ValueError:
        return None


def kernel_cell_scores(nb, executed: set[int] | None = None) -> dict[str, dict]:
    """{grade_id: {score, points, note}} for the test cells of an executed notebook.

    A test cell fails on an error output only (stderr is not an error); a numeric result is
    partial credit, clipped to [0, points]; a cell that never ran scores 0.
    """
    out = {}
    for index, cell in enumerate(nb.cells):
        if not (_is(cell, "grade") and _gid(cell)) or cell.cell_type != "code" or _is(cell, "solution"):
            continue
        points = float(_nbg(cell).get("points", 0) or 0)
        gid = _gid(cell)
        if executed is not None and index not in executed:
            out[gid] = {"score": 0.0, "points": points, "note": "not run"}
            continue
        outputs = cell.get("outputs", [])
        errors = [o for o in outputs if o.get("output_type") == "error"]
        if errors:
            e = errors[0]
            out[gid] = {"score": 0.0, "points": points,
                        "note": f"{e.get('ename', 'Error')}: {_ANSI.sub('', str(e.get('evalue', '')))}"[:300]}
            continue
        score = points
        for o in outputs:
            if o.get("output_type") == "execute_result":
                value = parse_partial(o.get("data", {}).get("text/plain"))
                if value is not None:
                    score = min(max(value, 0.0), points)
                break
        out[gid] = {"score": float(score), "points": points, "note": ""}
    return out


# ---------------------------------------------------------------------------------------------
# Feedback


def strip_hidden(source: str, begin: str = "BEGIN HIDDEN TESTS", end: str = "END HIDDEN TESTS") -> str:
    """Replace every hidden-test region (delimiter lines included) by one comment line."""
    lines, out, inside = source.splitlines(), [], False
    for line in lines:
        if begin in line:
            if not inside:
                out.append("# (hidden tests are not shown)")
            inside = True
            continue
        if end in line:
            inside = False
            continue
        if not inside:
            out.append(line)
    return "\n".join(out)


#: The learner's own markdown, as rendered in feedback: nbconvert's markdown parser is quadratic on
#: some inputs (160 kB of nested brackets take minutes), so each cell is cut at this many characters
#: and the cells after this total are left out. Bounds the work in every thread (the Dask path
#: cannot use the SIGALRM deadline) to seconds; the notebook itself and the grade are untouched.
FEEDBACK_MARKDOWN_CELL = 8_000
FEEDBACK_MARKDOWN_TOTAL = 64_000


def _bound_learner_markdown(fb) -> None:
    total = 0
    for cell in fb.cells:
        if cell.cell_type != "markdown" or is_locked_kind(cell):
            continue
        src = cell.get("source", "")
        if total >= FEEDBACK_MARKDOWN_TOTAL:
            cell.source = f"*[your markdown cell of {len(src):,} characters is left out of this feedback]*"
            cell.pop("attachments", None)
        elif len(src) > FEEDBACK_MARKDOWN_CELL:
            cell.source = (src[:FEEDBACK_MARKDOWN_CELL]
                           + f"\n\n*[cut here in this feedback: the cell has {len(src):,} characters]*")
        total += min(len(src), FEEDBACK_MARKDOWN_CELL)


def feedback_notebook(nb, summary_markdown: str | None, scores: dict[str, float] | None = None,
                      begin: str = "BEGIN HIDDEN TESTS", end: str = "END HIDDEN TESTS") -> nbformat.NotebookNode:
    """A copy of the autograded notebook that is safe to return to the student."""
    fb = copy.deepcopy(nb)
    _bound_learner_markdown(fb)
    for cell in fb.cells:
        src = cell.get("source", "")
        if begin in src or end in src:
            cell.source = strip_hidden(src, begin, end)
        if cell.cell_type != "code":
            continue
        locked = is_locked_kind(cell)
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error" and locked:
                ename = _ANSI.sub("", str(o.get("ename", "Error")))
                evalue = _ANSI.sub("", str(o.get("evalue", "")))
                o["ename"], o["evalue"] = ename, evalue
                o["traceback"] = [f"{ename}: {evalue}"]
        if _is(cell, "grade") and scores is not None and _gid(cell) in scores:
            cell.metadata["nbgrader"]["score"] = scores[_gid(cell)]
        elif _is(cell, "grade") or _is(cell, "task"):
            cell.metadata["nbgrader"].setdefault("score", None)
    if summary_markdown:
        fb.cells.insert(0, new_markdown_cell(summary_markdown, metadata={}))
    return fb


def render_feedback_html(nb, *, notebook_name: str, score: float, max_score: float) -> str:
    """HTML in nbgrader's feedback template (per-cell scores read from the cells' nbgrader metadata)."""
    import os

    import nbgrader
    from nbconvert.exporters import HTMLExporter
    from traitlets.config import Config

    base = os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader")
    c = Config()
    c.HTMLExporter.template_name = "feedback"
    c.HTMLExporter.extra_template_basedirs = [os.path.join(base, "templates")]
    c.HTMLExporter.extra_template_paths = [os.path.join(base, "static", "node_modules", "bootstrap", "dist", "css")]
    c.HTMLExporter.preprocessors = ["nbconvert.preprocessors.CSSHTMLHeaderPreprocessor"]
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        n = _nbg(cell)
        if n is not None and (n.get("grade") or n.get("task")):
            n.setdefault("points", 0)
            if n.get("score") is None:
                n["score"] = 0.0
    exporter = HTMLExporter(config=c)
    resources = {"nbgrader": {"notebook": notebook_name, "score": score, "max_score": max_score, "late_penalty": 0}}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return body


def error_output(ename: str, evalue: str):
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])
