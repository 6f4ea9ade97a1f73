"""The bubblewrap sandbox: what student code can see, write and use, and what stops it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from autograder import sandbox as sbx
from autograder.sandbox import Limits, SandboxUnavailable, build_lib_dir, get_sandbox, probe


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return tmp_path_factory.mktemp("sandbox")


@pytest.fixture(scope="module")
def sandbox(base):
    lib = build_lib_dir(base / "lib", mpl_cache=False)
    ok, why = probe(lib)
    if not ok:
        pytest.skip(f"bubblewrap is not usable here: {why}")
    return get_sandbox(lib)


@pytest.fixture
def scratch(tmp_path):
    d = tmp_path / "scratch"
    d.mkdir()
    return d


def run_py(sandbox, scratch, code: str, **limits):
    return sandbox.run([sandbox.python, "-I", "-c", textwrap.dedent(code)], scratch,
                       Limits(**{"wall_seconds": 30, **limits}))


def test_runs_as_nobody_without_network_and_with_isolated_imports(sandbox, scratch):
    (scratch / "numpy.py").write_text("raise SystemExit('the planted numpy.py was imported')\n")
    res = run_py(sandbox, scratch, """
        import os, socket, sys
        import numpy
        print(os.getuid(), os.getgid(), numpy.__file__.startswith(sys.prefix) or numpy.__file__)
        for host in [("192.0.2.1", 80), ("127.0.0.53", 53)]:
            try:
                socket.create_connection(host, timeout=1)
                print("CONNECTED", host)
            except OSError:
                pass
        try:
            socket.getaddrinfo("pypi.org", 443)
            print("RESOLVED")
        except OSError:
            pass
    """)
    assert res.returncode == 0, res.stderr
    assert res.stdout.decode().split() == ["65534", "65534", "True"]


def test_cannot_read_the_course(sandbox, scratch, tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    secret = course / "gradebook.db"
    secret.write_text("hidden tests and everyone's grades")
    os.chmod(course, 0o755)
    os.chmod(secret, 0o644)
    repo = Path(__file__).resolve().parents[1]
    hidden = [secret, course, repo / "gradebook.db", repo / "solutions", repo / "autograder" / "references",
              repo / "autograder" / "mutants", repo / "autograder" / "assignments", repo / "nbgrader_config.py"]
    res = run_py(sandbox, scratch, f"""
        import json, os
        paths = {[str(p) for p in hidden]!r}
        print(json.dumps({{"visible": [p for p in paths if os.path.exists(p)],
                          "root": sorted(os.listdir("/")),
                          "lib": sorted(os.listdir("/opt/nnopt/autograder")),
                          "repo": sorted(os.listdir({str(repo)!r})) if os.path.exists({str(repo)!r}) else []}}))
    """)
    assert res.returncode == 0, res.stderr
    seen = json.loads(res.stdout)
    assert seen["visible"] == []
    # the system dirs, the sandbox's own dirs, and the first component of each Python root it mounts
    # (the virtualenv lives wherever the clone is: /work/... here, /check/... on CI)
    python_tops = {Path(dest).parts[1] for _, dest in sbx._python_roots()}
    assert set(seen["root"]) <= {"bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "opt", "proc",
                                 "sbin", "submission", "tmp", "usr"} | python_tops
    assert not {"assignments", "references", "mutants", "expected.py", "generate.py"} & set(seen["lib"])
    # of the repository (the course root here) only the virtualenv is mounted
    assert set(seen["repo"]) <= {".venv"}


def test_cannot_write_outside_scratch(sandbox, scratch, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    os.chmod(outside, 0o777)  # even a world-writable host directory is out of reach
    res = run_py(sandbox, scratch, f"""
        import os
        for p in [{str(outside / 'x')!r}, "/usr/x", "/opt/nnopt/x", "/opt/nnopt/autograder/plain.py",
                  "{sys.prefix}/x", "/etc/passwd", "/x", "/etc/x", "/dev/x", "/opt/x"]:
            try:
                with open(p, "a") as f:
                    f.write("pwned")
                print("WROTE", p)
            except OSError as exc:
                print("refused", p, type(exc).__name__)
        open("/submission/ok.txt", "w").write("fine")
        open("/tmp/ok.txt", "w").write("fine")
    """)
    assert res.returncode == 0, res.stderr
    assert "WROTE" not in res.stdout.decode()
    assert not (outside / "x").exists()
    assert (scratch / "ok.txt").read_text() == "fine"
    assert not Path("/tmp/ok.txt").exists() or Path("/tmp/ok.txt").read_text() != "fine"


def test_memory_limit_gives_memory_error(sandbox, scratch):
    res = run_py(sandbox, scratch, """
        import numpy as np
        try:
            a = np.ones(10**10)
        except MemoryError:
            print("MemoryError")
    """, memory_bytes=1 << 30)
    assert res.returncode == 0 and res.stdout.decode().strip() == "MemoryError"


def test_memory_watchdog_kills_a_bomb(sandbox, scratch):
    res = run_py(sandbox, scratch, """
        import time
        chunks = []
        while True:
            chunks.append(b"x" * (50 << 20))
            time.sleep(0.01)
    """, memory_bytes=4 << 30, total_memory_bytes=400 << 20)
    assert res.memory_exceeded and not res.timed_out
    assert res.wall_time < 20


def test_fork_bomb_is_contained(sandbox, scratch):
    t0 = time.monotonic()
    token = f"forkbomb-{os.getpid()}-{time.monotonic_ns()}"  # marks this test's processes only
    res = run_py(sandbox, scratch, f"""
        import os
        n = 0  # {token}
        try:
            while True:
                os.fork()
                n += 1
        except OSError as exc:
            print(type(exc).__name__, flush=True)
    """, nproc=32, wall_seconds=20)
    assert time.monotonic() - t0 < 25
    assert "BlockingIOError" in res.stdout.decode()
    # Nothing of it survives the sandbox (zombies waiting for init to reap them run nothing).
    # Only this test's processes are looked at: other sandboxes may be running in parallel.
    ps = subprocess.run(["ps", "-eo", "uid=,stat=,args="], capture_output=True, text=True).stdout.split("\n")
    alive = [line for line in ps if token in line and line.split() and int(line.split()[0]) >= sbx.UID_BASE
             and not line.split()[1].startswith("Z")]
    assert not alive


def test_wall_timeout_kills_a_loop_that_swallows_interrupts(sandbox, scratch):
    res = run_py(sandbox, scratch, """
        import signal
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:
            try:
                pass
            except KeyboardInterrupt:
                pass
    """, wall_seconds=3)
    assert res.timed_out
    assert res.wall_time < 10


def test_output_is_capped(sandbox, scratch):
    res = run_py(sandbox, scratch, """
        import sys
        for _ in range(200):
            sys.stdout.write("x" * 100_000)
    """, output_bytes=10_000)
    assert res.output_truncated
    assert len(res.stdout) == 10_000


def test_file_size_limit(sandbox, scratch):
    res = run_py(sandbox, scratch, """
        import signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        try:
            with open("big", "wb") as f:
                for _ in range(100):
                    f.write(b"x" * (1 << 20))
        except OSError as exc:
            print(type(exc).__name__)
    """, file_size_bytes=8 << 20)
    assert "OSError" in res.stdout.decode() or "FileTooLarge" in res.stdout.decode() or res.returncode != 0
    assert (scratch / "big").stat().st_size <= 8 << 20


def test_scratch_disk_use_is_limited(sandbox, scratch):
    res = run_py(sandbox, scratch, """
        i = 0
        while True:
            open(f"f{i}", "wb").write(b"x" * (8 << 20))
            i += 1
    """, scratch_bytes=64 << 20)
    assert res.disk_exceeded and not res.timed_out


def test_refuses_without_bwrap_unless_allowed(base, scratch, monkeypatch):
    monkeypatch.setenv("NNOPT_BWRAP", "/nonexistent/bwrap")
    lib = base / "lib"
    with pytest.raises(SandboxUnavailable, match="missing"):
        get_sandbox(lib)
    loose = get_sandbox(lib, allow_unsandboxed=True)
    assert not loose.sandboxed
    res = loose.run([loose.python, "-I", "-c", "print('ran')"], scratch, Limits(wall_seconds=20))
    assert res.stdout.decode().strip() == "ran" and res.sandboxed is False
