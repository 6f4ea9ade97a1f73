"""Run untrusted code (a learner's notebook, or what the verifier re-runs of it) where it cannot reach the grade.

The sandbox is bubblewrap (``bwrap``) with every namespace unshared. What the sandboxed process
sees is built from nothing:

* read-only: ``/usr`` (and the ``/bin``, ``/lib*`` links into it), a handful of ``/etc`` files
  (the loader cache, and a ``passwd`` that knows only ``nobody``), the Python installation and
  the virtualenv the grader runs from, and a per-run *lib dir* mounted at ``/opt/nnopt`` that
  holds copies of exactly the modules the sandboxed side needs (``autograder/plain.py``,
  ``drivers.py``, ``spec.py``, ``autograder/kernel/`` and ``nnopt_helpers``) plus the in-kernel
  test data the grader computed for this run;
* writable: a scratch copy of the submission's notebook at ``/submission`` (the only host
  directory it can write to) and a size-limited tmpfs at ``/tmp``;
* hidden: an installed copy of the instructor's package (``autograder`` in ``site-packages``,
  after a non-editable ``pip install .``) lies inside the mounted environment; an empty read-only
  directory is mounted over it (:func:`installed_instructor_packages`), and the self-test refuses
  the sandbox if any ``autograder.references``, ``assignments`` or ``mutants`` is still visible;
* nothing else: the course directory, the gradebook, ``solutions/``, the hidden-test modules,
  references, mutants and other students' submissions are not mounted at all; there is no
  network (only a private loopback, which the Jupyter kernel needs), a private ``/proc`` and a
  minimal ``/dev``.

Who runs it. When the grader is root (a course server, CI), each sandbox gets a uid of its own
(``UID_BASE`` + a slot held by a lock file) and bwrap is started through ``setpriv`` as that
uid, so the sandbox is an unprivileged user both inside (mapped to ``nobody``) and outside, and
``RLIMIT_NPROC`` really bounds the sandbox's processes (the kernel ignores it for root, and a uid
shared between sandboxes would let one fork bomb starve the others). Sources the unprivileged uid
cannot reach (a Python under ``/root/.pyenv``) are first bind-mounted onto world-readable mount
points in a private mount namespace (``unshare --mount``), which vanishes with the sandbox. When
the grader is not root, bwrap runs as the calling user with a user namespace.

Limits: ``prlimit`` sets CPU seconds, address space, processes, file size, open files and core
size before anything else starts; a watchdog in the grader kills the whole sandbox (its process
group; ``--die-with-parent`` and the pid namespace take everything inside down with it) when
the wall-clock budget is spent or when the summed proportional set size (resident memory, shared
pages counted once) of its processes exceeds the total budget; stdout and stderr are read with a cap.

Without bwrap (or when its self-test fails) :func:`get_sandbox` refuses, unless the caller
allows unsandboxed runs: then the same commands run as plain subprocesses with the same rlimits
and wall clock, and every result says ``sandboxed=False``.
"""

from __future__ import annotations

import dataclasses
import fcntl
import functools
import importlib.util
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from .grading.options import default as _option

__all__ = ["Limits", "RunResult", "Sandbox", "SandboxUnavailable", "get_sandbox", "build_lib_dir",
           "installed_instructor_packages", "INSTRUCTOR_PACKAGES", "HIDDEN_MODULES",
           "probe", "read_untrusted", "SANDBOX_LIB", "SANDBOX_WORK", "LIB_MODULES"]

#: Where the lib dir and the scratch dir appear inside the sandbox.
SANDBOX_LIB = "/opt/nnopt"
SANDBOX_WORK = "/submission"
#: First uid handed to sandboxes when the grader runs as root (far from real users and subuid ranges).
UID_BASE = 1_600_000_000
UID_SLOTS = 4096
#: The only grader files copied into the lib dir (besides autograder/kernel/ and nnopt_helpers).
LIB_MODULES = ("plain.py", "drivers.py", "spec.py")

_AUTOGRADER_DIR = Path(__file__).resolve().parent
_SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


