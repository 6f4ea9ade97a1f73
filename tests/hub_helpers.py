"""The machinery of tests/test_jupyterhub.py: a temporary site with real system users, the nbgrader
exchange, the course's configuration and a real JupyterHub (PAMAuthenticator, LocalProcessSpawner,
configurable-http-proxy) serving the virtualenv's JupyterLab.

Everything lives in one temporary tree owned by the test (``/tmp/nnopt-hub-*``, mode 755):

    hub/          the hub's state, config and logs (root only, 700)
    etc/jupyter/  the site-wide Jupyter config every user's server and command sees
                  (``JUPYTER_CONFIG_PATH``): nbgrader's exchange and course id
    exchange/     nbgrader's exchange (1777, as nbgrader's docs ask: everyone may write)
    home/<user>/  the users' home directories (700, owned by each user)
    stage/        empty mount points (only when the environment needs exposing, see below)

Who may read the course's environment. The single-user servers, kernels and instructor commands
run as the test's users, and need the virtualenv, the repository (the editable install points
into it) and the Python installation the virtualenv was made from. When one of these lies under a
directory other users cannot enter (a pyenv Python under ``/root``, a checkout under a private
home), the hub and every command run as a user are started in a private mount namespace
(``unshare --mount``) in which that directory is replaced by an empty tmpfs holding bind mounts
of exactly the needed paths (the same trick the grading sandbox uses for its own uids). Nothing on
the machine changes mode or owner; the namespace vanishes with its processes.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
VENV_BIN = Path(sys.executable).parent
COURSE_ID = "nnopt"
CHROMIUM = Path("/usr/bin/chromium")
CHP = "configurable-http-proxy"
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
HUB_START_TIMEOUT = 60  # s, until /hub/health answers through the proxy

# What a user's process must be able to import, and from which Python installation.
_PROBE = (
    "import sys, jupyterhub, jupyterlab, nbgrader, nnopt_helpers, autograder.cli\n"
    "print(sys.base_prefix)\n"
)


def _free_ports(n: int) -> list[int]:
    """``n`` distinct ports free right now (held together while they are chosen)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def missing_prerequisites() -> list[str]:
    """What this machine lacks for a real hub with real users (empty: everything is there)."""
    missing = []
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        missing.append("root (the hub spawns each user's server as that user and the test creates system users)")
    for tool in ("useradd", "userdel", "chpasswd", "setpriv", "unshare", "mount"):
        if shutil.which(tool, path=SYSTEM_PATH) is None:
            missing.append(f"the `{tool}` command (Debian: passwd / util-linux / mount)")
    if not Path("/etc/pam.d/login").is_file():
        missing.append("PAM's `login` service (/etc/pam.d/login), which JupyterHub's PAMAuthenticator uses")
    if shutil.which(CHP) is None:
        missing.append(f"`{CHP}` on PATH (npm install -g configurable-http-proxy)")
    for module, why in (("jupyterhub", "pip install -e .[test]"), ("pamela", "comes with jupyterhub"),
                        ("playwright", "pip install -e .[test]")):
        try:
            __import__(module)
        except ImportError:
            missing.append(f"the `{module}` Python package ({why})")
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    if shutil.which("bwrap") is None:
        missing.append("bubblewrap's `bwrap` (apt-get install bubblewrap), the grading sandbox")
    return missing


USER_COMMENT = "nnopt JupyterHub test user"


def remove_stale_users() -> list[str]:
    """Users an earlier run of this test made and could not remove (it was killed): ours by their
    name and comment, and dead, since their temporary home is gone. Returns their names."""
    import psutil

    stale = [e for e in pwd.getpwall() if e.pw_name.startswith("nnopt-") and e.pw_gecos == USER_COMMENT
             and e.pw_dir.startswith("/tmp/nnopt-hub-") and not os.path.exists(e.pw_dir)]
    for entry in stale:
        for p in psutil.process_iter(["uids"]):
            with contextlib.suppress(psutil.Error):
                if p.info["uids"] and p.info["uids"].real == entry.pw_uid:
                    p.kill()
        subprocess.run(["userdel", entry.pw_name], capture_output=True)
        subprocess.run(["groupdel", entry.pw_name], capture_output=True)
    return [e.pw_name for e in stale]


@dataclass
class Account:
    role: str  # "instructor" or "student"
    name: str
    password: str
    uid: int
    gid: int
    home: Path


