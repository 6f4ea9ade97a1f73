#!/usr/bin/env python3
"""One entry point for learners, instructors and CI; needs nothing but Python 3.10+.

    python3 run.py lab        set up .venv (first time only) and open the course in JupyterLab
    python3 run.py test       set up .venv and run the whole test suite
    python3 run.py generate   regenerate notebooks/ (the student version) from solutions/
    python3 run.py bench      run the benchmarks under bench/ and print their results
    python3 run.py check NB   grade one notebook as nnopt-grade would (points per exercise, total)
    python3 run.py reset NB   back up a notebook beside itself, then restore its released state
    python3 run.py release DIR  write the learner edition (notebooks, helpers; no answers) into DIR

Set-up is idempotent: the virtualenv is (re)installed only when pyproject.toml changed.
Anything after the command goes to the tool it runs: `run.py lab --port 8899` to Jupyter,
`run.py test -k momentum -x` to pytest.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".nnopt-installed"


def say(msg: str) -> None:
    print(f"[nnopt] {msg}", flush=True)


def ensure_env() -> None:
    """Create .venv and install the course (editable, with test extras) when needed."""
    if sys.version_info < (3, 10):
        sys.exit(f"nnopt needs Python 3.10 or newer; this is {sys.version.split()[0]}")
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == want and PY.exists():
        return
    if not PY.exists():
        say(f"creating a virtual environment in {VENV}")
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
    say("installing the course and its dependencies (a few minutes the first time)")
    pip = [str(PY), "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "install", "--quiet", "-e", f"{ROOT}[test]"], check=True)
    STAMP.write_text(want)


def run(*args: str, **kw) -> int:
    return subprocess.call(list(args), cwd=ROOT, **kw)


def venv_environment(environ=None) -> dict:
    """The environment of a command run from the venv: its ``bin`` first on PATH (so that Lab's
    terminals, kernels and nbgrader's formgrader find the venv's tools, e.g. ``alembic``)."""
    env = dict(os.environ if environ is None else environ)
    env["PATH"] = os.pathsep.join([str(BIN)] + [p for p in env.get("PATH", "").split(os.pathsep) if p])
    env["VIRTUAL_ENV"] = str(VENV)
    return env


def lab_arguments(extra: list[str], is_root: bool) -> list[str]:
    """``jupyter lab``'s arguments: the course's root and landing page, then the user's flags.

    Jupyter refuses to run as root unless told to; as root (a container, a CI machine) we say so
    and pass ``--allow-root``.
    """
    args = [str(BIN / "jupyter"), "lab", f"--ServerApp.root_dir={ROOT}", "--LabApp.default_url=/lab/tree/notebooks"]
    if is_root and "--allow-root" not in extra:
        say("running as root (a container?): passing --allow-root to Jupyter")
        args.append("--allow-root")
    return args + list(extra)


def cmd_lab(extra: list[str]) -> int:
    ensure_env()
    say("opening JupyterLab on notebooks/ (Ctrl+C to stop)")
    is_root = hasattr(os, "geteuid") and os.geteuid() == 0
    return run(*lab_arguments(extra, is_root), env=venv_environment())


def cmd_test(extra: list[str]) -> int:
    ensure_env()
    # Independent tests run in parallel on every core (pytest-xdist); see README for timings.
    workers = os.environ.get("NNOPT_TEST_WORKERS", "auto")
    return run(str(PY), "-m", "pytest", "-n", workers, "--dist", "loadgroup", *extra, env=venv_environment())


def cmd_generate(extra: list[str]) -> int:
    ensure_env()
    return run(str(PY), "-m", "autograder.generate", *extra)


def cmd_bench(extra: list[str]) -> int:
    ensure_env()
    code = 0
    for script in sorted((ROOT / "bench").glob("bench_*.py")):
        say(f"running {script.name}")
        code |= run(str(PY), str(script), *extra)
    return code


def cmd_check(extra: list[str]) -> int:
    ensure_env()
    return run(str(PY), "-m", "autograder.check", *[str(Path(a).resolve()) if Path(a).exists() else a for a in extra],
               env=venv_environment())


def cmd_reset(extra: list[str]) -> int:
    ensure_env()
    return run(str(PY), "-m", "autograder.reset", *[str(Path(a).resolve()) if Path(a).exists() else a for a in extra],
               env=venv_environment())


def cmd_release(extra: list[str]) -> int:
    ensure_env()
    return run(str(PY), "-m", "autograder.release", *[str(Path(a).resolve()) if not a.startswith("-") else a
                                                       for a in extra], env=venv_environment())


COMMANDS = {"release": cmd_release, "lab": cmd_lab, "test": cmd_test, "generate": cmd_generate, "bench": cmd_bench, "check": cmd_check,
            "reset": cmd_reset}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__)
        return 2
    try:
        return COMMANDS[argv[0]](argv[1:])
    except KeyboardInterrupt:  # Ctrl+C: the tool has already said what it stopped
        print()
        say("stopped")
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
