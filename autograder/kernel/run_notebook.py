"""Execute a notebook inside the sandbox with nbclient, so that the kernel is inside too.

    python -I run_notebook.py --lib LIB --notebook IN.ipynb --output OUT.ipynb --report REPORT.json
        [--cells CELLS.jsonl] [--cell-timeout S] [--max-cell-output CHARS] [--max-output CHARS]
        [--max-outputs N]

Cells run one by one with errors allowed (as ``nbgrader autograde`` does). A cell that runs
longer than ``--cell-timeout`` is not interrupted (a loop may swallow ``KeyboardInterrupt``):
execution stops there, the kernel is killed, and the cell gets an error output saying so. A
kernel that dies stops execution the same way. Outputs beyond the per-cell or total byte caps
are dropped (errors are always kept, shortened): the per-cell cap counts text (streams and
``text/*`` data), the per-notebook cap counts everything (images too), and ``--max-outputs``
bounds the number of outputs kept in the whole notebook (a million empty ``display()`` calls
count nothing against the character caps). The kernel has no stdin: ``input()`` raises instead
of waiting.

Saving: after every cell, one JSON line with that cell's outputs is appended to ``CELLS.jsonl``
(default ``OUT.ipynb.cells.jsonl``; ``{"index", "id", "source_sha256", "execution_count",
"outputs"}``) and the small report is rewritten; the executed notebook is written once, at the
end. So whatever ran is kept even when the grader has to kill the whole sandbox (the grader
rebuilds the outputs from the lines), and saving costs time in proportion to the output, not to
cells × notebook size as rewriting the whole notebook after every cell did.

The report (JSON) says which cell timed out or killed the kernel and which outputs were cut;
the grader treats it, like the notebook, as untrusted data produced next to student code.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import sys
import time

sys.modules.setdefault("rfc3987_syntax", None)  # about 1 s of start-up, unused: see autograder/__init__.py

#: Outputs kept in one notebook, at most (``--max-outputs``); the grader reads back no more.
MAX_OUTPUTS = 20_000


def _write_json_atomic(path: str, text: str) -> None:
    tmp = path + ".part"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def source_sha256(source) -> str:
    """The digest a cell line carries, so the grader takes outputs only for the cell they ran in."""
    return hashlib.sha256(str(source).encode("utf-8", errors="surrogatepass")).hexdigest()


class CellLog:
    """Appends one JSON line per executed cell to a file (O_APPEND: each line goes in one piece at the end)."""

    def __init__(self, path: str):
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)

    def add(self, index: int, cell) -> None:
        line = json.dumps({"index": index, "id": cell.get("id"), "source_sha256": source_sha256(cell.get("source", "")),
                           "execution_count": cell.get("execution_count"), "outputs": cell.get("outputs", [])},
                          default=str) + "\n"
        data = memoryview(line.encode("utf-8", errors="surrogatepass"))
        while data:
            data = data[os.write(self.fd, data):]

    def close(self) -> None:
        os.close(self.fd)


def _kernel_spec(lib: str, home: str) -> str:
    """Write a ``python3`` kernel spec that starts the kernel through boot_kernel.py; return JUPYTER_PATH."""
    root = os.path.join(home, "nnopt-kernelspec")
    spec_dir = os.path.join(root, "kernels", "python3")
    os.makedirs(spec_dir, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-I", os.path.join(lib, "autograder", "kernel", "boot_kernel.py"), lib,
                 "-f", "{connection_file}"],
        "display_name": "Python 3 (nnopt sandbox)",
        "language": "python",
        "metadata": {"debugger": False},
    }
    with open(os.path.join(spec_dir, "kernel.json"), "w") as f:
        json.dump(spec, f)
    return root


def _sizes(msg_type: str, content: dict) -> tuple[int, int]:
    """(characters of text, characters of everything else) in one output message."""
    if msg_type == "stream":
        return len(str(content.get("text", ""))), 0
    if msg_type == "error":
        return len(str(content.get("evalue", ""))) + sum(len(str(t)) for t in content.get("traceback", [])), 0
    text = rich = 0
    data = content.get("data", {})
    for mime, value in (data.items() if isinstance(data, dict) else []):
        n = len(value) if isinstance(value, str) else len(json.dumps(value, default=str))
        if mime.startswith("text/"):
            text += n
        else:
            rich += n
    return text, rich


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", required=True)
    ap.add_argument("--notebook", required=True)
    ap.add_argument("--output", required=True)
    ap.add_argument("--report", required=True)
    ap.add_argument("--cells", default=None, help="the per-cell JSON lines (default: OUTPUT.cells.jsonl)")
    ap.add_argument("--cell-timeout", type=float, default=60)
    ap.add_argument("--startup-timeout", type=float, default=60)
    ap.add_argument("--max-cell-output", type=int, default=100_000)
    ap.add_argument("--max-output", type=int, default=10_000_000)
    ap.add_argument("--max-outputs", type=int, default=MAX_OUTPUTS)
    args = ap.parse_args(argv)

    home = os.environ.get("HOME", "/tmp")
    mpl_src = os.path.join(args.lib, "mplconfig")
    mpl_dst = os.environ.get("MPLCONFIGDIR")
    if mpl_dst and os.path.isdir(mpl_src) and not os.path.exists(mpl_dst):
        shutil.copytree(mpl_src, mpl_dst)
    os.environ["JUPYTER_PATH"] = _kernel_spec(args.lib, home)
    os.environ.pop("MPLBACKEND", None)

    # jsonschema imports rfc3987_syntax when it is installed, which compiles a grammar for 2+ s;
    # nbformat's validation never checks IRI formats, and this runs once per submission.
    sys.modules.setdefault("rfc3987_syntax", None)
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    report = {"timeout_cell": None, "died_cell": None, "truncated_cells": [], "error": None,
              "executed_cells": 0, "last_cell": -1, "finished": False, "seconds": 0.0}
    start = time.monotonic()
    nb = nbformat.read(args.notebook, as_version=4)

    class Client(NotebookClient):
        """nbclient with output caps applied while messages arrive (not after)."""

        used: dict = {}
        total = 0
        kept_before = 0  # outputs of the cells already run

        def output(self, outs, msg, display_id, cell_index):
            text, rich = _sizes(msg["msg_type"], msg.get("content", {}))
            self.used[cell_index] = self.used.get(cell_index, 0) + text
            Client.total += text + rich
            if self.used[cell_index] > args.max_cell_output or Client.total > args.max_output \
                    or Client.kept_before + len(outs) >= args.max_outputs:
                if cell_index not in report["truncated_cells"]:
                    report["truncated_cells"].append(cell_index)
                if msg["msg_type"] != "error":
                    return None
                content = msg["content"]
                content["traceback"] = [str(t)[:2000] for t in content.get("traceback", [])[-5:]]
                content["evalue"] = str(content.get("evalue", ""))[:2000]
            return super().output(outs, msg, display_id, cell_index)

    client = Client(nb, timeout=int(max(1, args.cell_timeout)), startup_timeout=int(args.startup_timeout),
                    kernel_name="python3", allow_errors=True, interrupt_on_timeout=False,
                    shutdown_kernel="immediate", record_timing=False,
                    resources={"metadata": {"path": os.path.dirname(os.path.abspath(args.notebook))}})

    cells_log = CellLog(args.cells or args.output + ".cells.jsonl")

    def save_report():
        report["seconds"] = round(time.monotonic() - start, 3)
        _write_json_atomic(args.report, json.dumps(report))

    def save_cell(index, cell):
        cells_log.add(index, cell)
        Client.kept_before += len(cell.outputs)
        save_report()

    def save():
        cells_log.close()
        report["seconds"] = round(time.monotonic() - start, 3)
        _write_json_atomic(args.output, nbformat.writes(nb))
        _write_json_atomic(args.report, json.dumps(report))

    def stop_cell(cell, ename, evalue):
        cell.outputs.append(nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]))

    async def run():
        async with client.async_setup_kernel():
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                try:
                    await client.async_execute_cell(cell, index)
                except CellTimeoutError:
                    report["timeout_cell"] = index
                    stop_cell(cell, "TimeoutError", f"this cell was still running after {args.cell_timeout:g} s "
                                                    "and the grader stopped it; later cells were not run")
                    break
                except DeadKernelError:
                    report["died_cell"] = index
                    stop_cell(cell, "DeadKernelError", "the kernel died while running this cell "
                                                       "(os._exit, a crash, or a resource limit); later cells were not run")
                    break
                finally:
                    report["executed_cells"] += 1
                    report["last_cell"] = index
                    if index in report["truncated_cells"]:
                        cell.outputs.append(nbformat.v4.new_output(
                            "stream", name="stdout", text="\n[output truncated by the grader]\n"))
                    save_cell(index, cell)

    try:
        asyncio.run(run())
    except Exception as exc:  # noqa: BLE001 - the kernel failed to start, or nbclient broke
        if report["timeout_cell"] is None and report["died_cell"] is None:
            report["error"] = f"{type(exc).__name__}: {exc}"[:2000]
    else:
        report["finished"] = report["timeout_cell"] is None and report["died_cell"] is None
    save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
