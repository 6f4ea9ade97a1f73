"""Regenerate the student notebooks in ``notebooks/`` from the sources in ``solutions/``.

    python -m autograder.generate            # all assignments
    python -m autograder.generate 03_momentum
    python -m autograder.generate --check    # exit 1 if notebooks/ differs from a fresh generation

nbgrader's own ``generate_assignment`` does the work (solution regions become stubs, hidden
tests are removed, cells are locked and checksummed). It runs in a temporary course directory
so that neither a gradebook nor nbgrader's scratch files land in the repository, and the
result is written with a fixed JSON layout so that regenerating is byte-for-byte stable.
"""

from __future__ import annotations

import argparse
import difflib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
NOTEBOOKS = ROOT / "notebooks"
CONFIG = Path(__file__).resolve().parent / "nbgrader_config.py"


def assignment_ids() -> list[str]:
    """Every assignment with a source notebook in solutions/, sorted."""
    return sorted(p.name for p in SOLUTIONS.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def normalized(nb) -> str:
    """The canonical text of a notebook: no outputs or counts, sorted keys, 1-space indent."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nbformat.writes(nb, version=4) + "\n"


def generate(ids: list[str]) -> dict[str, dict[str, str]]:
    """Run nbgrader generate_assignment for ``ids``; return {id: {filename: text}}."""
    results: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="nnopt-generate-") as tmp:
        course = Path(tmp)
        shutil.copytree(SOLUTIONS, course / "solutions",
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        (course / "nbgrader_config.py").write_text(
            f"c = get_config()\nload_subconfig({str(CONFIG)!r})\n")
        # nbgrader shells out to `alembic` for the gradebook: the venv's bin must be on PATH.
        env = {**os.environ, "NNOPT_COURSE_ROOT": str(course),
               "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])}
        for aid in ids:
            proc = subprocess.run(
                [sys.executable, "-m", "nbgrader", "generate_assignment", aid, "--force",
                 "--log-level=WARN"],
                cwd=course, env=env, capture_output=True, text=True)
            if proc.returncode != 0:
                raise SystemExit(f"nbgrader generate_assignment {aid} failed:\n{proc.stdout}\n{proc.stderr}")
            files = {}
            for path in sorted((course / "notebooks" / aid).rglob("*")):
                if path.is_file():
                    rel = str(path.relative_to(course / "notebooks" / aid))
                    if path.suffix == ".ipynb":
                        files[rel] = normalized(nbformat.read(path, as_version=4))
                    else:
                        files[rel] = path.read_text()
            results[aid] = files
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.generate", description=__doc__.splitlines()[0])
    parser.add_argument("ids", nargs="*", help="assignment ids (default: all in solutions/)")
    parser.add_argument("--check", action="store_true", help="compare with notebooks/ instead of writing")
    args = parser.parse_args(argv)
    ids = args.ids or assignment_ids()
    unknown = sorted(set(ids) - set(assignment_ids()))
    if unknown:
        parser.error(f"no source notebook in solutions/ for: {', '.join(unknown)}")
    fresh = generate(ids)
    stale = []
    for aid, files in fresh.items():
        target = NOTEBOOKS / aid
        existing = {str(p.relative_to(target)): p for p in target.rglob("*") if p.is_file()} if target.exists() else {}
        for rel, text in files.items():
            old = existing.pop(rel, None)
            old_text = old.read_text() if old else None
            if old_text == text:
                continue
            if args.check:
                stale.append(f"notebooks/{aid}/{rel}")
                diff = difflib.unified_diff((old_text or "").splitlines(), text.splitlines(),
                                            f"committed/{rel}", f"generated/{rel}", lineterm="", n=1)
                print("\n".join(list(diff)[:40]))
            else:
                (target / rel).parent.mkdir(parents=True, exist_ok=True)
                (target / rel).write_text(text)
                print(f"wrote notebooks/{aid}/{rel}")
        for rel, path in existing.items():
            if args.check:
                stale.append(f"notebooks/{aid}/{rel} (not generated from solutions/)")
            else:
                path.unlink()
                print(f"removed notebooks/{aid}/{rel}")
    if stale:
        print("notebooks/ is out of date; run `python3 run.py generate`:\n  " + "\n  ".join(stale))
        return 1
    if args.check:
        print(f"notebooks/ matches solutions/ for {', '.join(ids)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