class Site:
    """The temporary tree, its system users, and how to run things as them."""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="nnopt-hub-", dir="/tmp"))
        os.chmod(self.root, 0o755)  # users must reach their homes, the exchange and etc/ below it
        self.tag = secrets.token_hex(3)
        self.accounts: list[Account] = []
        self.exchange = self.root / "exchange"
        self.exchange.mkdir()
        os.chmod(self.exchange, 0o1777)
        self.config_dir = self.root / "etc" / "jupyter"
        self.config_dir.mkdir(parents=True)
        for d in (self.root / "etc", self.config_dir):
            os.chmod(d, 0o755)
        (self.root / "home").mkdir(mode=0o755)
        os.chmod(self.root / "home", 0o755)
        self.mount_ops = self._exposure()

    # -- users -----------------------------------------------------------------------------

    def add_user(self, role: str, label: str) -> Account:
        name = f"nnopt-{label}-{self.tag}"  # lower-case ASCII: also the nbgrader student id
        home = self.root / "home" / name
        password = secrets.token_urlsafe(18)
        subprocess.run(["useradd", "--create-home", "--home-dir", str(home), "--shell", "/bin/bash",
                        "--user-group", "--comment", USER_COMMENT, name],
                       check=True, capture_output=True, text=True)
        entry = pwd.getpwnam(name)
        account = Account(role, name, password, entry.pw_uid, entry.pw_gid, home)
        self.accounts.append(account)  # from here on, removed at teardown
        subprocess.run(["chpasswd"], input=f"{name}:{password}\n", check=True, capture_output=True, text=True)
        os.chmod(home, 0o700)
        return account

    def write_user_file(self, account: Account, rel: str, text: str, mode: int = 0o644) -> Path:
        """Write ``~/rel`` as the user would have it: owned by them, parent directories too."""
        path = account.home / rel
        parts = Path(rel).parts[:-1]
        d = account.home
        for part in parts:
            d = d / part
            d.mkdir(exist_ok=True)
            os.chown(d, account.uid, account.gid)
        path.write_text(text)
        os.chmod(path, mode)
        os.chown(path, account.uid, account.gid)
        return path

    def chown_tree(self, path: Path, account: Account) -> None:
        for dirpath, dirnames, filenames in os.walk(path):
            os.chown(dirpath, account.uid, account.gid)
            for f in filenames:
                os.chown(os.path.join(dirpath, f), account.uid, account.gid, follow_symlinks=False)

    def kill_user_processes(self, timeout: float = 10.0) -> list[int]:
        """SIGKILL every process still running as one of this site's users (only ours: the uids are new)."""
        import psutil

        uids = {a.uid for a in self.accounts}
        killed = []
        for p in psutil.process_iter(["uids"]):
            with contextlib.suppress(psutil.Error):
                if p.info["uids"] and p.info["uids"].real in uids:
                    p.kill()
                    killed.append(p.pid)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            alive = [pid for pid in killed if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
            if not alive:
                break
            time.sleep(0.1)
        return killed

    def remove_users(self) -> list[str]:
        """Delete the site's users (their processes first); returns what could not be removed."""
        problems = []
        self.kill_user_processes()
        for account in self.accounts:
            proc = subprocess.run(["userdel", account.name], capture_output=True, text=True)
            if proc.returncode not in (0, 6):  # 6: no such user
                problems.append(f"userdel {account.name}: {proc.returncode} {proc.stderr.strip()}")
            with contextlib.suppress(Exception):
                subprocess.run(["groupdel", account.name], capture_output=True, text=True)
        return problems

    def cleanup(self) -> list[str]:
        problems = self.remove_users()
        shutil.rmtree(self.root, ignore_errors=True)
        if self.root.exists():
            problems.append(f"could not remove {self.root}")
        return problems

    # -- the environment, seen by the users ---------------------------------------------------

    def _exposure(self) -> list[str]:
        """Mount operations (for :data:`_MOUNT_SCRIPT`) that make the environment reachable by others."""
        needed = []
        for p in (ROOT, Path(sys.prefix), Path(sys.base_prefix)):
            p = Path(os.path.realpath(p))
            if not any(p == q or q in p.parents for q in needed):
                needed = [q for q in needed if p not in q.parents] + [p]
        groups: dict[Path, list[Path]] = {}
        for p in needed:
            for a in [*reversed(p.parents), p][1:]:  # from the top, "/" excluded
                if not os.stat(a).st_mode & stat.S_IXOTH:
                    if a != p:
                        groups.setdefault(a, []).append(p)
                    break
        ops: list[str] = []
        stage = self.root / "stage"
        n = 0
        for top, paths in groups.items():
            points = []
            for p in paths:
                point = stage / str(n)
                n += 1
                point.mkdir(parents=True)
                os.chmod(stage, 0o755)
                os.chmod(point, 0o755)
                ops += ["bind", str(p), str(point)]
                points.append((point, p))
            ops += ["tmpfs", str(top)]
            for point, p in points:
                ops += ["mkdir", str(p), "bind", str(point), str(p)]
        return ops

    @property
    def exposed(self) -> list[str]:
        """The directories replaced by a tmpfs in the private mount namespace (for messages)."""
        return [self.mount_ops[i + 1] for i, op in enumerate(self.mount_ops) if op == "tmpfs"]

    def wrap(self, argv: list[str]) -> list[str]:
        """``argv`` run in the private mount namespace that exposes the environment (if one is needed)."""
        if not self.mount_ops:
            return list(argv)
        return ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", _MOUNT_SCRIPT, "sh",
                *self.mount_ops, "--", *argv]

    def user_env(self, account: Account | None = None) -> dict[str, str]:
        """The environment of a user's server (the hub's Spawner.environment) and commands."""
        env = {"PATH": f"{VENV_BIN}:{SYSTEM_PATH}", "JUPYTER_CONFIG_PATH": str(self.config_dir),
               "LANG": "C.UTF-8"}
        if account is not None:
            env.update(HOME=str(account.home), USER=account.name, LOGNAME=account.name, SHELL="/bin/bash")
        return env

    def as_user(self, account: Account, argv: list[str]) -> list[str]:
        """``argv`` as ``account`` would run it in a login shell: their uid, groups, home and environment."""
        env = [f"{k}={v}" for k, v in self.user_env(account).items()]
        return self.wrap(["setpriv", f"--reuid={account.uid}", f"--regid={account.gid}", "--init-groups", "--",
                          "env", "-i", *env, *argv])

    def run_as(self, account: Account, argv: list[str], cwd: Path | None = None, timeout: float = 300,
               check: bool = True) -> subprocess.CompletedProcess:
        # setpriv changes uid but not the directory: cd as the user (a shell), so a private cwd works
        cwd = cwd or account.home
        cmd = self.as_user(account, ["/bin/sh", "-c", 'cd "$1" && shift && exec "$@"', "sh", str(cwd), *argv])
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if check and proc.returncode != 0:
            raise AssertionError(f"as {account.name}: {' '.join(argv)} exited {proc.returncode}\n"
                                 f"--- stdout\n{proc.stdout[-6000:]}\n--- stderr\n{proc.stderr[-6000:]}")
        return proc

    def probe(self, account: Account) -> str | None:
        """None if ``account`` can run the course's environment as root does, else why not."""
        proc = self.run_as(account, [PYTHON, "-c", _PROBE], check=False, timeout=120)
        if proc.returncode != 0:
            return (f"user {account.name} cannot run {PYTHON} with the course's packages"
                    f" (exposed: {self.exposed or 'nothing'}):\n{proc.stderr[-3000:]}")
        got = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
        if got != sys.base_prefix:
            return (f"user {account.name} runs {PYTHON} on another Python installation ({got!r}, not"
                    f" {sys.base_prefix!r})")
        return None


