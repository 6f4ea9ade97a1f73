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
import dataclasses
import json
import re
import uuid
import warnings

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

__all__ = ["NotebookProblem", "read_submission", "build_master", "build_student_version", "restore",
           "solution_sources", "kernel_cell_scores", "parse_partial", "feedback_notebook",
           "render_feedback_html", "grade_cells", "Restored", "nbgrader_metadata", "grade_id_of", "cell_is",
           "is_locked_kind", "solution_grade_ids", "unchanged_solutions", "solution_cell_of", "verifier_sources",
           "verifier_plan", "plan_cells", "names_not_run", "python_source", "definitions_only", "strip_hidden"]

MAX_NOTEBOOK_BYTES = 64 << 20
_NBGRADER_KEYS = ("grade", "solution", "locked", "task", "points", "grade_id")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ID_OK = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class NotebookProblem(ValueError):
    """A submission that cannot be read as a notebook at all."""


def nbgrader_metadata(cell) -> dict | None:
    """The cell's ``metadata.nbgrader`` dict, or None."""
    md = cell.get("metadata") if isinstance(cell, dict) else None
    n = md.get("nbgrader") if isinstance(md, dict) else None
    return n if isinstance(n, dict) else None


def grade_id_of(cell) -> str | None:
    """The cell's nbgrader ``grade_id`` (a non-empty string), or None."""
    n = nbgrader_metadata(cell)
    g = n.get("grade_id") if n else None
    return g if isinstance(g, str) and g else None


def cell_is(cell, key: str) -> bool:
    """True when the cell's nbgrader metadata sets ``key`` (``grade``, ``solution``, ``locked``, ``task``)."""
    n = nbgrader_metadata(cell)
    return bool(n and n.get(key))


def is_locked_kind(cell) -> bool:
    """A cell the student may not change: test (grade, not solution), locked, or task cells."""
    return (cell_is(cell, "grade") or cell_is(cell, "locked") or cell_is(cell, "task")) and not cell_is(cell, "solution")


# ---------------------------------------------------------------------------------------------
# Reading


def _raw_cells(raw) -> list | None:
    """The list of cells of a parsed notebook file (nbformat 4, or the first worksheet of nbformat 3)."""
    cells = raw.get("cells") if isinstance(raw, dict) else None
    if not isinstance(cells, list):
        worksheets = raw.get("worksheets") if isinstance(raw, dict) else None
        if isinstance(worksheets, list) and worksheets and isinstance(worksheets[0], dict):
            cells = worksheets[0].get("cells")
    return cells if isinstance(cells, list) else None


_NEW_CELL = {"code": new_code_cell, "markdown": new_markdown_cell, "raw": new_raw_cell}


def _salvaged_cell(c):
    """A fresh cell with ``c``'s type, source and plain nbgrader metadata, or None when it has no type or source."""
    if not isinstance(c, dict) or not isinstance(c.get("cell_type"), str) or c["cell_type"] not in _NEW_CELL:
        return None
    src = c.get("source", c.get("input", ""))
    if isinstance(src, list):
        src = "".join(s for s in src if isinstance(s, str))
    if not isinstance(src, str):
        return None
    md = c.get("metadata") if isinstance(c.get("metadata"), dict) else {}
    keep = {}
    if isinstance(md.get("nbgrader"), dict):
        keep["nbgrader"] = {k: v for k, v in md["nbgrader"].items() if isinstance(v, (str, bool, int, float))}
    return _NEW_CELL[c["cell_type"]](src, metadata=keep)


def _salvage(raw: dict) -> nbformat.NotebookNode | None:
    """Rebuild a notebook from whatever cells still have a type and a source."""
    cells = _raw_cells(raw)
    if cells is None:
        return None
    nb = new_notebook()
    nb.cells = [cell for cell in map(_salvaged_cell, cells) if cell is not None]
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
        if cell_is(cell, "grade") and grade_id_of(cell):
            kind = "test" if cell.cell_type == "code" and not cell_is(cell, "solution") else "manual"
            out.append({"grade_id": grade_id_of(cell), "points": float(nbgrader_metadata(cell).get("points", 0) or 0), "kind": kind})
    return out


def solution_grade_ids(master) -> list[str]:
    """grade_ids of the master's solution cells, in order."""
    return [grade_id_of(c) for c in master.cells if cell_is(c, "solution") and grade_id_of(c)]


def solution_cell_of(master) -> dict[str, str]:
    """grade_id of a test cell -> grade_id of the nearest solution cell before it."""
    out, last = {}, None
    for cell in master.cells:
        if cell_is(cell, "solution") and grade_id_of(cell):
            last = grade_id_of(cell)
        elif cell_is(cell, "grade") and grade_id_of(cell):
            out[grade_id_of(cell)] = last
    return out


def unchanged_solutions(nb, master) -> list[str]:
    """grade_ids of solution cells the student left exactly as released (nbgrader's "No response.")."""
    from nbgrader.utils import compute_checksum

    checksums = {grade_id_of(c): nbgrader_metadata(c).get("checksum") for c in master.cells
                 if cell_is(c, "solution") and grade_id_of(c)}
    same = []
    for cell in nb.cells:
        gid = grade_id_of(cell)
        if gid in checksums and checksums[gid]:
            try:
                if compute_checksum(cell) == checksums[gid]:
                    same.append(gid)
            except Exception:  # noqa: BLE001
                pass
    return same


