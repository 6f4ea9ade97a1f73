#!/usr/bin/env python3
"""The nnopt course, learner edition; needs nothing but Python 3.10+.

    python3 run.py lab        set up .venv (first time only) and open the course in JupyterLab
    python3 run.py check NB   run NB's visible checks: points per exercise and a total

Set-up is idempotent: the virtualenv is (re)installed only when pyproject.toml changed.
Anything after `lab` goes to Jupyter (`run.py lab --port 8899`).
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
    """Create .venv and install the course's helper package and its dependencies when needed."""
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
    subprocess.run([*pip, "install", "--quiet", "-e", str(ROOT)], check=True)
    STAMP.write_text(want)


def environment() -> dict:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(BIN)] + [p for p in env.get("PATH", "").split(os.pathsep) if p])
    env["VIRTUAL_ENV"] = str(VENV)
    return env


def cmd_lab(extra: list[str]) -> int:
    ensure_env()
    say("opening JupyterLab on notebooks/ (Ctrl+C to stop)")
    args = [str(BIN / "jupyter"), "lab", f"--ServerApp.root_dir={ROOT}", "--LabApp.default_url=/lab/tree/notebooks"]
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in extra:
        say("running as root (a container?): passing --allow-root to Jupyter")
        args.append("--allow-root")
    return subprocess.call(args + extra, cwd=ROOT, env=environment())


def cmd_check(extra: list[str]) -> int:
    ensure_env()
    args = [str(Path(a).resolve()) if Path(a).exists() else a for a in extra]
    return subprocess.call([str(PY), "-m", "nnopt_helpers.selfcheck", *args], cwd=ROOT, env=environment())


COMMANDS = {"lab": cmd_lab, "check": cmd_check}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__)
        return 2
    try:
        return COMMANDS[argv[0]](argv[1:])
    except KeyboardInterrupt:
        print()
        say("stopped")
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
