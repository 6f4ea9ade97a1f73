"""``python3 run.py release DIR``: the learner edition holds no answer, installs on its own, and its
``run.py check`` grades a notebook from the visible checks."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.release import ANSWER_FREE, release

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow

#: Solution lines that are bookkeeping any Python code has (they compute no answer), and where the
#: edition has them. Anything else of a solution region found in the edition fails the test.
GENERIC_LINES = {"break", "continue", "else:", "config = {}", "if config is None:", "for t in range(num_steps):",
                 "path[0] = x", "path[t + 1] = x", "return np.array(path)", "x = np.array(x0, dtype=np.float64)",
                 "x = np.asarray(x, dtype=np.float64)", "w = np.asarray(w, dtype=np.float64)",
                 # nets.sgd's default, which 03's stub docstring states as the contract
                 'config.setdefault("learning_rate", 1e-2)'}


def _solution_lines(root: Path) -> dict[str, str]:
    """Every non-comment line inside a ``### BEGIN SOLUTION`` region of ``root/solutions``, and its notebook."""
    found = {}
    for path in sorted(root.glob("solutions/*/*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            inside = False
            for line in cell.source.splitlines():
                if "BEGIN SOLUTION" in line or "END SOLUTION" in line:
                    inside = "BEGIN" in line
                elif inside and line.strip() and not line.strip().startswith("#"):
                    found.setdefault(line.strip(), path.name)
    return found


def _bodies(source: str) -> set[str]:
    """The function bodies (docstring dropped, at least a dozen AST nodes) defined in ``source``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
                    and isinstance(body[0].value.value, str):
                body = body[1:]
            if sum(1 for b in body for _ in ast.walk(b)) >= 12:
                out.add(ast.dump(ast.Module(body=body, type_ignores=[])))
    return out


def _answer_bodies() -> set[str]:
    """The bodies of every reference function and every function of a solution region."""
    bodies = set()
    for path in (ROOT / "autograder" / "references").glob("*.py"):
        bodies |= _bodies(path.read_text())
    for path in ROOT.glob("solutions/*/*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            if "BEGIN SOLUTION" in cell.source:
                bodies |= _bodies("\n".join(l for l in cell.source.splitlines() if "SOLUTION" not in l))
    return bodies


def _sources(tree: Path):
    """(path, text) of every text file under ``tree``; a notebook's text is its cells' sources."""
    for path in sorted(tree.rglob("*")):
        if not path.is_file() or ".venv" in path.parts:
            continue
        if path.suffix == ".ipynb":
            yield path, "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
        elif path.suffix in (".py", ".md", ".json", ".yml", ".toml", ".txt"):
            yield path, path.read_text(errors="replace")


def find_answers(tree: Path) -> list[str]:
    """What of the course's answers ``tree`` holds: solution lines and reference/solution functions."""
    lines = {line: nb for line, nb in _solution_lines(ROOT).items() if line not in GENERIC_LINES}
    answers = _answer_bodies()
    found = []
    for path, text in _sources(tree):
        present = {line.strip() for line in text.splitlines()}
        found += [f"{path.relative_to(tree)}: solution line of {nb}: {line}" for line, nb in lines.items()
                  if line in present]
        code = [text] if path.suffix == ".py" else ([c.source for c in nbformat.read(path, as_version=4).cells
                                                      if c.cell_type == "code"] if path.suffix == ".ipynb" else [])
        found += [f"{path.relative_to(tree)}: a reference or solution function" for src in code
                  for _ in _bodies(src) & answers]
    return found


def _solved(student: Path, solution: Path):
    """The student notebook with every answer cell filled in as the solution has it (what a learner
    who solved it holds: no hidden tests, which the student version never had)."""
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in nbformat.read(solution, as_version=4).cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    nb = nbformat.read(student, as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution") and gid in answers:
            cell.source = "\n".join(l for l in answers[gid].splitlines() if "SOLUTION" not in l)
    return nb


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    return release(tmp_path_factory.mktemp("edition") / "nnopt-learner")


def test_the_edition_holds_no_answer(edition):
    assert sorted(p.name for p in edition.iterdir()) == sorted(
        ["README.md", "run.py", "pyproject.toml", "environment.yml", "notebooks", "nnopt_helpers", "autograder", "docs"])
    assert sorted(p.name for p in (edition / "autograder").iterdir()) == sorted(["__init__.py", *ANSWER_FREE])
    assert sorted(p.name for p in (edition / "notebooks").iterdir()) == sorted(
        p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
    assert find_answers(edition) == []


def test_every_relative_link_of_a_notebook_resolves_in_the_edition(edition):
    """Links such as ``../../docs/conventions.md`` lead somewhere in the learner's copy too."""
    links = []
    for path in sorted((edition / "notebooks").glob("*/*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown":
                links += [(path, target) for target in re.findall(r"\]\(([^)#\s]+)", cell.source)
                          if "://" not in target and not target.startswith("mailto:")]
    assert links, "the notebooks link to no local file: the test has nothing to check"
    missing = [f"{p.parent.name}: {t}" for p, t in links if not (p.parent / t).exists()]
    assert missing == [], missing


def test_the_answer_search_finds_a_planted_solution(edition, tmp_path):
    """The control: the same search on a copy with one solution notebook in it finds its answers."""
    copy = tmp_path / "copy"
    shutil.copytree(edition, copy, ignore=shutil.ignore_patterns(".venv"))
    shutil.copyfile(ROOT / "solutions" / "03_momentum" / "03_momentum.ipynb", copy / "notebooks" / "leak.ipynb")
    found = find_answers(copy)
    assert any("solution line of 03_momentum" in f for f in found)
    assert any("reference or solution function" in f for f in found)


def test_the_edition_installs_alone_and_checks_a_notebook(edition):
    """A fresh venv made by the edition's own run.py (as a learner would: nothing else installed), its
    check on an untouched and on a solved notebook, and a solved notebook run top to bottom there."""
    stub = edition / "notebooks" / "03_momentum" / "03_momentum.ipynb"
    before = stub.read_bytes()
    proc = subprocess.run([sys.executable, "run.py", "check", str(stub)], cwd=edition, capture_output=True,
                          text=True, timeout=1500)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1].startswith("total 0 / 11 (visible checks only"), proc.stdout
    assert "not implemented" in proc.stdout
    assert stub.read_bytes() == before, "check only reads the notebook"

    solved = edition / "notebooks" / "03_momentum" / "solved.ipynb"
    nbformat.write(_solved(stub, ROOT / "solutions" / "03_momentum" / "03_momentum.ipynb"), solved)
    proc = subprocess.run([sys.executable, "run.py", "check", str(solved)], cwd=edition, capture_output=True,
                          text=True, timeout=600)
    # the derived number has no visible check: answered, but only the instructor's grader judges it
    assert proc.stdout.strip().splitlines()[-1].startswith("total 10 / 11"), proc.stdout + proc.stderr
    assert "only the instructor's grader judges this number" in proc.stdout

    python = edition / ".venv" / "bin" / "python"
    run = ("import nbformat, sys\nfrom nbclient import NotebookClient\n"
           "nb = nbformat.read(sys.argv[1], as_version=4)\n"
           "NotebookClient(nb, timeout=300, kernel_name='python3', allow_errors=False,\n"
           "               resources={'metadata': {'path': sys.argv[2]}}).execute()\nprint('ran', len(nb.cells))")
    proc = subprocess.run([str(python), "-c", run, str(solved), str(solved.parent)], cwd=edition,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0 and "ran" in proc.stdout, proc.stdout[-2000:] + proc.stderr[-3000:]
    # the edition's own packages, not this repository's
    where = subprocess.run([str(python), "-c", "import nnopt_helpers, autograder; print(nnopt_helpers.__file__, "
                            "autograder.__file__)"], cwd=edition.parent, capture_output=True, text=True,
                           check=True).stdout
    assert str(edition) in where and str(ROOT / "nnopt_helpers") not in where