class SandboxUnavailable(RuntimeError):
    """bwrap is missing or failed its self-test, and unsandboxed runs were not allowed."""


@dataclasses.dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed run (each process gets the rlimits; wall and total memory are for the whole run)."""

    # The course's defaults come from GradeOptions (autograder/grading/options.py), their one home.
    wall_seconds: float = float(_option("notebook_timeout"))
    cpu_seconds: int = int(_option("notebook_timeout"))
    memory_bytes: int = _option("memory_mb") << 20              # RLIMIT_AS of every process
    total_memory_bytes: int = _option("total_memory_mb") << 20  # summed PSS of all the sandbox's processes (watchdog)
    nproc: int = _option("nproc")                               # processes and threads of the sandbox's uid
    file_size_bytes: int = 64 << 20      # RLIMIT_FSIZE
    open_files: int = 512
    tmp_bytes: int = 128 << 20           # size of the tmpfs at /tmp
    output_bytes: int = 256 << 10        # stdout and stderr kept, each
    scratch_bytes: int = 256 << 20       # what may be written into the scratch dir (watchdog)

    def replace(self, **changes) -> "Limits":
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_options(cls, options: dict, wall: float) -> "Limits":
        """The limits of one run of ``wall`` seconds under a job's options (``GradeOptions.worker_options``)."""
        return cls(wall_seconds=float(wall), cpu_seconds=int(wall) + 30, memory_bytes=int(options["memory_mb"]) << 20,
                   total_memory_bytes=int(options["total_memory_mb"]) << 20, nproc=int(options["nproc"]))


@dataclasses.dataclass
class RunResult:
    """What happened to one sandboxed command."""

    returncode: int | None
    stdout: bytes
    stderr: bytes
    wall_time: float
    timed_out: bool = False
    memory_exceeded: bool = False
    disk_exceeded: bool = False
    output_truncated: bool = False
    sandboxed: bool = True
    peak_memory_bytes: int = 0
    peak_processes: int = 0

    @property
    def killed_by_signal(self) -> int | None:
        """The signal that ended the command, if one did (bwrap reports a killed child as 128+N)."""
        rc = self.returncode
        if rc is None:
            return None
        if rc < 0:
            return -rc
        if 128 < rc < 160:
            return rc - 128
        return None

    def describe(self) -> str:
        if self.timed_out:
            return f"stopped after {self.wall_time:.0f} s (wall-clock limit)"
        if self.memory_exceeded:
            return f"stopped: used more than the memory limit ({self.peak_memory_bytes >> 20} MiB)"
        if self.disk_exceeded:
            return "stopped: wrote more files than allowed"
        sig = self.killed_by_signal
        if sig:
            try:
                name = signal.Signals(sig).name
            except ValueError:
                name = f"signal {sig}"
            return f"killed by {name}"
        return f"exited with status {self.returncode}"


# ---------------------------------------------------------------------------------------------
# The lib dir: what the sandboxed side may import


def _copy_tree(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints"),
                    dirs_exist_ok=True)


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _make_world_readable(root: Path) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        os.chmod(dirpath, 0o755)
        for f in filenames:
            os.chmod(os.path.join(dirpath, f), 0o644)