# ---------------------------------------------------------------------------------------------
# Restoring


class Restored:
    """The notebook to grade, and what had to be repaired to get it."""

    def __init__(self, nb, notes, info=()):
        self.nb = nb
        self.notes = notes      # what was repaired: the submission is flagged missing-cells-restored
        self.info = list(info)  # worth saying, not a repair (points from an older release)

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
    """The nbgrader metadata that makes a cell what it is. Not ``points``: a submission made before
    the instructor changed an exercise's points carries the old ones, which is not an edit, and the
    points a submission carries count nowhere (the restored cell, and the score, take the source's)."""
    n = nbgrader_metadata(cell) or {}
    return {k: n.get(k) for k in _NBGRADER_KEYS if k in n and k != "points"}


def restore(submitted: nbformat.NotebookNode, master: nbformat.NotebookNode,
            released: nbformat.NotebookNode | None = None) -> Restored:
    """Rebuild ``submitted`` on the skeleton of ``master`` (see the module docstring).

    released: the student version, possibly followed by cells of earlier releases with the same grade_ids;
    a locked cell counts as edited when its source matches none of them, nor the master version.
    """
    notes: list[str] = []
    mcells = {grade_id_of(c): c for c in master.cells if grade_id_of(c)}
    shipped: dict[str, set] = {}
    for c in released.cells if released is not None else []:
        if grade_id_of(c) and isinstance(c.get("source"), str):
            shipped.setdefault(grade_id_of(c), set()).add(c.source)
    taken, after = _sort_submitted(submitted, mcells, shipped, notes)
    order = [g for g in (grade_id_of(c) for c in master.cells) if g]
    nb = new_notebook(cells=_assemble(order, mcells, taken, after, notes),
                      metadata=copy.deepcopy(submitted.get("metadata", {})))
    for key in ("kernelspec", "language_info"):
        if key in master.metadata:
            nb.metadata[key] = copy.deepcopy(master.metadata[key])
        else:
            nb.metadata.pop(key, None)
    _unique_ids(nb)
    nbformat.validate(nb)
    return Restored(nb, notes, _other_points(submitted, mcells))


def _other_points(submitted, mcells: dict) -> list[str]:
    """A note per graded cell whose points differ from the source's (see :func:`_nbgrader_view`)."""
    info, seen = [], set()
    for cell in submitted.cells:
        gid = grade_id_of(cell)
        if gid in mcells and gid not in seen:
            seen.add(gid)
            theirs, ours = (nbgrader_metadata(cell) or {}).get("points"), nbgrader_metadata(mcells[gid]).get("points")
            if theirs is not None and theirs != ours:
                info.append(f"cell {gid!r} carries {str(theirs)[:20]} points, the source {ours}: the source's count "
                            "(a notebook released before the points changed, or an edit that gains nothing)")
    return info


def _sort_submitted(submitted, mcells: dict, shipped: dict, notes: list) -> tuple[dict, dict]:
    """(grade_id -> the cell to grade, for the master's cells found in ``submitted``; grade_id of the
    skeleton cell before them, None at the start -> the student's own cells, in order)."""
    taken: dict[str, object] = {}
    after: dict[str | None, list] = {None: []}
    anchor = None
    for cell in submitted.cells:
        gid = grade_id_of(cell)
        if gid is None or gid not in mcells:
            after.setdefault(anchor, []).append(_own_cell(cell, gid, notes))
        elif gid in taken:
            duplicate = _duplicate(cell, mcells[gid], gid, notes)
            if duplicate is not None:
                after.setdefault(anchor, []).append(duplicate)
        else:
            taken[gid] = _from_master(cell, mcells[gid], gid, shipped, notes)
            anchor = gid
            after.setdefault(anchor, [])
    return taken, after


def _own_cell(cell, gid, notes: list):
    """A cell of the student's own: kept, without nbgrader metadata or outputs."""
    cell = copy.deepcopy(cell)
    if gid is not None or "nbgrader" in cell.get("metadata", {}):
        if gid is not None:
            notes.append(f"cell {gid!r} is not part of the assignment; its nbgrader metadata was removed")
        cell.metadata.pop("nbgrader", None)
    if cell.get("cell_type") == "code":
        cell.outputs = []
        cell.execution_count = None
    return cell


def _duplicate(cell, m, gid: str, notes: list):
    """A second copy of the master's cell ``gid``: dropped when locked, else kept as an ordinary cell."""
    if is_locked_kind(m):
        notes.append(f"a duplicate of cell {gid!r} was removed")
        return None
    notes.append(f"a duplicate of solution cell {gid!r} was kept as an ordinary cell (not graded)")
    cell = copy.deepcopy(cell)
    cell.metadata.pop("nbgrader", None)
    return cell


