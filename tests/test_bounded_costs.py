"""Every cost of grading is bounded (issue 6, item 6).

* What the verifier's sandbox hands back: at most ``verifier.MAX_RESULT_BYTES`` per exercise,
  ``plain.MAX_ITEMS`` nodes, ``plain.MAX_ARRAYS`` arrays, a 4 MiB manifest and 16 levels of nesting
  — and the largest honest result of every exercise fits with room to spare.
* Judging one exercise: cheap early rejections (shape, size) and ``judge_timeout`` (a thread the
  caller waits for, so it holds in any thread, the Dask worker's included).
* The in-kernel run: one JSON line per cell, the notebook once; a runner killed mid-notebook still
  gives back the outputs of the cells that ran, and the lines are read as hostile data.

Speed is measured in ``bench/bench_kernel_save.py``; the time bounds here only say "finished at all".
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder import plain, verifier
from autograder.assignments import get, ids
from autograder.plain import NotPlain, pack, unpack
from autograder.sandbox import build_lib_dir, get_sandbox, probe

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from assignment_harness import solution_functions  # noqa: E402

MOMENTUM = get("03_momentum")


def _cases(assignment, name, seed=0):
    k = [e.name for e in assignment.exercises].index(name)
    return verifier.make_cases(assignment, seed)[k]


def _read_back(tmp_path, value, name="ex.npz"):
    """``value`` as the verifier reads it: packed into a file next to "learner" code, then read."""
    (tmp_path / name).write_bytes(pack(value))
    return verifier._read_plain(tmp_path, name)


def _manifest(tmp_manifest: str, arrays: dict | None = None) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, __manifest__=np.frombuffer(tmp_manifest.encode(), dtype=np.uint8), **(arrays or {}))
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# The caps on what comes back, and that honest results fit them


def test_unpack_caps_items_arrays_depth_and_manifest():
    ok = unpack(pack({"results": [0.5] * (plain.MAX_ITEMS - 3)}))
    assert len(ok["results"]) == plain.MAX_ITEMS - 3
    with pytest.raises(NotPlain, match="more than 100000 items"):
        unpack(pack({"results": [0.5] * plain.MAX_ITEMS}))
    with pytest.raises(NotPlain, match="items"):
        unpack(pack({str(i): 0.0 for i in range(plain.MAX_ITEMS + 1)}))
    with pytest.raises(NotPlain, match="arrays"):
        unpack(pack([np.zeros(1)] * (plain.MAX_ARRAYS + 1)))
    # nesting: 16 levels as to_plain allows, not one more (a manifest forged past it)
    deep = 0.5
    for _ in range(16):
        deep = [deep]
    assert unpack(pack(deep)) == deep
    node = '{"scalar": 0.5}'
    for _ in range(17):
        node = '{"list": [' + node + ']}'
    with pytest.raises(NotPlain, match="nested more than 16"):
        unpack(_manifest(node))
    with pytest.raises(NotPlain, match="manifest"):
        unpack(_manifest('{"list": [' + ", ".join(['{"scalar": 0}'] * 400_000) + "]}"))
    with pytest.raises(NotPlain):
        unpack(_manifest("1" * 5000))  # an int of 5,000 digits: Python refuses to parse it (ValueError)
    with pytest.raises(NotPlain):
        unpack(_manifest('{"float": ' + json.dumps("1" * 10_000) + "}"))


def test_the_largest_honest_result_of_every_exercise_fits_the_caps_with_room():
    """Solutions on the verifier's cases (two seeds): at most a third of every cap."""
    biggest = {}
    with np.errstate(all="ignore"):
        for aid in ids():
            a, fns = get(aid), solution_functions(aid)
            for seed in (0, 1):
                for ex, cases in zip(a.exercises, verifier.make_cases(a, seed)):
                    data = pack({"results": [ex.run(fns[ex.name], c) for c in cases]})
                    with zipfile.ZipFile(io.BytesIO(data)) as z:
                        members = z.infolist()
                    manifest = next(m.file_size for m in members if m.filename == "__manifest__.npy")
                    key = f"{aid}:{ex.name}"
                    old = biggest.get(key, (0, 0, 0))
                    biggest[key] = (max(old[0], len(data)), max(old[1], len(members)), max(old[2], manifest))
                    unpack(data, max_bytes=verifier.MAX_RESULT_BYTES, max_items=plain.MAX_ITEMS // 10)
    assert max(b for b, _, _ in biggest.values()) < verifier.MAX_RESULT_BYTES / 3, biggest
    assert max(n for _, n, _ in biggest.values()) < plain.MAX_ARRAYS / 10, biggest
    assert max(m for _, _, m in biggest.values()) < plain.MAX_MANIFEST_BYTES / 10, biggest


def test_a_result_file_over_the_cap_is_not_read(tmp_path):
    data = _read_back(tmp_path, {"results": [np.zeros(5_000_000)]})  # 40 MB
    assert "larger than the 32 MiB" in data["runner_error"]
    v = verifier.judge_bounded(MOMENTUM.exercise("sgd_momentum"), _cases(MOMENTUM, "sgd_momentum"), data, 30)
    assert not v.passed and v.score == 0 and "larger than the 32 MiB" in v.problems[0]


# ---------------------------------------------------------------------------------------------
# Judging: early rejections and the time bound


def _hostile(cases, first, rest=None):
    """Results whose first case is ``first`` and the others ``rest`` (default: the same)."""
    return {"results": [first] + [rest if rest is not None else first] * (len(cases) - 1)}


@pytest.mark.parametrize("kind", ["array", "list", "dict"])
def test_huge_results_are_judged_quickly_with_a_clear_problem(tmp_path, kind):
    """A (3,000,000,) array, a list of 99,000 floats, a dict of 99,000 keys where three floats are expected."""
    ex = MOMENTUM.exercise("momentum_optimal_params")
    cases = _cases(MOMENTUM, ex.name)
    value = {"array": np.zeros(3_000_000), "list": [0.5] * 99_000, "dict": {str(i): 0.5 for i in range(99_000)}}[kind]
    data = _read_back(tmp_path, _hostile(cases, {"result": value, "mutated": []},
                                         {"result": [0.1, 0.2, 0.3], "mutated": []}))
    t0 = time.monotonic()
    v = verifier.judge_bounded(ex, cases, data, 30)
    assert time.monotonic() - t0 < 20  # finished at all, well within the bound
    assert not v.passed and v.outcome == "failed"
    expected = {"array": "should be a sequence of 3, got ndarray", "list": "has 99000 items, expected 3",
                "dict": "should be a sequence of 3, got dict"}[kind]
    assert expected in v.problems[0]
    assert all(len(p) < 2000 for p in v.problems)


def test_a_huge_array_in_an_update_rule_is_refused_by_its_shape(tmp_path):
    ex = MOMENTUM.exercise("sgd_momentum")
    cases = _cases(MOMENTUM, ex.name)
    steps = [{"next_w": np.zeros(2_000_000 // len(cases[0]["dws"])), "config": {"velocity": np.zeros(1)}}
             for _ in cases[0]["dws"]]  # 16 MB in all
    data = _read_back(tmp_path, _hostile(cases, {"steps": steps, "mutated": []}, {"steps": [], "mutated": []}))
    t0 = time.monotonic()
    v = verifier.judge_bounded(ex, cases, data, 30)
    assert time.monotonic() - t0 < 20
    n = len(steps[0]["next_w"])
    assert not v.passed and f"next_w after step 1 has shape ({n},), expected (1,)" in v.problems[0]


def test_problem_texts_take_a_bounded_part_of_the_result():
    ex = MOMENTUM.exercise("momentum_optimal_params")
    cases = _cases(MOMENTUM, ex.name)
    huge = "x" * 10_000_000
    for actual in ({"result": huge, "mutated": []},                      # a string where numbers are expected
                   {"result": [0.1, 0.2, 0.3], "mutated": [huge] * 1000},  # a forged list of mutated inputs
                   {"error": huge, "error_type": huge, "mutated": []}):   # a forged error
        v = verifier.judge_bounded(ex, cases, _hostile(cases, actual), 30)
        assert not v.passed and all(len(p) < 3000 for p in v.problems), [len(p) for p in v.problems]
    v = verifier.judge_results(ex, cases, {"missing": huge})
    assert len(v.problems[0]) <= 500
    v = verifier.judge_results(ex, cases, {"runner_error": [huge] * 10})
    assert len(v.problems[0]) < 400


def test_no_mutant_runs_for_a_result_far_larger_than_the_reference(monkeypatch):
    import autograder.mutants as mutants

    calls = []
    real = mutants.catalogue
    monkeypatch.setattr(mutants, "catalogue", lambda aid: calls.append(aid) or real(aid))
    ex = MOMENTUM.exercise("sgd_momentum")
    case = _cases(MOMENTUM, ex.name)[2]
    expected = ex.reference(case)
    huge = {"steps": [{"next_w": np.zeros(200_000), "config": {}}], "mutated": []}
    assert ex.explain(case, expected, huge) is None
    assert calls == []
    # a result of the reference's size still gets its hint from the catalogue
    wrong = {**expected, "steps": [{**s, "next_w": -s["next_w"]} for s in expected["steps"]]}
    ex.explain(case, expected, wrong)
    assert calls == ["03_momentum"]


def _slow_exercise(properties):
    import dataclasses

    return dataclasses.replace(MOMENTUM.exercise("momentum_optimal_params"), reference=None, properties=properties)


def _spin(case, actual):
    while True:
        pass


def _swallow(case, actual):  # catches Exception (as judging code does), never BaseException
    while True:
        try:
            sum(range(1000))
        except Exception:  # noqa: BLE001
            pass


@pytest.mark.parametrize("props", [_spin, _swallow])
@pytest.mark.parametrize("where", ["main thread", "other thread"])
def test_judging_one_exercise_is_time_bounded_in_any_thread(props, where):
    ex = _slow_exercise(props)
    cases = _cases(MOMENTUM, ex.name)
    data = _hostile(cases, {"result": [0.1, 0.2, 0.3], "mutated": []})
    before = threading.active_count()
    out = {}

    def judge():
        t0 = time.monotonic()
        out["verdict"] = verifier.judge_bounded(ex, cases, data, 1.0)
        out["seconds"] = time.monotonic() - t0

    if where == "main thread":
        judge()
    else:  # as in a Dask worker: no signals there
        t = threading.Thread(target=judge)
        t.start()
        t.join(30)
    v = out["verdict"]
    assert out["seconds"] < 15
    assert not v.passed and v.score == 0 and v.outcome == "timeout"
    assert v.problems == [v.problems[0]] and "could not be judged within 1 s" in v.problems[0]
    deadline = time.monotonic() + 10  # and the judging thread was stopped, not left spinning
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() == before


def test_find_minima_of_a_million_true_minima_ends_in_the_judge_timeout():
    """The issue's case: a (k, 2) array of true minima, k huge; find_minima's properties check every row."""
    a = get("02_local_optima")
    ex = a.exercise("find_minima")
    cases = _cases(a, ex.name)
    with np.errstate(all="ignore"):
        good = [ex.run(solution_functions("02_local_optima")[ex.name], c) for c in cases]
    data = {"results": [{"result": np.tile(r["result"][:1], (1_000_000, 1)), "mutated": []} for r in good]}
    t0 = time.monotonic()
    v = verifier.judge_bounded(ex, cases, data, 2.0)
    assert time.monotonic() - t0 < 15
    assert v.outcome == "timeout" and not v.passed and "within 2 s" in v.problems[0]


def test_honest_and_wrong_results_are_judged_as_before():
    ex = MOMENTUM.exercise("sgd_momentum")
    cases = _cases(MOMENTUM, ex.name)
    fn = solution_functions("03_momentum")[ex.name]
    v = verifier.judge_bounded(ex, cases, {"results": [ex.run(fn, c) for c in cases]}, 30)
    assert v.passed and v.outcome == "passed"
    from autograder.mutants import catalogue

    mutant, description = next(iter(catalogue("03_momentum")[ex.name].values()))
    v = verifier.judge_bounded(ex, cases, {"results": [ex.run(mutant, c) for c in cases]}, 30)
    assert not v.passed and "Hint: it looks like" in v.problems[0]


# ---------------------------------------------------------------------------------------------
# The in-kernel run: incremental saving, and reading it back as hostile data


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    lib = build_lib_dir(tmp_path_factory.mktemp("costs") / "lib", mpl_cache=False)
    ok, why = probe(lib)
    if not ok:
        pytest.skip(f"bubblewrap is not usable here: {why}")
    return get_sandbox(lib)


def _notebook(sources):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for src in sources:
        nb.cells.append(nbformat.v4.new_markdown_cell(src[1:]) if src.startswith("#") else
                        nbformat.v4.new_code_cell(src))
    return nb


def _run_kernel(sandbox, tmp_path, nb, **options):
    from autograder.grading import worker
    from autograder.grading.records import GradeJob

    opts = {"cell_timeout": 20.0, "notebook_timeout": 60.0, **options}
    return worker.run_kernel(GradeJob(student_id="s", options=opts, notebook="nb.ipynb"), sandbox, tmp_path, nb)


_PRINTS = [f"print('cell', {i})" for i in range(5)]


@pytest.mark.parametrize("ending", ["kill the runner", "loop past the notebook timeout"])
def test_a_runner_stopped_mid_notebook_still_gives_back_what_ran(sandbox, tmp_path, ending):
    last = {"kill the runner": "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)",
            "loop past the notebook timeout": "while True:\n    pass"}[ending]
    nb = _notebook(["#a title", *_PRINTS, last, "print('never')"])
    t0 = time.monotonic()
    graded, report, executed, notes, flags, _ = _run_kernel(sandbox, tmp_path, nb, cell_timeout=60.0,
                                                         notebook_timeout=20.0)
    assert time.monotonic() - t0 < 120
    assert report.get("finished") is False and report.get("last_cell") == 5
    assert executed == set(range(6))
    for i in range(1, 6):
        assert [o.get("text") for o in graded.cells[i].outputs] == [f"cell {i - 1}\n"], graded.cells[i].outputs
        assert graded.cells[i].execution_count == i
    assert graded.cells[7].outputs == []
    assert ("timeout" if "loop" in ending else "kernel-died") in flags
    assert not any("no output came back" in n for n in notes), notes
    nbformat.validate(graded)


def test_a_finished_run_writes_the_notebook_once_and_it_is_used(sandbox, tmp_path):
    nb = _notebook(_PRINTS + ["1 / 0"])
    graded, report, executed, notes, flags, _ = _run_kernel(sandbox, tmp_path, nb)
    assert report["finished"] is True and not flags
    assert [c.outputs[0].get("text") for c in graded.cells[:5]] == [f"cell {i}\n" for i in range(5)]
    assert graded.cells[5].outputs[0]["ename"] == "ZeroDivisionError"


def test_forged_cell_lines_are_read_as_hostile_data():
    from autograder.grading import worker
    from autograder.kernel.run_notebook import source_sha256

    nb = _notebook(["print(1)", "#text", "print(2)", "print(3)"])
    good = lambda i, text, **kw: json.dumps({"index": i, "id": nb.cells[i].id,  # noqa: E731
                                             "source_sha256": source_sha256(nb.cells[i].source), "execution_count": i,
                                             "outputs": [{"output_type": "stream", "name": "stdout", "text": text}],
                                             **kw})
    lines = [good(0, "one\n"),
             "not json at all", "[1, 2]", '{"index": 10**12}', json.dumps({"index": 10**12, "outputs": []}),
             good(1, "markdown cell"),                                   # not a code cell
             good(2, "two\n", source_sha256="0" * 64),                   # another source
             good(2, "two\n", id="other"),                               # another cell
             good(3, "three\n"), good(3, "three again\n"),               # the later line wins
             '{"index": 2, "outputs": ' + "[" * 100_000 + "]" * 100_000 + "}"]  # nested past the parser
    cells = worker._logged_cells("\n".join(lines).encode() + b"\xff\xfe garbage", nb, 1000)
    merged = worker._merge_outputs(nb, cells)
    assert merged == 2
    assert [c.outputs for c in nb.cells if c.cell_type == "code"] == [
        [{"output_type": "stream", "name": "stdout", "text": "one\n"}], [],
        [{"output_type": "stream", "name": "stdout", "text": "three again\n"}]]
    # millions of tiny JSON objects are refused before they are parsed
    assert worker._logged_cells(b"[" + b"{}," * 2_000_000 + b"{}]", nb, 1000) == []
    with pytest.raises(ValueError):
        worker._executed_cells(b'{"cells": [' + b"{}," * 2_000_000 + b"{}]}", nb, 1000)
    # more outputs than run_notebook keeps: none are taken
    many = json.dumps({"cells": [{"id": nb.cells[0].id, "cell_type": "code", "source": nb.cells[0].source,
                                  "outputs": [{"output_type": "stream", "name": "stdout", "text": "x"}] * 2000}]})
    assert worker._executed_cells(many.encode(), nb, 1000) == []


def test_run_notebook_keeps_at_most_max_outputs(tmp_path):
    """A million empty display() calls count nothing against the character caps: the count is capped."""
    lib = build_lib_dir(tmp_path / "lib", mpl_cache=False)
    nb = _notebook(["from IPython.display import display, HTML\nfor _ in range(300):\n    display(HTML(''))",
                    "print('after')"])
    nbformat.write(nb, tmp_path / "nb.ipynb")
    subprocess.run([sys.executable, "-I", str(REPO / "autograder" / "kernel" / "run_notebook.py"), "--lib", str(lib),
                    "--notebook", str(tmp_path / "nb.ipynb"), "--output", str(tmp_path / "out.ipynb"),
                    "--report", str(tmp_path / "report.json"), "--max-outputs", "50"],
                   cwd=tmp_path, env={**os.environ, "HOME": str(tmp_path)}, check=True, timeout=120,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["finished"] and 0 in report["truncated_cells"] and 1 in report["truncated_cells"]
    assert sum(len(c.outputs) for c in out.cells) <= 50 + 2 * len(out.cells)
    assert "[output truncated by the grader]" in out.cells[0].outputs[-1]["text"]
    lines = (tmp_path / "out.ipynb.cells.jsonl").read_text().splitlines()
    assert [json.loads(ln)["index"] for ln in lines] == [0, 1]


def test_the_judge_timeout_is_an_option_of_nnopt_grade():
    from autograder import cli
    from autograder.grading.coordinator import GradeOptions
    from autograder.grading.records import GradeJob

    args = cli.build_parser().parse_args(["03_momentum", "subs", "--out", "out", "--judge-timeout", "7"])
    assert args.judge_timeout == 7.0
    assert cli.build_parser().parse_args(["03_momentum", "subs", "--out", "out"]).judge_timeout == 30.0
    assert GradeJob("s").options["judge_timeout"] == GradeOptions("a", Path("s"), Path("o")).judge_timeout == 30.0
    assert verifier.JUDGE_TIMEOUT == 30.0