def build_lib_dir(dest: Path, extra_files: dict[str, bytes] | None = None, *, mpl_cache: bool = True) -> Path:
    """Create the read-only lib dir mounted at ``SANDBOX_LIB``; return ``dest``.

    extra_files: relative path -> bytes, written into the lib dir (the in-kernel test data and
    the ``autograder.assignments`` shim the pipeline generates).
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    pkg = dest / "autograder"
    pkg.mkdir(exist_ok=True)
    (pkg / "__init__.py").write_text('"""The parts of the nnopt autograder that run inside the sandbox."""\n')
    for name in LIB_MODULES:
        shutil.copy2(_AUTOGRADER_DIR / name, pkg / name)
    _copy_tree(_AUTOGRADER_DIR / "kernel", pkg / "kernel")
    helpers = _package_dir("nnopt_helpers")
    if helpers is not None:
        _copy_tree(helpers, dest / "nnopt_helpers")
    (dest / "empty").mkdir(exist_ok=True)  # mounted over installed copies of the instructor's package
    etc = dest / "etc"
    etc.mkdir(exist_ok=True)
    (etc / "passwd").write_text("nobody:x:65534:65534:nobody:/tmp:/usr/sbin/nologin\n")
    (etc / "group").write_text("nogroup:x:65534:\n")
    (etc / "hosts").write_text("127.0.0.1 localhost sandbox\n::1 localhost\n")
    (etc / "nsswitch.conf").write_text("passwd: files\ngroup: files\nhosts: files\n")
    for rel, data in (extra_files or {}).items():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    if mpl_cache and importlib.util.find_spec("matplotlib") is not None:
        _build_mpl_cache(dest / "mplconfig")
    _make_world_readable(dest)
    return dest


def _build_mpl_cache(target: Path) -> None:
    """Build matplotlib's font cache once on the host, so the sandbox does not spend seconds on it."""
    target.mkdir(parents=True, exist_ok=True)
    env = {"PATH": _SYSTEM_PATH, "MPLCONFIGDIR": str(target), "HOME": str(target), "MPLBACKEND": "Agg"}
    try:
        subprocess.run([sys.executable, "-I", "-c", "import matplotlib.font_manager"], env=env,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired):
        pass


# ---------------------------------------------------------------------------------------------
# uids for sandboxes (root only)


class _UidSlot:
    """Hold one sandbox uid for the duration of a run (an flock'd file per slot; freed if we die)."""

    _dir = Path(tempfile.gettempdir()) / "nnopt-sandbox-uids"

    def __init__(self):
        self.fd = None
        self.uid = None

    def __enter__(self) -> int:
        self._dir.mkdir(mode=0o700, exist_ok=True)
        start = (os.getpid() * 7919) % UID_SLOTS
        for k in range(UID_SLOTS):
            slot = (start + k) % UID_SLOTS
            fd = os.open(self._dir / f"{slot}.lock", os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            self.fd, self.uid = fd, UID_BASE + slot
            return self.uid
        raise SandboxUnavailable("no free sandbox uid slot")

    def __exit__(self, *exc):
        if self.fd is not None:
            os.close(self.fd)  # releases the lock
        self.fd = None


# ---------------------------------------------------------------------------------------------
# Running


def _world_accessible(path: str) -> bool:
    """True when an unprivileged stranger could reach ``path`` (o+x on every ancestor, o+rx on it)."""
    p = Path(path)
    try:
        for anc in list(p.parents)[::-1]:
            if not os.stat(anc).st_mode & stat.S_IXOTH:
                return False
        mode = os.stat(p).st_mode
    except OSError:
        return False
    need = stat.S_IROTH | (stat.S_IXOTH if stat.S_ISDIR(mode) else 0)
    return mode & need == need


_STAGE: list = []


def _stage_dir() -> Path:
    """A root-owned, world-readable directory of empty mount points (shared by all sandboxes of this process)."""
    if _STAGE:
        return _STAGE[0]
    cand = Path(tempfile.gettempdir()) / "nnopt-sandbox-stage"
    try:
        cand.mkdir(mode=0o755, exist_ok=True)
        st = os.lstat(cand)
        ok = stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and _world_accessible(str(cand))
    except OSError:
        ok = False
    if ok:
        os.chmod(cand, 0o755)
    else:
        cand = Path(tempfile.mkdtemp(prefix="nnopt-sandbox-stage-", dir="/tmp"))
        os.chmod(cand, 0o755)
    _STAGE.append(cand)
    return cand


#: Packages of this course that hold answers or how they are judged: never visible in a sandbox.
INSTRUCTOR_PACKAGES = ("autograder",)
#: The modules the self-test looks for on every path of the sandbox (they hold references and answers).
HIDDEN_MODULES = ("autograder.references", "autograder.assignments", "autograder.mutants")


def _site_dirs() -> list[str]:
    """Every directory the sandboxed Python may import from, besides the lib dir (host paths)."""
    import glob
    import site

    dirs = list(site.getsitepackages()) + [p for p in sys.path if p and os.path.isabs(p)]
    for pattern in ("/usr/lib/python3*/*-packages", "/usr/local/lib/python3*/*-packages",
                    "/usr/lib/python3/dist-packages"):
        dirs += glob.glob(pattern)
    out = []
    for d in dirs:
        if os.path.isdir(d) and d not in out:
            out.append(d)
    return out


def installed_instructor_packages() -> list[str]:
    """Installed copies of the instructor's package inside what the sandbox mounts (``/usr`` and the
    Python roots), as the sandbox sees them: each is hidden under an empty read-only directory.

    An editable install (``pip install -e .``, what ``run.py`` does) leaves only a finder that points
    into the course directory, which is not mounted; a regular ``pip install .`` on a grading server
    copies ``autograder/`` (references, assignments, mutants) into ``site-packages``.
    """
    mounted = ["/usr"] + [dest for _, dest in _python_roots()]
    found = []
    for d in _site_dirs():
        inside = any(d == m or d.startswith(m.rstrip("/") + "/") for m in mounted)
        for name in INSTRUCTOR_PACKAGES:
            pkg = os.path.join(d, name)
            if inside and os.path.isdir(pkg) and pkg not in found:
                found.append(pkg)
    return found


def _python_roots() -> list[tuple[str, str]]:
    """(host source, sandbox path) of the Python installation and virtualenv, outside /usr."""
    paths = []
    for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix):
        for q in (p, os.path.realpath(p)):
            if q not in paths:
                paths.append(q)
    exe_dir = os.path.dirname(os.path.realpath(sys.executable))
    if not any(exe_dir.startswith(p.rstrip("/") + "/") for p in paths):
        paths.append(exe_dir)
    roots = []
    for p in paths:
        if p == "/usr" or p.startswith("/usr/") or not os.path.isdir(p):
            continue
        roots.append((os.path.realpath(p), p))
    return roots