def _from_master(cell, m, gid: str, shipped: dict, notes: list):
    """The cell to grade for the master's cell ``m``: the master's own when locked, else (a solution
    cell) the student's code under the master's type and metadata."""
    if is_locked_kind(m):
        if (cell.get("cell_type") != m.cell_type
                or (cell.get("source") != m.source
                    and (not isinstance(cell.get("source"), str) or cell.get("source") not in shipped.get(gid, ())))
                or _nbgrader_view(cell) != _nbgrader_view(m)):
            notes.append(f"cell {gid!r} had been edited and was restored")
        return _fresh_from_master(m)
    if _nbgrader_view(cell) != _nbgrader_view(m):
        notes.append(f"the nbgrader metadata of cell {gid!r} had been edited and was restored")
    if cell.get("cell_type") != m.cell_type:
        notes.append(f"cell {gid!r} had its type changed and was restored to {m.cell_type}")
    fresh = _fresh_from_master(m)
    fresh.source = cell.get("source", "") if isinstance(cell.get("source", ""), str) else ""
    return fresh


def _assemble(order: list, mcells: dict, taken: dict, after: dict, notes: list) -> list:
    """Skeleton in the master's order; the student's own cells follow the cell they followed. A
    missing cell goes right after the skeleton cell before it (a test right after its solution)."""
    cells = list(after[None])
    pending: list = []
    for gid in order:
        if gid in taken:
            cells.extend(pending)
            cells.append(taken[gid])
            pending = list(after.get(gid, []))
        else:
            m = mcells[gid]
            what = "solution cell" if cell_is(m, "solution") else "cell"
            notes.append(f"{what} {gid!r} was missing and was put back")
            cells.append(_fresh_from_master(m))
    cells.extend(pending)
    return cells


def _unique_ids(nb) -> None:
    """Give every cell a valid id, unique in the notebook (a fresh one where it is missing, invalid or taken)."""
    seen = set()
    for cell in nb.cells:
        cid = cell.get("id")
        if not isinstance(cid, str) or not _ID_OK.match(cid) or cid in seen:
            cid = uuid.uuid4().hex[:8]
            while cid in seen:
                cid = uuid.uuid4().hex[:8]
            cell["id"] = cid
        seen.add(cid)


def solution_sources(nb) -> list[str]:
    """The code of the solution cells (master metadata), in notebook order."""
    return [c.source for c in nb.cells if c.cell_type == "code" and cell_is(c, "solution")]


_DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def definitions_only(source: str) -> bool:
    """True for code that only imports and defines: functions, classes, constants, docstrings.

    The verifier's former rule, whole cells or nothing (one ``print`` beside a helper lost it). It
    now keeps statements, not cells: see :func:`verifier_plan`; this strict test stays for callers.
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
    """What the verifier re-runs, one string per cell, in notebook order: see :func:`verifier_plan`."""
    return verifier_plan(nb, master).sources


# ---------------------------------------------------------------------------------------------
# What the verifier re-runs
#
# The verifier re-runs a submission's code in a fresh sandbox and must (a) give an honest learner
# the helpers their functions use, wherever they wrote them, and (b) never re-run the notebook's
# experiments (training runs, sweeps, plots, widgets): they are what make a notebook take seconds,
# and the verifier has to stay a fraction of a second per submission. Running whole cells with a
# time budget (and stubbed plotting) would do (a) but not (b); running only cells made of nothing
# but definitions did (b) but not (a): one `print` in a helper cell cost the learner the points
# of every function using it, and got them marked tamper-suspected. So the rule works statement
# by statement, on the syntax alone (deterministic, reproducible from the notebook, no learner
# code runs in the grader), and keeps what *defines* something and is cheap to run. The names a
# statement binds are tracked along the notebook, so that a kept statement never reads a name
# the verifier does not have (it would fail and take the rest of its cell with it), and only what
# the solution cells need is kept (so a plotting import costs nothing unless a graded function
# plots).

#: Calls an assignment (or a decorator, a default value, a class body) may make and still count as
#: defining a constant rather than running an experiment: constructors and cheap functions of the
#: standard library and NumPy, by qualified name (``np.zeros`` is ``numpy.zeros`` whatever the alias).
CHEAP_CALLS = frozenset(
    {f"builtins.{n}" for n in (
        "abs all any bool bytes chr complex dict divmod enumerate float format frozenset hex int isinstance "
        "issubclass len list max min object oct ord pow range repr reversed round set slice sorted str sum tuple "
        "zip staticmethod classmethod property").split()}
    | {f"numpy.{n}" for n in (
        "array asarray asanyarray ascontiguousarray zeros ones full empty eye identity diag diagflat linspace "
        "logspace geomspace arange zeros_like ones_like full_like empty_like float64 float32 float16 int64 int32 "
        "int16 int8 uint8 bool_ complex128 dtype finfo iinfo sqrt exp log log2 log10 log1p expm1 abs absolute "
        "sign floor ceil round clip minimum maximum sin cos tan tanh arcsin arccos arctan arctan2 sinh cosh hypot "
        "power square reciprocal stack vstack hstack concatenate outer reshape transpose atleast_1d atleast_2d "
        "meshgrid isfinite isnan isinf vectorize random.default_rng").split()}
    | {f"functools.{n}" for n in "partial partialmethod lru_cache cache wraps total_ordering cached_property".split()}
    | {f"collections.{n}" for n in "namedtuple OrderedDict defaultdict deque Counter".split()}
    | {f"itertools.{n}" for n in "product combinations permutations chain repeat islice".split()}
    | {"dataclasses.dataclass", "dataclasses.field", "fractions.Fraction", "decimal.Decimal", "operator.itemgetter",
       "operator.attrgetter", "abc.abstractmethod", "typing.NamedTuple", "typing.TypeVar", "typing.overload",
       "enum.auto"})
#: Modules every function of which is cheap.
CHEAP_MODULES = frozenset({"math", "cmath"})
#: ``name.method(...)`` statements kept when ``name`` is a value the kept code defined (a dict or list of
#: settings being filled in): a change the functions would see in the kernel.
MUTATORS = frozenset("append extend insert update setdefault add discard remove pop clear sort reverse".split())
#: Methods that do not change their object: calling them in a statement the verifier skips leaves the object
#: as the kept code made it (any other method might have changed it).
_READ_ONLY_METHODS = frozenset(
    "items keys values get copy count index tolist format sum mean std var min max round reshape astype ravel "
    "flatten transpose dot any all argmax argmin cumsum prod startswith endswith split join upper lower strip "
    "replace __repr__ __str__".split())
_KEY_CALLERS = frozenset({"builtins.sorted", "builtins.min", "builtins.max"})
#: ``%%time`` and ``%%capture`` run their cell as it is (timed, or with its output captured).
_TRANSPARENT_CELL_MAGIC = re.compile(r"\A[ \t]*%%(?:time|capture)\b[^\n]*(?:\n|\Z)")
_NAME_ERROR = re.compile(r"NameError: name '([A-Za-z_][A-Za-z0-9_]*)' is not defined")


def python_source(source) -> str | None:
    """A cell's code as plain Python, or None when it is not Python even for IPython.

    Code that parses is returned as it is. Otherwise IPython's own input transformation turns
    ``%magic`` lines, ``!shell`` commands, ``obj?`` help and ``%%cell_magic`` cells into the calls
    IPython makes (``get_ipython().run_line_magic(...)``, ...), so that a ``%matplotlib inline``
    line no longer makes the whole cell a syntax error. A first line ``%%time`` or ``%%capture``
    is dropped (IPython runs the rest of the cell as usual).
    """
    if not isinstance(source, str):
        return None
    m = _TRANSPARENT_CELL_MAGIC.match(source)
    if m:
        source = "\n" + source[m.end():]  # the same line numbers
    try:
        ast.parse(source)
        return source
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        pass
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        text = TransformerManager().transform_cell(source)
        ast.parse(text)
        return text
    except Exception:  # noqa: BLE001 - not Python, whatever the reason
        return None


def _calls_get_ipython(node) -> bool:
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "get_ipython"
               for n in ast.walk(node))


def _solution_for_verifier(source: str) -> str:
    """A solution cell as the verifier runs it: whole, as written. Only when IPython syntax (a
    ``%matplotlib inline`` line) makes it invalid Python, it is transformed as IPython does and its
    top-level IPython-only statements become ``pass`` (there is no IPython in the verifier)."""
    text = python_source(source)
    if text is None or text == source:
        return source
    try:
        tree = ast.parse(text)
        if not any(_calls_get_ipython(s) for s in tree.body if not isinstance(s, _SCOPES)):
            return text
        tree.body = [ast.Pass() if not isinstance(s, _SCOPES) and _calls_get_ipython(s) else s for s in tree.body]
        return ast.unparse(ast.fix_missing_locations(tree))
    except (SyntaxError, ValueError, RecursionError):
        return text


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _alias_name(alias) -> str:
    return alias.asname or alias.name.split(".")[0]


def _now(node):
    """The nodes of ``node`` that are evaluated when it runs: not the bodies of functions and lambdas
    it defines (those run when they are called), but their decorators, defaults and annotations."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            a = n.args
            stack += a.defaults + [d for d in a.kw_defaults if d is not None]
            if not isinstance(n, ast.Lambda):
                stack += n.decorator_list + [x.annotation for x in a.posonlyargs + a.args + a.kwonlyargs
                                             + [a.vararg, a.kwarg] if x is not None and x.annotation is not None]
                stack += [n.returns] if n.returns is not None else []
        else:
            stack += list(ast.iter_child_nodes(n))


def _stores(node) -> set:
    """Names ``node`` binds (or deletes) in the scope it runs in."""
    out = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, _SCOPES):
            out.add(n.name)
            continue
        if isinstance(n, (ast.Import, ast.ImportFrom)):
            out |= {_alias_name(a) for a in n.names if a.name != "*"}
            continue
        if isinstance(n, (ast.Lambda, *_COMPREHENSIONS)):
            continue
        if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
            out.add(n.id)
        elif isinstance(n, ast.ExceptHandler) and n.name:
            out.add(n.name)
        stack += list(ast.iter_child_nodes(n))
    return out


def _loads_now(node, skip_annotations: bool = False) -> set:
    """Names read when ``node`` runs (a class body's own names excluded)."""
    if isinstance(node, ast.ClassDef):
        return _class_loads(node, skip_annotations)
    loads, bound_inside = set(), set()
    annotations = _annotation_ids(node) if skip_annotations else set()
    skip = set()
    for n in _now(node):
        if id(n) in annotations:
            skip |= {id(m) for m in ast.walk(n)}
        if id(n) in skip:
            continue
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
            loads.add(n.id)
        elif isinstance(n, ast.comprehension):
            bound_inside |= {m.id for m in ast.walk(n.target) if isinstance(m, ast.Name)}
        elif isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name):
            loads.add(n.target.id)
    return loads - bound_inside


