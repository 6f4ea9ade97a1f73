"""The verifier's sandboxed half: run the learner's definition cells, then call the graded functions.

    python -I verify_runner.py LIB IN.npz OUT_DIR

``oracle.npz`` beside ``IN.npz``, when the grader wrote one, holds the functions (surfaces, descent
problems) that drivers hand to learner functions: it is read only by the oracle process this
runner forks first (``autograder/kernel/oracle.py``), and the cases name them by handle.

``IN.npz`` (``autograder.plain.pack``) holds ``preamble`` (``import numpy as np, math``), the
learner's definition ``cells`` (source text, in notebook order: the solution cells whole, and the
imports, definitions and cheap assignments they use from the learner's other cells, as
``autograder.grading.notebooks.verifier_plan`` picks them), ``skip_cells`` (indices the grader saw hang
or crash the process on an earlier attempt), and ``exercises``: ``[{name, driver, cases}]``,
with the inputs of the cases the grader generated from its secret seed (``drivers.INPUTS``: only
the keys the driver reads). No reference, expected value, seed or oracle spec is ever in here.

Each cell runs in one fresh namespace; an exception in a cell is recorded and the next cell
runs (``SystemExit`` and ``KeyboardInterrupt`` included). Then, for each exercise, the function
of that name is called on every case through ``autograder.drivers`` and the plain results are
written to ``OUT_DIR/ex-<k>.npz``. ``OUT_DIR/progress`` gets a line before each step, so that
the grader knows what was running if it has to kill the process (a hang, a crash, a memory
bomb) and can retry without that step.

Everything written here is untrusted: the grader unpacks it without pickle and judges it
against its own reference in its own process.
"""

from __future__ import annotations

import builtins
import io
import os
import sys


class _Sink(io.TextIOBase):
    """Where the learner's prints go: kept up to a cap, then dropped."""

    def __init__(self, cap=20000):
        self.parts, self.size, self.cap = [], 0, cap

    def writable(self):
        return True

    def write(self, s):
        s = str(s)
        if self.size < self.cap:
            self.parts.append(s[: self.cap - self.size])
        self.size += len(s)
        return len(s)


def _error(exc: BaseException) -> dict:
    return {"error": f"{type(exc).__name__}: {exc}"[:500], "error_type": type(exc).__name__, "mutated": []}


def main() -> int:
    lib, in_path, out_dir = sys.argv[1:4]
    sys.path[:] = [p for p in sys.path if p not in ("", ".")]
    sys.path.insert(0, lib)
    os.environ["MPLBACKEND"] = "Agg"
    import math  # noqa: F401 - imported before learner code runs

    import numpy  # noqa: F401

    from autograder import drivers, plain

    pack, unpack, DRIVERS = plain.pack, plain.unpack, dict(drivers.DRIVERS)
    oracle_specs = os.path.join(os.path.dirname(os.path.abspath(in_path)), "oracle.npz")
    if os.path.exists(oracle_specs):
        from autograder.kernel import oracle

        drivers.REMOTE = oracle.start(oracle_specs)  # returns after the oracle deleted the file
    os.makedirs(out_dir, exist_ok=True)
    progress = os.open(os.path.join(out_dir, "progress"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def mark(text: str) -> None:
        os.write(progress, (text + "\n").encode())

    def write(name: str, value) -> None:
        try:
            data = pack(value)
        except Exception as exc:  # noqa: BLE001 - e.g. NotPlain
            data = pack({"runner_error": f"{type(exc).__name__}: {exc}"[:500]})
        tmp = os.path.join(out_dir, name + ".part")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, os.path.join(out_dir, name))

    with open(in_path, "rb") as f:
        job = unpack(f.read())
    skip = set(job.get("skip_cells", []))
    sink = _Sink()
    real_out, real_err = sys.stdout, sys.stderr
    sys.stdin = io.StringIO("")
    ns = {"__name__": "__main__", "__builtins__": builtins}
    cell_errors = []
    sys.stdout = sys.stderr = sink
    try:
        exec(compile(job["preamble"], "<preamble>", "exec"), ns)  # noqa: S102 - the grader's own preamble
    finally:
        sys.stdout, sys.stderr = real_out, real_err
    for i, src in enumerate(job["cells"]):
        if i in skip:
            continue
        mark(f"cell {i}")
        sys.stdout = sys.stderr = sink
        try:
            exec(compile(src, f"<solution cell {i + 1}>", "exec"), ns)  # noqa: S102 - sandboxed learner code
        except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt too
            cell_errors.append({"cell": i, **_error(exc)})
        finally:
            sys.stdout, sys.stderr = real_out, real_err
    write("cells.npz", {"errors": cell_errors, "printed": sink.size})

    for k, ex in enumerate(job["exercises"]):
        if ex["name"] in job.get("skip_exercises", []):
            continue
        mark(f"exercise {k}")
        fn = ns.get(ex["name"])
        if fn is None and ex["driver"] not in drivers.VALUE_DRIVERS:
            write(f"ex-{k}.npz", {"missing": f"no function named {ex['name']} is defined in the solution cells"})
            continue
        if not callable(fn) and ex["driver"] not in drivers.VALUE_DRIVERS:
            write(f"ex-{k}.npz", {"missing": f"{ex['name']} is a {type(fn).__name__}, not a function"})
            continue
        results = []
        driver = DRIVERS[ex["driver"]]
        for case in ex["cases"]:
            sys.stdout = sys.stderr = sink
            try:
                results.append(driver(fn, case))
            except BaseException as exc:  # noqa: BLE001
                results.append(_error(exc))
            finally:
                sys.stdout, sys.stderr = real_out, real_err
        write(f"ex-{k}.npz", {"results": results})
    mark("done")
    os.close(progress)
    sys.stdout.flush()
    os._exit(0)  # skip interpreter teardown: learner objects' __del__ cannot change anything now


if __name__ == "__main__":
    main()
