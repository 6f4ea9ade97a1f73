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
    for command in ("lab", "test", "generate", "bench", "check", "reset"):
        assert f"run.py {command}" in proc.stdout


def _run_py():
    import importlib.util

    spec = importlib.util.spec_from_file_location("nnopt_run_py", ROOT / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lab_passes_allow_root_only_as_root_and_keeps_the_users_flags():
    run_py = _run_py()
    as_user = run_py.lab_arguments(["--port=8899"], is_root=False)
    assert "--allow-root" not in as_user and as_user[-1] == "--port=8899"
    assert as_user[:2] == [str(run_py.BIN / "jupyter"), "lab"]
    as_root = run_py.lab_arguments(["--port=8899"], is_root=True)
    assert as_root.count("--allow-root") == 1 and as_root[-1] == "--port=8899"
    assert run_py.lab_arguments(["--allow-root"], is_root=True).count("--allow-root") == 1


def test_lab_and_tests_run_with_the_venvs_bin_first_on_path():
    """Formgrader, opened from Lab, runs nbgrader's migrations with `alembic` from PATH."""
    run_py = _run_py()
    env = run_py.venv_environment({"PATH": "/usr/bin:/bin", "HOME": "/h"})
    assert env["PATH"].split(os.pathsep) == [str(run_py.BIN), "/usr/bin", "/bin"]
    assert env["VIRTUAL_ENV"] == str(run_py.VENV) and env["HOME"] == "/h"


def test_ctrl_c_ends_quietly_with_status_130(monkeypatch, capsys):
    run_py = _run_py()

    def interrupted(extra):
        raise KeyboardInterrupt

    monkeypatch.setitem(run_py.COMMANDS, "lab", interrupted)
    assert run_py.main(["lab"]) == 130
    assert "[nnopt] stopped" in capsys.readouterr().out


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
    # as root (CI, a container) run.py itself must pass --allow-root, or Jupyter exits
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