def _class_loads(node, skip_annotations: bool) -> set:
    head = set()
    for e in node.decorator_list + node.bases + [k.value for k in node.keywords]:
        head |= _loads_now(e)
    body, local = set(), set()
    for s in node.body:
        body |= _loads_now(s, skip_annotations) - local
        local |= _stores(s)
    return head | body


def _annotation_ids(node) -> set:
    """ids of the annotation nodes of a function's arguments and return (not evaluated under
    ``from __future__ import annotations``)."""
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return set()
    a = node.args
    return {id(x.annotation) for x in a.posonlyargs + a.args + a.kwonlyargs + [a.vararg, a.kwarg]
            if x is not None and x.annotation is not None} | ({id(node.returns)} if node.returns else set())


def _base(expr):
    """``a`` for ``a``, ``a.b``, ``a[0].b`` ...; None when the chain does not start at a name."""
    while isinstance(expr, (ast.Attribute, ast.Subscript)):
        expr = expr.value
    return expr.id if isinstance(expr, ast.Name) else None


def _global_refs(code) -> set:
    """Module-level names ``code`` (a statement or source text) refers to, including from inside the
    functions and classes it defines (their own local names excluded)."""
    import symtable

    try:
        text = code if isinstance(code, str) else ast.unparse(code)
        table = symtable.symtable(text, "<cell>", "exec")
    except (SyntaxError, ValueError, RecursionError):
        nodes = ast.walk(ast.parse(code)) if isinstance(code, str) else ast.walk(code)
        return {n.id for n in nodes if isinstance(n, ast.Name)}
    out = {s.get_name() for s in table.get_symbols() if s.is_referenced()}
    stack = list(table.get_children())
    while stack:
        t = stack.pop()
        out |= {s.get_name() for s in t.get_symbols() if s.is_global() and (s.is_referenced() or s.is_assigned())}
        stack += t.get_children()
    return out


class _Names:
    """What the code kept so far has bound: name -> (kind, qualified name), kind one of builtin,
    module (an import: the qualified name of what it imported), def, class, value."""

    def __init__(self):
        import builtins

        self.bound = {n: ("builtin", f"builtins.{n}") for n in dir(builtins) if not n.startswith("_")}
        self.bound.update({"np": ("module", "numpy"), "math": ("module", "math"), "__name__": ("value", None)})
        self.star = False

    def kind(self, name):
        return self.bound.get(name, (None, None))[0]

    def has(self, names) -> bool:
        return self.star or all(n in self.bound for n in names)

    def qualname(self, expr):
        parts = []
        while isinstance(expr, ast.Attribute):
            parts.append(expr.attr)
            expr = expr.value
        if not isinstance(expr, ast.Name):
            return None
        kind, qual = self.bound.get(expr.id, (None, None))
        if qual is None or kind not in ("builtin", "module"):
            return None
        return ".".join([qual, *reversed(parts)])

    def bind(self, node):
        """Record what ``node`` (a statement that runs) binds."""
        if isinstance(node, ast.Import):
            for a in node.names:
                self.bound[_alias_name(a)] = ("module", a.name if a.asname else a.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            for a in node.names:
                if a.name == "*":
                    self.star = True
                elif not node.level:
                    self.bound[_alias_name(a)] = ("module", f"{node.module}.{a.name}")
                else:
                    self.bound.pop(_alias_name(a), None)
        else:
            kind = "def" if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else \
                "class" if isinstance(node, ast.ClassDef) else "value"
            for name in _stores(node):
                self.bound[name] = (kind, None)

    def forget(self, names):
        for name in names:
            self.bound.pop(name, None)


def _cheap_call(qual) -> bool:
    return qual is not None and (qual in CHEAP_CALLS or qual.split(".")[0] in CHEAP_MODULES)


def _cheap(node, names: _Names) -> bool:
    """Every call made when ``node`` runs is a cheap one (and nothing awaits or yields)."""
    for n in _now(node):
        if isinstance(n, (ast.Await, ast.Yield, ast.YieldFrom)):
            return False
        if isinstance(n, ast.Call):
            qual = names.qualname(n.func)
            if not _cheap_call(qual):
                return False
            if qual in _KEY_CALLERS and any(k.arg == "key" and not _cheap_call(names.qualname(k.value))
                                            for k in n.keywords):
                return False  # sorted(..., key=f) calls f
    return True


def _decorators_ok(node, names: _Names, class_locals=frozenset()) -> bool:
    """Decorators run when the definition does: a cheap one, a property's ``.setter``, or one of the
    learner's own functions (which wraps; a widget's ``@interact`` would run an experiment)."""
    for d in node.decorator_list:
        target = d.func if isinstance(d, ast.Call) else d
        if _cheap_call(names.qualname(target)):
            continue
        if isinstance(d, ast.Name) and names.kind(d.id) == "def":
            continue
        if isinstance(d, ast.Attribute) and d.attr in ("setter", "getter", "deleter") \
                and isinstance(d.value, ast.Name) and d.value.id in class_locals:
            continue
        return False
    return True


def _class_body_ok(node, names: _Names) -> bool:
    local = set()
    for s in node.body:
        if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if not _decorators_ok(s, names, local):
                return False
        elif isinstance(s, ast.ClassDef):
            if not (_decorators_ok(s, names, local) and _class_body_ok(s, names)):
                return False
        elif not isinstance(s, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Pass, ast.Import, ast.ImportFrom)) \
                and not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)):
            return False
        local |= _stores(s)
    return True


