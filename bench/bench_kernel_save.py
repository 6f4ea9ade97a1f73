"""What saving the executed notebook costs, per cell count: before (the whole notebook rewritten
after every cell) and after (one JSON line per cell, the notebook written once at the end).

    python bench/bench_kernel_save.py [--runs 5] [--kernel-runs 3] [--cells 50 200 800] [--no-kernel]

Two measurements per cell count, on a notebook of trivial cells (``x = i`` and one short print):

* ``save``: the saving alone, in this process, as ``autograder/kernel/run_notebook.py`` does it
  while the cells run (the cells' outputs filled in one by one; the kernel's time left out);
* ``kernel``: ``run_notebook.py`` itself, end to end with a real kernel (not sandboxed), the
  version of commit ``BEFORE`` against the working tree's.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import save, summarize  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.modules.setdefault("rfc3987_syntax", None)  # as run_notebook.py does: a 2 s import nbformat never needs
#: The last commit whose run_notebook.py rewrote the whole notebook after every cell.
BEFORE = "fc9ef02"


def _notebook(n: int):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for i in range(n):
        nb.cells.append(nbformat.v4.new_code_cell(f"x = {i}\nprint('cell', x)"))
    return nb


def _output(i: int):
    import nbformat

    return nbformat.v4.new_output("stream", name="stdout", text=f"cell {i}\n")


def _atomic(path: str, text: str) -> None:
    with open(path + ".part", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(path + ".part", path)


def save_before(nb, d: str) -> None:
    """The old ``save()`` after every cell: the whole notebook and the report."""
    import nbformat

    report = {"last_cell": -1}
    for i, cell in enumerate(nb.cells):
        cell.outputs = [_output(i)]
        cell.execution_count = i + 1
        report["last_cell"] = i
        _atomic(f"{d}/out.ipynb", nbformat.writes(nb))
        _atomic(f"{d}/report.json", json.dumps(report))


def save_after(nb, d: str) -> None:
    """run_notebook.py now: one line per cell, the report per cell, the notebook once."""
    import nbformat

    from autograder.kernel.run_notebook import CellLog

    log = CellLog(f"{d}/out.ipynb.cells.jsonl")
    report = {"last_cell": -1}
    for i, cell in enumerate(nb.cells):
        cell.outputs = [_output(i)]
        cell.execution_count = i + 1
        log.add(i, cell)
        report["last_cell"] = i
        _atomic(f"{d}/report.json", json.dumps(report))
    log.close()
    _atomic(f"{d}/out.ipynb", nbformat.writes(nb))
    _atomic(f"{d}/report.json", json.dumps(report))


def run_kernel(script: Path, lib: Path, nb_path: Path, d: Path) -> float:
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-I", str(script), "--lib", str(lib), "--notebook", str(nb_path),
                    "--output", str(d / "out.ipynb"), "--report", str(d / "report.json"), "--cell-timeout", "60"],
                   check=True, cwd=d, env={**os.environ, "HOME": str(d)}, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    seconds = time.monotonic() - t0
    report = json.loads((d / "report.json").read_text())
    assert report["finished"] and report["executed_cells"] == len(json.loads((d / "out.ipynb").read_text())["cells"])
    return seconds


def main() -> None:
    import nbformat

    from autograder.sandbox import build_lib_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cells", type=int, nargs="+", default=[50, 200, 800])
    parser.add_argument("--kernel-runs", type=int, default=3, help="runs of the end-to-end measurement")
    parser.add_argument("--no-kernel", action="store_true", help="only the saving alone")
    args = parser.parse_args()
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for n in args.cells:
            for name, fn in (("before", save_before), ("after", save_after)):
                samples = []
                for r in range(args.runs):
                    d = tmp / f"save-{name}-{n}-{r}"
                    d.mkdir()
                    nb = _notebook(n)
                    t0 = time.monotonic()
                    fn(nb, str(d))
                    samples.append(time.monotonic() - t0)
                results[f"save, {n} cells, {name}"] = summarize(samples)
        if not args.no_kernel:
            lib = build_lib_dir(tmp / "lib", mpl_cache=False)
            old = tmp / "run_notebook_before.py"
            old.write_bytes(subprocess.run(["git", "show", f"{BEFORE}:autograder/kernel/run_notebook.py"], cwd=ROOT,
                                           check=True, capture_output=True).stdout)
            new = ROOT / "autograder" / "kernel" / "run_notebook.py"
            for n in args.cells:
                nb_path = tmp / f"nb-{n}.ipynb"
                nbformat.write(copy.deepcopy(_notebook(n)), nb_path)
                for name, script in (("before", old), ("after", new)):
                    samples = []
                    for r in range(args.kernel_runs):
                        d = tmp / f"kernel-{name}-{n}-{r}"
                        d.mkdir()
                        samples.append(run_kernel(script, lib, nb_path, d))
                    results[f"kernel, {n} cells, {name}"] = summarize(samples)
    save("kernel_save", {"what": "saving the executed notebook in run_notebook.py: the whole notebook after every "
                                 "cell (before, commit " + BEFORE + ") against one JSON line per cell and the "
                                 "notebook once (after); 'save' is the saving alone, 'kernel' the whole "
                                 "run_notebook.py with a real kernel, not sandboxed",
                         "results": results})


if __name__ == "__main__":
    main()
