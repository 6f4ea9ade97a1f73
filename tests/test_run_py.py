"""The README's commands: `python3 run.py` itself (usage, and `lab` really serving the course)."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_usage_lists_the_commands_and_exits_2():
    proc = subprocess.run([sys.executable, str(ROOT / "run.py")], capture_output=True, text=True)
    assert proc.returncode == 2
    for command in ("lab", "test", "generate", "bench"):
        assert f"run.py {command}" in proc.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_run_py_lab_serves_the_student_notebooks(tmp_path):
    if not (ROOT / ".venv" / ".nnopt-installed").exists():
        pytest.skip("run.py has not set up .venv here (run the suite with `python3 run.py test`)")
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "IPYTHONDIR": str(tmp_path / "ipython")}
    args = [sys.executable, str(ROOT / "run.py"), "lab", "--no-browser", f"--port={port}",
            f"--IdentityProvider.token={token}", "--ip=127.0.0.1"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")
    log = open(tmp_path / "lab.log", "wb")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5) as r:
                    assert r.status == 200
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("run.py lab did not come up:\n" + (tmp_path / "lab.log").read_text()[-3000:])
                time.sleep(0.5)
        with urllib.request.urlopen(f"{base}/api/contents/notebooks/03_momentum?token={token}", timeout=10) as r:
            names = [item["name"] for item in json.load(r)["content"]]
        assert "03_momentum.ipynb" in names
        # The landing page is the notebooks/ folder, as the README says.
        with urllib.request.urlopen(f"{base}/?token={token}", timeout=10) as r:
            assert urllib.parse.urlparse(r.geturl()).path.rstrip("/") == "/lab/tree/notebooks"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