def _own_value(expr, names: _Names) -> str | None:
    """The name at the start of ``expr`` (``d`` in ``d['k']``), when it is a value the kept code made
    (not a module, a builtin or something the verifier does not have)."""
    base = _base(expr)
    return base if base is not None and names.kind(base) in ("value", "class", "def") else None


def _keep(node, names: _Names, future_annotations: bool) -> set | None:
    """The names ``node`` defines or changes when it is a statement the verifier runs, else None."""
    if isinstance(node, ast.ImportFrom) and node.module == "__future__":
        return set()
    if isinstance(node, ast.Import) or (isinstance(node, ast.ImportFrom) and not node.level):
        return {_alias_name(a) for a in node.names if a.name != "*"} or {"*"}
    if not names.has(_loads_now(node, future_annotations)):
        return None
    if _mutator_call(node, names):
        return _keep_mutator(node.value, names)
    if not _cheap(node, names):
        return None
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return {node.name} if _decorators_ok(node, names) else None
    if isinstance(node, ast.ClassDef):
        return {node.name} if _decorators_ok(node, names) and _class_body_ok(node, names) else None
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        return _keep_assignment(node, names)
    return None


def _mutator_call(node, names: _Names) -> bool:
    """``DEFAULTS.update(...)``: a :data:`MUTATORS` method called on a value the kept code made."""
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Attribute)
            and node.value.func.attr in MUTATORS and bool(_own_value(node.value.func.value, names)))


def _keep_mutator(call, names: _Names) -> set | None:
    """DEFAULTS.update(momentum=0.95) is kept with cheap arguments."""
    cheap = all(_cheap(a, names) for a in call.args + [k.value for k in call.keywords])
    return {_base(call.func.value)} if cheap else None


def _keep_assignment(node, names: _Names) -> set | None:
    """The names a cheap assignment binds (``NAME = ...``, ``a, b = ...``) or changes (``DEFAULTS["k"] = ...``,
    but not ``np.allclose = ...``); None when it is not one the verifier runs."""
    if node.value is None:
        return None
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    out = set()
    for t in targets:
        if all(isinstance(n, (ast.Name, ast.Starred, ast.Tuple, ast.List, ast.Store)) for n in ast.walk(t)):
            out |= {n.id for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(t, (ast.Subscript, ast.Attribute)) and _own_value(t, names):
            out.add(_base(t))  # DEFAULTS["momentum"] = 0.95 (but not np.allclose = ...)
        else:
            return None
    if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) \
            and names.kind(node.target.id) not in ("value", "class", "def"):
        return None
    return out


def _changed_by(node, names: _Names) -> set:
    """Names a statement the verifier skips may have bound or changed: what it assigns, and the
    values it calls a method of or assigns into (not modules: ``np.random.seed(0)`` leaves ``np``)."""
    out = _stores(node)
    for n in _now(node):
        if isinstance(n, (ast.Subscript, ast.Attribute)) and isinstance(n.ctx, (ast.Store, ast.Del)):
            out.add(_base(n))
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr not in _READ_ONLY_METHODS:
            out.add(_base(n.func.value))
    return {x for x in out if x is not None and names.kind(x) not in ("module", "builtin")}


@dataclasses.dataclass
class VerifierPlan:
    """What the verifier runs for one notebook (see :func:`verifier_plan`)."""

    #: One string of code per cell that has something to run, in notebook order.
    sources: list
    #: Module-level names that statements the verifier skips set (and nothing it runs sets).
    not_run: set
    #: (index of the code cell, code) of each statement taken from a cell other than a solution cell.
    kept: list


@dataclasses.dataclass
class _Reading:
    """What :func:`plan_cells` learns reading the cells in order."""

    names: _Names = dataclasses.field(default_factory=lambda: _Names())
    #: per code cell: (is_solution, the solution's code as it runs, or None)
    parsed: list = dataclasses.field(default_factory=list)
    #: the statements of other cells the verifier may run: {cell, node, defines, refs, keep}
    candidates: list = dataclasses.field(default_factory=list)
    dropped: set = dataclasses.field(default_factory=set)          # names set by statements skipped
    roots: set = dataclasses.field(default_factory=set)            # names the solution cells use or set
    solution_stores: set = dataclasses.field(default_factory=set)  # names the solution cells set


def _parse(text: str):
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _read_solution(r: _Reading, source: str) -> None:
    text = _solution_for_verifier(source)
    r.parsed.append((True, text))
    tree = _parse(text)
    if tree is None:
        return
    r.roots |= _global_refs(text)
    for node in tree.body:
        r.solution_stores |= _stores(node)
        r.names.bind(node)
    r.roots |= r.solution_stores


def _read_other(r: _Reading, index: int, source: str) -> None:
    r.parsed.append((False, None))
    text = python_source(source)
    tree = _parse(text) if text is not None else None
    if tree is None:
        return
    future = any(isinstance(n, ast.ImportFrom) and n.module == "__future__"
                 and any(a.name == "annotations" for a in n.names) for n in tree.body)
    for node in tree.body:
        defines = _keep(node, r.names, future)
        if defines is None:
            changed = _changed_by(node, r.names)
            r.dropped |= _stores(node)
            r.names.forget(changed)
        else:
            r.candidates.append({"cell": index, "node": node, "defines": defines, "refs": None, "keep": False})
            r.names.bind(node)