def _reader(stream, cap: int, sink: list, flag: list) -> None:
    kept = 0
    try:
        while True:
            chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
            if not chunk:
                break
            if kept < cap:
                part = chunk[: cap - kept]
                sink.append(part)
                kept += len(part)
                if len(part) < len(chunk):
                    flag[0] = True
            else:
                flag[0] = True
    except (OSError, ValueError):
        pass


def _descendants(pid: int):
    import psutil

    try:
        parent = psutil.Process(pid)
        return [parent] + parent.children(recursive=True)
    except psutil.Error:
        return []


def _dir_size(root: Path, stop_above: int, max_entries: int = 20000) -> int:
    """Bytes in the files under ``root`` (stops counting once past ``stop_above``; too many files counts as past)."""
    total, seen, stack = 0, 0, [str(root)]
    while stack:
        try:
            with os.scandir(stack.pop()) as it:
                for entry in it:
                    seen += 1
                    if seen > max_entries:
                        return stop_above + 1
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(entry.path)
                        else:
                            total += entry.stat(follow_symlinks=False).st_blocks * 512
                    except OSError:
                        pass
                    if total > stop_above:
                        return total
        except OSError:
            pass
    return total


def _reap_uid(uid: int, timeout: float = 10.0) -> None:
    """Kill whatever still runs as a sandbox's uid, and wait until it is gone (before the uid is reused).

    Zombies are left alone: they run nothing, and the init process reaps them.
    """
    import psutil

    deadline = time.monotonic() + timeout
    while True:
        left = []
        for p in psutil.process_iter(["uids", "status"]):
            try:
                if p.info["uids"] and p.info["uids"].real == uid and p.info["status"] != psutil.STATUS_ZOMBIE:
                    left.append(p)
                    p.kill()
            except psutil.Error:
                pass
        if not left or time.monotonic() > deadline:
            return
        time.sleep(0.05)