_MOUNT_SCRIPT = r"""set -e
umask 022
while [ "$1" != "--" ]; do
  case "$1" in
    bind) mount --bind -- "$2" "$3"; shift 3 ;;
    tmpfs) mount -t tmpfs -o mode=0755,size=1m nnopt-hub "$2"; shift 2 ;;
    mkdir) mkdir -p -- "$2"; shift 2 ;;
    *) echo "unknown mount op $1" >&2; exit 2 ;;
  esac
done
shift
exec "$@"
"""


# ------------------------------------------------------------------------------------------------
# the hub
# ------------------------------------------------------------------------------------------------

HUB_CONFIG = '''\
# JupyterHub for the nnopt course, as tests/test_jupyterhub.py runs it (docs/jupyterhub.md explains it).
c = get_config()  # noqa: F821

# Where people connect (the proxy), where the hub listens, where the proxy takes orders.
c.JupyterHub.bind_url = {bind_url!r}
c.JupyterHub.hub_bind_url = {hub_bind_url!r}
c.ConfigurableHTTPProxy.api_url = {proxy_api_url!r}
c.ConfigurableHTTPProxy.command = [{chp!r}]
c.ConfigurableHTTPProxy.pid_file = {proxy_pid_file!r}
c.JupyterHub.db_url = {db_url!r}
c.JupyterHub.cookie_secret_file = {cookie_secret_file!r}
c.JupyterHub.log_level = "INFO"

# Real system users, logged in with their system passwords.
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = {allowed_users!r}
c.Authenticator.admin_users = {admin_users!r}

# Each user's JupyterLab runs as that user, in their home, from the course's environment.
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [{python!r}, "-m", "jupyterhub.singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.environment = {environment!r}
c.Spawner.args = ["--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
'''