def _keep_needed(candidates: list, roots: set) -> set:
    """Mark the candidates the solution cells need, directly or through what they need; the names reached."""
    reach = set(roots)
    changed = True
    while changed:
        changed = False
        for c in candidates:
            if c["keep"] or not (c["defines"] & reach or "*" in c["defines"]):
                continue
            c["keep"], changed = True, True
            c["refs"] = _global_refs(c["node"])
            reach |= c["refs"]
    return reach


def _is_future(node) -> bool:
    return isinstance(node, ast.ImportFrom) and node.module == "__future__"


def _kept_per_cell(candidates: list, reach: set) -> dict[int, list]:
    """The statements to run, per cell (imports cut to the names needed; ``__future__`` imports always)."""
    per_cell: dict[int, list] = {}
    for c in candidates:
        node = c["node"]
        if not c["keep"]:
            if not _is_future(node):
                continue
        elif isinstance(node, (ast.Import, ast.ImportFrom)) and "*" not in c["defines"]:
            aliases = [a for a in node.names if _alias_name(a) in reach]
            if len(aliases) < len(node.names):
                node = copy.copy(node)
                node.names = aliases
        per_cell.setdefault(c["cell"], []).append(node)
    return per_cell


def _plan_sources(parsed: list, per_cell: dict) -> tuple[list, list]:
    """(one string of code per cell with something to run; (cell, code) of each statement kept from
    a cell other than a solution cell)."""
    sources, kept = [], []
    for index, (is_solution, text) in enumerate(parsed):
        if is_solution:
            sources.append(text)
            continue
        nodes = per_cell.get(index, [])
        if all(_is_future(n) for n in nodes):
            continue
        try:
            code = [ast.unparse(n) for n in nodes]
        except (ValueError, RecursionError):
            continue
        kept += [(index, s) for s in code]
        sources.append("\n".join(code))
    return sources, kept


def plan_cells(cells) -> VerifierPlan:
    """:func:`verifier_plan` on ``[(is_solution, source), ...]`` (the code cells the verifier looks at)."""
    r = _Reading()
    for index, (is_solution, source) in enumerate(cells):
        if is_solution:
            _read_solution(r, source)
        else:
            _read_other(r, index, source)
    reach = _keep_needed(r.candidates, r.roots)
    sources, kept = _plan_sources(r.parsed, _kept_per_cell(r.candidates, reach))
    defined = set()
    for c in r.candidates:
        if c["keep"]:
            defined |= c["defines"]
    return VerifierPlan(sources=sources, not_run=r.dropped - defined - r.solution_stores, kept=kept)


def verifier_plan(nb, master=None) -> VerifierPlan:
    """What the verifier re-runs of a (restored) notebook, and which names it leaves out.

    **Solution cells** run whole, as written (IPython-only lines such as ``%matplotlib inline``
    become ``pass``). Test and task cells never run. From **every other code cell** (the
    learner's and the course's alike: the rule reads the notebook alone) the verifier runs, in
    notebook order, the top-level statements that *define* something cheaply:

    - ``import`` and ``from ... import`` (not relative ones);
    - ``def`` and ``class`` (decorators: cheap ones, a property's setter, or the learner's own;
      a class body holds only definitions and assignments; defaults and bases make cheap calls);
    - assignments ``NAME = ...`` (also ``+=``, and into a value the kept code made:
      ``DEFAULTS["momentum"] = 0.95``) whose right-hand side calls nothing but :data:`CHEAP_CALLS`
      (``dict``, ``list``, ``range``, ``np.array``, ``np.zeros``, ``np.linspace``, ``np.finfo``,
      ``math.*``, ``functools.partial``, ...);
    - ``DEFAULTS.update(...)``-style calls (:data:`MUTATORS`) on such a value;

    and only those that the solution cells need, directly or through other kept statements (an
    unused ``import matplotlib.pyplot`` costs nothing). Everything else is skipped, statement by
    statement rather than cell by cell: other calls (``print``, plots, ``train(...)``,
    ``np.random.seed``), loops, ``if``/``with``/``try`` blocks, bare expressions, assignments into
    modules (``np.allclose = ...``). A statement that reads a name the verifier would not have
    (set by a skipped statement, or possibly changed by one: ``rows.append(train())``) is
    skipped too, so what runs does not fail for want of a name.

    Cheap is not bounded (``np.zeros(10**10)``): the sandbox's limits bound it, and the verifier
    retries without a cell that hangs or kills its process. What this cannot reproduce is a value
    that a skipped statement changes and a graded function reads (``LR = tune()``), or a helper
    the notebook redefines after the test cell: there the kernel and the verifier can disagree;
    :attr:`VerifierPlan.not_run` lets the grader tell a NameError of that kind from tampering.
    ``master`` is not used: the rule reads the notebook alone.
    """
    cells = [(cell_is(c, "solution"), c.source) for c in nb.cells if c.cell_type == "code"
             and not (cell_is(c, "grade") and not cell_is(c, "solution")) and not cell_is(c, "task")]
    return plan_cells(cells)


