"""The hidden modules are out of the sandbox's reach however the course is installed (issue 6, item 3).

``run.py`` installs the course in editable mode: ``site-packages`` then holds only a finder that
points into the course directory, which the sandbox does not mount. A grading server may instead
``pip install .``: that copies ``autograder/`` — references, assignments, mutants — into
``site-packages``, inside the environment the sandbox mounts read-only. The sandbox then mounts an
empty directory over that copy, and its self-test refuses to grade when any hidden module is still
importable.

The non-editable case is built the way pip lays it out (the packages copied into a fresh venv's
``site-packages``, NumPy beside them), without a network or a build step.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

from autograder import sandbox

REPO = Path(__file__).resolve().parents[1]

# Runs with the Python under test: where is the instructor's package, does the sandbox start, and
# what can sandboxed code import?
_CHECK = textwrap.dedent('''
    import json, os, sys, tempfile
    from pathlib import Path
    from autograder import sandbox

    out = {"autograder": os.path.dirname(sandbox.__file__), "masked": sandbox.installed_instructor_packages()}
    base = Path(tempfile.mkdtemp(prefix="nnopt-install-")); os.chmod(base, 0o755)
    lib = sandbox.build_lib_dir(base / "lib", mpl_cache=False)
    out["probe"] = sandbox.probe(lib)
    scratch = base / "s"; scratch.mkdir(); os.chmod(scratch, 0o777)
    code = ("import importlib, json, os, sys\\n"
            "found = {}\\n"
            "for name in ('autograder.references', 'autograder.assignments', 'autograder.mutants'):\\n"
            "    for path in (list(sys.path), ['/opt/nnopt'] + sys.path):\\n"
            "        sys.path[:] = path\\n"
            "        for m in [m for m in sys.modules if m.startswith('autograder')]: del sys.modules[m]\\n"
            "        try:\\n"
            "            found[name] = importlib.import_module(name).__file__\\n"
            "        except Exception as exc:\\n"
            "            found.setdefault(name + ' error', type(exc).__name__)\\n"
            "print(json.dumps(found))\\n")
    if out["probe"][0]:
        sb = sandbox.get_sandbox(lib)
        r = sb.run([sb.python, "-I", "-c", code], scratch, sandbox.Limits(wall_seconds=60))
        out["inside"] = json.loads(r.stdout.decode() or "{}")
        out["listing"] = {p: None for p in out["masked"]}
    # Without the mask, the self-test must refuse (the refusal is what stands between a new
    # install layout and a leak).
    sandbox.installed_instructor_packages = lambda: []
    sandbox._probe_cached.cache_clear()
    out["unmasked_probe"] = sandbox.probe(lib)
    try:
        sandbox.get_sandbox(lib)
        out["unmasked_get"] = "started"
    except sandbox.SandboxUnavailable as exc:
        out["unmasked_get"] = str(exc)
    print("RESULT " + json.dumps(out))
''')


def _bwrap_or_skip(tmp_path):
    lib = sandbox.build_lib_dir(tmp_path / "probe-lib", mpl_cache=False)
    ok, why = sandbox.probe(lib)
    if not ok:
        if os.environ.get("NNOPT_REQUIRE_SANDBOX") == "1":
            pytest.fail(f"bubblewrap is required here: {why}")
        pytest.skip(f"bubblewrap is not usable here: {why}")


def _run_check(python: str, cwd: Path) -> dict:
    r = subprocess.run([python, "-I", "-c", _CHECK], cwd=cwd, capture_output=True, text=True, timeout=300)
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("RESULT ")), None)
    assert line, (r.returncode, r.stdout[-2000:], r.stderr[-3000:])
    return json.loads(line[len("RESULT "):])


@pytest.mark.slow
def test_editable_install_nothing_to_hide(tmp_path):
    """This venv (``run.py``'s editable install): no copy to mask; the sandbox finds no hidden module."""
    _bwrap_or_skip(tmp_path)
    out = _run_check(sys.executable, tmp_path)
    assert out["autograder"] == str(REPO / "autograder")
    assert out["masked"] == []
    assert out["probe"][0], out
    assert not any(k in out["inside"] for k in sandbox.HIDDEN_MODULES), out["inside"]
    # nothing was hidden, so the unmasked self-test passes too
    assert out["unmasked_probe"][0], out


@pytest.mark.slow
def test_regular_install_hides_the_copy_and_refuses_without_the_mask(tmp_path):
    """A ``pip install .`` layout: the copy in site-packages is masked; unmasked, grading is refused."""
    _bwrap_or_skip(tmp_path)
    env = tmp_path / "server-venv"
    subprocess.run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", "--without-pip", str(env)],
                   check=True, timeout=120)
    site = Path(subprocess.run([str(env / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    ours = Path(sysconfig.get_paths()["purelib"])
    for name in ("autograder", "nnopt_helpers"):  # what `pip install .` copies (package data included)
        shutil.copytree(REPO / name, site / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("numpy", "numpy.libs", "psutil"):  # what the grader and the sandboxed side import
        if (ours / name).exists():
            shutil.copytree(ours / name, site / name, ignore=shutil.ignore_patterns("__pycache__"))
    os.chmod(tmp_path, 0o755)
    out = _run_check(str(env / "bin" / "python"), tmp_path)
    assert out["autograder"] == str(site / "autograder"), out
    assert out["masked"] == [str(site / "autograder")], out
    assert out["probe"][0], out
    inside = out["inside"]
    assert not any(k in inside for k in sandbox.HIDDEN_MODULES), inside
    assert all(inside.get(f"{k} error") == "ModuleNotFoundError" for k in sandbox.HIDDEN_MODULES), inside
    # Control: without the mask the self-test sees the copy and grading is refused, with the reason.
    assert not out["unmasked_probe"][0]
    assert "hidden modules would be importable" in out["unmasked_probe"][1]
    assert "/site-packages/autograder/" in out["unmasked_probe"][1]
    assert "refusing to grade without a sandbox" in out["unmasked_get"]