class Hub:
    """A JupyterHub process (as root) serving ``site``'s users."""

    def __init__(self, site: Site):
        self.site = site
        self.dir = site.root / "hub"
        self.dir.mkdir(mode=0o700)
        self.public_port, self.hub_port, self.proxy_api_port = _free_ports(3)
        self.log_path = self.dir / "jupyterhub.log"
        self.proc: subprocess.Popen | None = None
        self._log = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.public_port}"

    def config_text(self) -> str:
        users = sorted(a.name for a in self.site.accounts)
        return HUB_CONFIG.format(
            bind_url=self.url, hub_bind_url=f"http://127.0.0.1:{self.hub_port}",
            proxy_api_url=f"http://127.0.0.1:{self.proxy_api_port}", chp=shutil.which(CHP),
            proxy_pid_file=str(self.dir / "proxy.pid"), db_url=f"sqlite:///{self.dir / 'jupyterhub.sqlite'}",
            cookie_secret_file=str(self.dir / "jupyterhub_cookie_secret"), allowed_users=set(users),
            admin_users=set(), python=PYTHON, environment=self.site.user_env(),
        )

    def start(self) -> None:
        config = self.dir / "jupyterhub_config.py"
        config.write_text(self.config_text())
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "JPY_"))}
        env["PATH"] = f"{VENV_BIN}:{env.get('PATH', SYSTEM_PATH)}"
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            self.site.wrap([PYTHON, "-m", "jupyterhub", "-f", str(config)]), cwd=self.dir, env=env,
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + HUB_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyterhub exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/hub/health", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.3)
        raise RuntimeError(f"the hub did not answer {self.url}/hub/health in {HUB_START_TIMEOUT}s:\n{self.log()}")

    def _proxy_pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError):
            return int((self.dir / "proxy.pid").read_text().strip())
        return None

    def stop(self) -> None:
        """Stop the hub (it stops the users' servers and its proxy), then anything left behind."""
        import psutil

        if self.proc is None:
            return
        proxy = self._proxy_pid()
        proxy_proc = None
        if proxy is not None:
            with contextlib.suppress(psutil.Error):
                proxy_proc = psutil.Process(proxy)
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        if proxy_proc is not None:
            with contextlib.suppress(psutil.Error):
                if proxy_proc.is_running():
                    proxy_proc.kill()
        self.proc = None
        if self._log:
            self._log.close()

    def log(self, tail: int = 20_000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError as exc:
            return f"(no hub log: {exc})"


def lab_page_config(student: bool) -> str:
    """~/.jupyter/labconfig/page_config.json: no news toast; students get no formgrader or authoring UI."""
    disabled = {"@jupyterlab/apputils-extension:announcements": True}
    if student:
        disabled.update({"@jupyter/nbgrader:formgrader": True, "@jupyter/nbgrader:create-assignment": True})
    return json.dumps({"disabledExtensions": disabled})


def student_server_config() -> str:
    """~/.jupyter/jupyter_server_config.json of a student: no formgrader server extension."""
    return json.dumps({"ServerApp": {"jpserver_extensions": {"nbgrader.server_extensions.formgrader": False}}})


def site_nbgrader_config(site: Site) -> str:
    """The site-wide nbgrader config (in JUPYTER_CONFIG_PATH): everyone's exchange and course."""
    return (f"c = get_config()  # noqa: F821\n"
            f"c.Exchange.root = {str(site.exchange)!r}\n"
            f"c.CourseDirectory.course_id = {COURSE_ID!r}\n")


def instructor_nbgrader_config(course: Path) -> str:
    """The instructor's ~/.jupyter/nbgrader_config.py (and course/nbgrader_config.py): the course's settings."""
    return (f"c = get_config()  # noqa: F821\n"
            f"load_subconfig({str(ROOT / 'autograder' / 'nbgrader_config.py')!r})  # noqa: F821\n"
            f"c.CourseDirectory.root = {str(course)!r}\n")