def names_not_run(problems, nb, master=None) -> list[str]:
    """The names a graded function's NameErrors (in the verifier's ``problems``) are about that the
    notebook does set, in statements the verifier skips: not tampering, a limit of the verifier."""
    missing = {m.group(1) for p in problems for m in _NAME_ERROR.finditer(str(p))}
    if not missing:
        return []
    return sorted(missing & verifier_plan(nb, master).not_run)


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
        if not (cell_is(cell, "grade") and grade_id_of(cell)) or cell.cell_type != "code" or cell_is(cell, "solution"):
            continue
        points = float(nbgrader_metadata(cell).get("points", 0) or 0)
        gid = grade_id_of(cell)
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
    """A copy of the autograded notebook that is safe to return to the student.

    Sanitized (:func:`autograder.grading.sanitize.sanitize_notebook`: nothing the submission wrote
    can run in a browser) once the learner's markdown is cut to what feedback shows, also when called
    by nbgrader's own ``generate_feedback``.
    """
    from .sanitize import sanitize_notebook

    fb = copy.deepcopy(nb)
    _bound_learner_markdown(fb)  # first: the sanitizer then checks at most what the feedback shows
    fb = sanitize_notebook(fb)
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
        if cell_is(cell, "grade") and scores is not None and grade_id_of(cell) in scores:
            cell.metadata["nbgrader"]["score"] = scores[grade_id_of(cell)]
        elif cell_is(cell, "grade") or cell_is(cell, "task"):
            cell.metadata["nbgrader"].setdefault("score", None)
    if summary_markdown:
        fb.cells.insert(0, new_markdown_cell(summary_markdown, metadata={}))
    return fb


#: Under a written answer in feedback rendered before a person graded it (its score shows 0 until then).
WRITTEN_PENDING = "A person grades this written answer; its points are not in the score above yet."


def render_feedback_html(nb, *, notebook_name: str, score: float, max_score: float) -> str:
    """HTML in nbgrader's feedback template (per-cell scores read from the cells' nbgrader metadata).

    Rendered with the sanitizer in effect, on top of the sanitized notebook: nbconvert's
    ``sanitize_html`` (no javascript or widget outputs, HTML outputs and raw cells through
    ``clean_html``), whose ``clean_html`` filter and the template's ``markdown2html`` (nbgrader's
    feedback template does not clean markdown) are both the course's allowlist (:mod:`.sanitize`).
    """
    import os

    import nbgrader
    from nbconvert.exporters import HTMLExporter
    from traitlets.config import Config

    from jinja2 import pass_context

    from .sanitize import clean_html

    class SanitizingHTMLExporter(HTMLExporter):
        @pass_context
        def markdown2html(self, context, source):
            return clean_html(HTMLExporter.markdown2html(self, context, source))

    base = os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader")
    c = Config()
    c.HTMLExporter.sanitize_html = True
    c.HTMLExporter.filters = {"clean_html": clean_html}
    c.HTMLExporter.template_name = "feedback"
    c.HTMLExporter.extra_template_basedirs = [os.path.join(base, "templates")]
    c.HTMLExporter.extra_template_paths = [os.path.join(base, "static", "node_modules", "bootstrap", "dist", "css")]
    c.HTMLExporter.preprocessors = ["nbconvert.preprocessors.CSSHTMLHeaderPreprocessor"]
    nb = copy.deepcopy(nb)
    pending = []
    for cell in nb.cells:
        n = nbgrader_metadata(cell)
        if n is not None and (n.get("grade") or n.get("task")):
            n.setdefault("points", 0)
            if n.get("score") is None:
                n["score"] = 0.0
                if cell.cell_type == "markdown":  # a written answer: nbgrader's comment box says who grades it
                    n["comment"] = WRITTEN_PENDING
                    pending.append(str(n.get("grade_id", "")))
    exporter = SanitizingHTMLExporter(config=c)
    resources = {"nbgrader": {"notebook": notebook_name, "score": score, "max_score": max_score, "late_penalty": 0}}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return _not_graded_yet(body, pending).replace("</head>", _FEEDBACK_CSS + "</head>", 1)


def _not_graded_yet(html: str, grade_ids: list) -> str:
    """nbgrader's template prints a score of 0.0 for a written answer nobody has graded yet (its
    ``float`` filter turns anything else into 0.0): say "not graded yet" there instead, in the table
    of contents (``href="#id"``) and in the cell's heading (after ``name="id"``)."""
    import html as html_lib

    for gid in grade_ids:
        anchor = re.escape(html_lib.escape(gid, quote=True))
        for start in (rf'<a href="#{anchor}">[^<]*</a> \(', rf'<a name="{anchor}"></a>.*?'):
            html = re.sub(rf"({start})Score: 0\.0 /", r"\1Score: not graded yet /", html, count=1, flags=re.S)
    return html


#: Outputs wrap in feedback (the grader's verdict under a test cell runs to hundreds of characters, and
#: nbgrader's feedback template keeps output lines on one line, scrolled sideways); code stays as written.
_FEEDBACK_CSS = ("<style>.output_area pre, .output_subarea pre, .jp-OutputArea-output pre "
                 "{white-space: pre-wrap; overflow-wrap: anywhere;}</style>\n")