def _rss(procs) -> int:
    """Memory of the processes together: proportional set sizes, so that pages forked processes
    share are counted once (summed RSS would count a fork bomb of a 200 MB kernel many times over)."""
    import psutil

    total = 0
    for p in procs:
        try:
            try:
                total += p.memory_full_info().pss
            except (psutil.AccessDenied, AttributeError):
                total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


class Sandbox:
    """Runs commands under bwrap (``mode='bwrap'``) or, when allowed, as plain subprocesses (``'none'``)."""

    def __init__(self, lib_dir: Path, mode: str = "bwrap"):
        if mode not in ("bwrap", "none"):
            raise ValueError(mode)
        self.mode = mode
        self.host_lib = Path(lib_dir).resolve()
        self.python = sys.executable
        self.as_root = os.geteuid() == 0

    @property
    def sandboxed(self) -> bool:
        return self.mode == "bwrap"

    @property
    def lib(self) -> str:
        """The lib dir as the sandboxed command sees it."""
        return SANDBOX_LIB if self.sandboxed else str(self.host_lib)

    def work(self, scratch: Path) -> str:
        """The scratch dir as the sandboxed command sees it."""
        return SANDBOX_WORK if self.sandboxed else str(scratch)

    # -- command lines

    def _env(self, scratch: Path) -> dict[str, str]:
        if self.sandboxed:
            home, tmp = "/tmp", "/tmp"
        else:
            tmp = str(scratch.parent / (scratch.name + ".tmp"))
            os.makedirs(tmp, exist_ok=True)
            home = tmp
        return {
            "HOME": home, "TMPDIR": tmp, "USER": "nobody", "LOGNAME": "nobody",
            "PATH": f"{os.path.dirname(self.python)}:/usr/bin:/bin",
            "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
            "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "NUMEXPR_NUM_THREADS": "1", "VECLIB_MAXIMUM_THREADS": "1",
            "MPLCONFIGDIR": f"{tmp}/matplotlib", "IPYTHONDIR": f"{tmp}/ipython",
            "JUPYTER_CONFIG_DIR": f"{tmp}/jupyter/config", "JUPYTER_DATA_DIR": f"{tmp}/jupyter/data",
            "JUPYTER_RUNTIME_DIR": f"{tmp}/jupyter/runtime", "JUPYTER_PLATFORM_DIRS": "1",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1", "NBGRADER_EXECUTION": "autograde",
            "NNOPT_SANDBOX_LIB": self.lib, "NNOPT_SANDBOX": "1" if self.sandboxed else "0",
        }

    def _prlimit(self, limits: Limits, nproc: int) -> list[str]:
        return ["prlimit", f"--cpu={int(limits.cpu_seconds)}", f"--as={int(limits.memory_bytes)}",
                f"--nproc={int(nproc)}", f"--fsize={int(limits.file_size_bytes)}",
                f"--nofile={int(limits.open_files)}", "--core=0", "--"]

    def _bwrap(self, argv: list[str], lib: str, scratch: str, limits: Limits, staged: list[tuple[str, str]],
               env: dict) -> list[str]:
        a = [_bwrap_path(), "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent",
             "--new-session", "--uid", "65534", "--gid", "65534", "--hostname", "sandbox",
             "--ro-bind", "/usr", "/usr"]
        for d in ("/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"):
            if os.path.islink(d):
                a += ["--symlink", os.readlink(d), d]
            elif os.path.isdir(d):
                a += ["--ro-bind", d, d]
        a += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", str(int(limits.tmp_bytes)),
              "--tmpfs", "/tmp", "--perms", "0755", "--dir", "/etc"]
        for f in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime"):
            if os.path.exists(f):
                a += ["--ro-bind", os.path.realpath(f), f]
        for f in ("passwd", "group", "hosts", "nsswitch.conf"):
            a += ["--ro-bind", f"{lib}/etc/{f}", f"/etc/{f}"]
        made = {"/", "/etc", "/usr", "/tmp", "/opt"}
        a += ["--perms", "0755", "--dir", "/opt"]
        for src, dest in staged:
            for anc in reversed(Path(dest).parents):
                if str(anc) not in made:
                    made.add(str(anc))
                    a += ["--perms", "0755", "--dir", str(anc)]
            a += ["--ro-bind", src, dest]
            made.add(dest)
        for pkg in installed_instructor_packages():
            a += ["--ro-bind", f"{lib}/empty", pkg]
        a += ["--ro-bind", lib, SANDBOX_LIB, "--bind", scratch, SANDBOX_WORK, "--chdir", SANDBOX_WORK, "--clearenv"]
        for k, v in env.items():
            a += ["--setenv", k, v]
        # bwrap builds the tree on a tmpfs the sandbox user owns: make it (and /dev) read-only, so
        # that the only writable places are the scratch dir and the size-limited /tmp and /dev/shm.
        a += ["--perms", "1777", "--size", str(16 << 20), "--tmpfs", "/dev/shm", "--remount-ro", "/dev",
              "--remount-ro", "/"]
        return a + ["--"] + argv

    def _command(self, argv: list[str], scratch: Path, limits: Limits, uid: int | None) -> list[str]:
        if not self.sandboxed:
            return self._prlimit(limits, limits.nproc) + argv
        # Every source the sandbox uid could not reach is first bind-mounted onto a world-readable
        # mount point, in a private mount namespace that disappears with the sandbox.
        mounts = []

        def reachable(src: str, name: str) -> str:
            if not self.as_root or _world_accessible(src):
                return src
            point = _stage_dir() / name
            point.mkdir(exist_ok=True)
            os.chmod(point, 0o755)
            mounts.append((src, str(point)))
            return str(point)

        staged = [(reachable(src, f"python-{i}"), dest) for i, (src, dest) in enumerate(_python_roots())]
        lib = reachable(str(self.host_lib), "lib")
        work = reachable(str(scratch), "work")
        if self.as_root:
            nproc = limits.nproc
        else:
            import psutil

            mine = sum(1 for p in psutil.process_iter(["uids"]) if p.info["uids"] and p.info["uids"].real == os.getuid())
            nproc = mine + limits.nproc
        inner = self._bwrap(argv, lib, work, limits, staged, self._env(scratch))
        if self.as_root:
            inner = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs", "--"] + inner
        cmd = self._prlimit(limits, nproc) + inner
        if mounts:
            script = ('set -e; while [ "$1" != "--" ]; do mount --bind -- "$1" "$2"; shift 2; done; shift; exec "$@"')
            flat = [x for pair in mounts for x in pair]
            cmd = ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", script, "sh"] + flat + ["--"] + cmd
        return cmd

    # -- running

    def run(self, argv: list[str], scratch: Path, limits: Limits) -> RunResult:
        """Run ``argv`` (paths as the sandbox sees them: :attr:`lib`, :meth:`work`) in ``scratch``.

        ``scratch`` is a host directory that becomes the only writable host directory of the run.
        """
        scratch = Path(scratch).resolve()
        slot = _UidSlot() if (self.sandboxed and self.as_root) else None
        uid = slot.__enter__() if slot else None
        try:
            if uid is not None:
                for dirpath, dirnames, filenames in os.walk(scratch):
                    os.chown(dirpath, uid, uid)
                    for f in filenames:
                        os.chown(os.path.join(dirpath, f), uid, uid, follow_symlinks=False)
            cmd = self._command(argv, scratch, limits, uid)
            return self._watch(cmd, scratch, limits)
        finally:
            if slot:
                _reap_uid(uid)
                slot.__exit__(None, None, None)
            if not self.sandboxed:
                shutil.rmtree(scratch.parent / (scratch.name + ".tmp"), ignore_errors=True)

    def _watch(self, cmd: list[str], scratch: Path, limits: Limits) -> RunResult:
        env = {"PATH": _SYSTEM_PATH} if self.sandboxed else self._env(scratch)
        start = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=str(scratch), env=env, start_new_session=True, close_fds=True,
                                stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err, tr_out, tr_err = [], [], [False], [False]
        threads = [threading.Thread(target=_reader, args=(proc.stdout, limits.output_bytes, out, tr_out), daemon=True),
                   threading.Thread(target=_reader, args=(proc.stderr, limits.output_bytes, err, tr_err), daemon=True)]
        for t in threads:
            t.start()
        timed_out = mem_exceeded = disk_exceeded = False
        peak = peak_procs = 0
        next_du = 0.0
        procs = []
        next_scan = 0.0
        while True:
            try:
                proc.wait(timeout=0.05)
                break
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            if now - start > limits.wall_seconds:
                timed_out = True
                break
            if now >= next_scan:
                next_scan = now + 0.2
                procs = _descendants(proc.pid)
                peak_procs = max(peak_procs, len(procs))
                rss = _rss(procs)
                peak = max(peak, rss)
                if rss > limits.total_memory_bytes:
                    mem_exceeded = True
                    break
            if now >= next_du:
                next_du = now + 0.5
                if _dir_size(scratch, limits.scratch_bytes) > limits.scratch_bytes:
                    disk_exceeded = True
                    break
        if proc.returncode is None:
            self._kill(proc, procs)
        for t in threads:
            t.join(timeout=5)
        return RunResult(returncode=proc.returncode, stdout=b"".join(out), stderr=b"".join(err),
                         wall_time=time.monotonic() - start, timed_out=timed_out, memory_exceeded=mem_exceeded,
                         disk_exceeded=disk_exceeded,
                         output_truncated=tr_out[0] or tr_err[0], sandboxed=self.sandboxed, peak_memory_bytes=peak,
                         peak_processes=peak_procs)

    def _kill(self, proc: subprocess.Popen, procs) -> None:
        victims = _descendants(proc.pid) or procs
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        for p in victims:  # unsandboxed kernels run in sessions of their own
            try:
                p.kill()
            except Exception:  # noqa: BLE001 - already gone
                pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


# ---------------------------------------------------------------------------------------------
# Reading what sandboxed code wrote


def read_untrusted(root: Path, rel: str, cap: int) -> bytes:
    """The bytes of ``root/rel``, a file the sandbox could write, read without trusting it.

    Sandboxed code owns everything under its scratch dir, so a "result file" may have been
    replaced by a symlink (to ``/dev/zero``, or to any host file the grader can read), a FIFO
    (``open`` would block forever) or a huge file. Every path component below ``root`` is
    opened with ``O_NOFOLLOW``; only a regular file of at most ``cap`` bytes is read.
    Raises FileNotFoundError when it is absent, OSError when it is refused.
    """
    parts = Path(rel).parts
    if not parts or any(p in ("", ".", "..") or "/" in p for p in parts):
        raise ValueError(f"bad relative path {rel!r}")
    fds = [os.open(root, os.O_RDONLY | os.O_DIRECTORY)]
    try:
        for part in parts[:-1]:
            fds.append(os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fds[-1]))
        fds.append(os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fds[-1]))
        st = os.fstat(fds[-1])
        if not stat.S_ISREG(st.st_mode):
            raise OSError(f"{rel} is not a regular file")
        if st.st_size > cap:
            raise OSError(f"{rel} is larger than {cap} bytes")
        chunks, size = [], 0
        while size <= cap:
            chunk = os.read(fds[-1], min(1 << 20, cap + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > cap:
            raise OSError(f"{rel} is larger than {cap} bytes")
        return b"".join(chunks)
    finally:
        for fd in fds:
            os.close(fd)


# ---------------------------------------------------------------------------------------------
# Self-test


_PROBE = r"""
import os, socket, sys
HIDDEN_MODULES = %r
import numpy
out = [str(os.getuid())]
try:
    socket.create_connection(("192.0.2.1", 9), timeout=1)
    out.append("net")
except OSError:
    out.append("nonet")
out.append("cwd-not-on-path" if "" not in sys.path and os.getcwd() not in sys.path else "cwd-on-path")
# The hidden modules must not be importable from anywhere the sandbox can see (the lib dir is not on
# this path; it holds no such module anyway).
import importlib.util
visible = []
for name in HIDDEN_MODULES:
    parts = name.split(".")
    for entry in sys.path:
        if entry and os.path.isdir(os.path.join(entry, *parts)) or os.path.isfile(os.path.join(entry, *parts) + ".py"):
            visible.append(os.path.join(entry, *parts))
    try:
        spec = importlib.util.find_spec(name)
    except Exception:
        spec = None
    if spec is not None and spec.origin and os.path.exists(spec.origin):
        visible.append(spec.origin)
print(" ".join(out) + (" hidden-visible:" + ",".join(sorted(set(visible))) if visible else ""))
"""


def _bwrap_path() -> str:
    """The bwrap binary: ``$NNOPT_BWRAP`` if set (a path or a name on the system PATH), else ``bwrap``."""
    return os.environ.get("NNOPT_BWRAP") or "bwrap"


def _missing_tools(as_root: bool) -> list[str]:
    tools = [_bwrap_path(), "prlimit"] + (["setpriv", "unshare", "mount"] if as_root else [])
    return [t for t in tools if shutil.which(t, path=_SYSTEM_PATH) is None]


@functools.lru_cache(maxsize=None)
def _probe_cached(lib_dir: str, bwrap: str) -> tuple[bool, str]:
    missing = _missing_tools(os.geteuid() == 0)
    if missing:
        return False, f"missing: {', '.join(missing)}"
    sb = Sandbox(Path(lib_dir))
    with tempfile.TemporaryDirectory(prefix="nnopt-probe-", dir=Path(lib_dir).parent) as scratch:
        os.chmod(scratch, 0o755)
        try:
            res = sb.run([sb.python, "-I", "-c", _PROBE % (HIDDEN_MODULES,)], Path(scratch),
                         Limits(wall_seconds=60, cpu_seconds=60))
        except OSError as exc:
            return False, f"bwrap could not start: {exc}"
    text = res.stdout.decode(errors="replace").strip()
    if res.returncode != 0:
        detail = (res.stderr.decode(errors="replace").strip() or text)[-400:]
        return False, f"bwrap self-test failed ({res.describe()}): {detail}"
    if " hidden-visible:" in text:
        return False, ("the instructor's hidden modules would be importable inside the sandbox ("
                       + text.split(" hidden-visible:", 1)[1][:300] + "); grade from an environment where "
                       "they are not installed on a mounted path (an editable install, `pip install -e .`, is safe)")
    if text != "65534 nonet cwd-not-on-path":
        return False, f"bwrap self-test gave an unexpected answer: {text!r}"
    return True, "bwrap works"


def probe(lib_dir: Path) -> tuple[bool, str]:
    """Self-test: does a bwrap sandbox start here, as nobody, without network? (cached per lib dir)"""
    return _probe_cached(str(Path(lib_dir).resolve()), _bwrap_path())


def get_sandbox(lib_dir: Path, allow_unsandboxed: bool = False) -> Sandbox:
    """A working bwrap sandbox, or (only if allowed) an unsandboxed runner; else SandboxUnavailable."""
    ok, why = probe(lib_dir)
    if ok:
        return Sandbox(lib_dir, "bwrap")
    if allow_unsandboxed:
        sb = Sandbox(lib_dir, "none")
        sb.why_unsandboxed = why
        return sb
    raise SandboxUnavailable(f"refusing to grade without a sandbox: {why} "
                             "(pass --allow-unsandboxed to grade anyway; results will say 'unsandboxed')")


if __name__ == "__main__":  # pragma: no cover - manual check: python -m autograder.sandbox
    with tempfile.TemporaryDirectory(prefix="nnopt-sandbox-") as tmp:
        os.chmod(tmp, 0o755)
        lib = build_lib_dir(Path(tmp) / "lib", mpl_cache=False)
        print(probe(lib))
    sys.exit(0)

