"""Run the real GIMP 3 and Krita 5 headless inside the cached Debian chroots.

Debian 12 ships neither GIMP 3 nor a Krita we target, so tests drive the real applications
inside a chroot built by chroot.sh: trixie for the oldest releases supported (GIMP 3.0.4,
Krita 5.2.9), sid for the current ones (GIMP 3.2, Krita 5.3). Every run gets a private
mount and PID namespace: /proc, /dev, /sys, a private /tmp and the bind mounts vanish with
it, and everything it started dies with it (Xvfb and Krita included), even on timeout.
The network is the host's, so a server listening on 127.0.0.1 outside is reachable inside.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHROOT_SH = HERE / "chroot.sh"
WORK = "/pixels/work"  # where a Hosts' work directory appears inside the chroot
KRITA_SEGFAULT = 139  # Krita 5.2.9 often crashes after QApplication.quit(); the work is done

# Runs as PID 1 of the new namespaces: mount what the hosts need (a private /tmp, so X locks
# and sockets never collide or go stale), bind the requested directories (host path, chroot
# path, mode; up to "--"), then run the command. Not `exec`: as PID 1 xvfb-run never gets
# Xvfb's ready signal and hangs.
_ENTER = r"""
set -e
R=$1; shift
mount -t proc proc "$R/proc"
mount -t sysfs -o ro sysfs "$R/sys"
mount --rbind /dev "$R/dev"
mount -t tmpfs -o mode=1777 tmpfs "$R/tmp"
while [ "$1" != -- ]; do
    mkdir -p "$R$2"
    mount -o "bind,$3" "$1" "$R$2"
    shift 3
done
shift
chroot "$R" "$@"
exit $?
"""


# Starts Xvfb, waits until it accepts clients (it writes -displayfd then; its socket file
# appears a moment earlier, and a client starting in that moment failed with "could not
# connect to display"), runs the command on it. Instead of xvfb-run, which exits 5 now and
# then after Krita's crash on quit ("problem while cleaning up temporary directory"): the
# display listens only on its socket file in the run's private /tmp, so parallel runs can
# all use :99, and the PID namespace ends Xvfb with the run.
_XVFB = r"""
Xvfb :99 -screen 0 1280x800x24 -nolisten tcp -nolisten local -displayfd 3 3>/tmp/xready &
until [ -s /tmp/xready ]; do
    kill -0 $! || exit 1
    sleep 0.1
done
DISPLAY=:99 exec "$@"
"""


class HostsUnavailable(RuntimeError):
    """The chroot could not be built (no root, no network, no debootstrap...)."""


@dataclass
class Result:
    """What a command inside the chroot did; `describe()` is meant for assertion messages."""

    returncode: int | None
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False

    def describe(self, tail: int = 3000) -> str:
        state = "timed out" if self.timed_out else f"exit {self.returncode}"
        return (
            f"{state} after {self.seconds:.1f}s\n--- stdout ---\n{self.stdout[-tail:]}"
            f"\n--- stderr ---\n{self.stderr[-tail:]}"
        )


# The Debian release of each chroot, and the GIMP minor version it ships: GIMP names its
# programs (gimp-console-3.0) and its profile folder (~/.config/GIMP/3.0) after it.
RELEASES = {"trixie": "3.0", "sid": "3.2"}


def ensure_root(release: str = "trixie") -> Path:
    """Build or reuse the chroot (slow only the first time on a machine) and return its path."""
    proc = subprocess.run(["bash", str(CHROOT_SH), release], capture_output=True, text=True)
    if proc.returncode != 0:
        raise HostsUnavailable(f"chroot.sh failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return Path(proc.stdout.strip().splitlines()[-1])


def _run_isolated(argv: list[str], timeout: float) -> Result:
    """Run in a new process group; on timeout kill the group (the PID namespace follows).

    SIGKILL because `unshare --fork` ignores SIGTERM; its --kill-child then takes down the
    namespace's PID 1 and with it every process inside.
    """
    start = time.monotonic()
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    timed_out = False
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    except BaseException:  # Ctrl-C in pytest: unshare ignores SIGINT/SIGTERM, so kill it all
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    return Result(proc.returncode, out, err, time.monotonic() - start, timed_out)


@dataclass
class Hosts:
    """One test's view of the chroot: a fresh host directory `work`, seen inside at WORK.

    HOME is WORK/home, so every test starts with clean GIMP and Krita profiles.
    """

    root: Path
    work: Path
    binds: list[tuple[Path, str, str]] = field(default_factory=list)

    @property
    def release(self) -> str:
        return self.root.name

    @property
    def gimp_version(self) -> str:
        """'3.0' or '3.2': the GIMP of this chroot, as its programs and profile name it."""
        return RELEASES[self.release]

    def __post_init__(self) -> None:
        (self.work / "home").mkdir(parents=True, exist_ok=True)
        (self.work / "run").mkdir(mode=0o700, exist_ok=True)
        self.bind(self.work, WORK, writable=True)

    @property
    def home(self) -> Path:
        """HOME on the host side (to install plug-ins or read what the hosts wrote)."""
        return self.work / "home"

    def inside(self, path: Path) -> str:
        """The chroot path of a host path under `work`."""
        return f"{WORK}/{Path(path).relative_to(self.work)}"

    def bind(self, host_dir: Path, inside: str, writable: bool = False) -> str:
        """Make a host directory (sources, fixtures) appear at `inside` for every later run."""
        self.binds.append((Path(host_dir).resolve(), inside, "rw" if writable else "ro"))
        return inside

    def run(
        self, argv: list[str], env: dict[str, str] | None = None, timeout: float = 120
    ) -> Result:
        """Run argv in the chroot with a clean environment (nothing leaks in from the host)."""
        base = {
            "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            "HOME": f"{WORK}/home",
            "XDG_RUNTIME_DIR": f"{WORK}/run",
            "LANG": "C.UTF-8",
        }
        mounts = [str(part) for bind in self.binds for part in bind]
        env_args = [f"{k}={v}" for k, v in {**base, **(env or {})}.items()]
        cmd = ["unshare", "--mount", "--pid", "--fork", "--kill-child", "--propagation=private"]
        cmd += ["sh", "-c", _ENTER, "enter", str(self.root), *mounts, "--"]
        return _run_isolated([*cmd, "env", "-i", *env_args, *argv], timeout)

    def install_gimp_plugin(self, src: Path) -> Path:
        """Copy plug-in folder NAME/ (with NAME.py) into the profile, executable as GIMP needs."""
        dest = self.home / f".config/GIMP/{self.gimp_version}/plug-ins" / src.name
        shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__"))
        (dest / f"{src.name}.py").chmod(0o755)
        return dest

    def gimp_batch(self, code: str, timeout: float = 180) -> Result:
        """Run Python `code` in gimp-console (no UI, no data loading) and quit."""
        console = f"gimp-console-{self.gimp_version}"
        argv = [console, "-i", "--batch-interpreter=python-fu-eval", "-b", code]
        return self.run([*argv, "--quit"], timeout=timeout)

    def gimp_gui_batch(
        self, code: str, timeout: float = 180, env: dict[str, str] | None = None
    ) -> Result:
        """Run Python `code` in the whole GIMP (dialogs can open) on an Xvfb display,
        with `env` added to its environment (which its plug-ins inherit)."""
        gimp = f"gimp-{self.gimp_version}"
        argv = [gimp, "--no-splash", "--batch-interpreter=python-fu-eval", "-b", code]
        return self.run(["sh", "-c", _XVFB, "xvfb", *argv, "--quit"], env=env, timeout=timeout)

    def kritarunner(self, module: str, func: str, pythonpath: str, timeout: float = 120) -> Result:
        """Call module.func with the `krita` API but no main window (document logic, pixels)."""
        env = {"QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": pythonpath}
        return self.run(["kritarunner", "-s", module, "-f", func], env=env, timeout=timeout)

    def install_krita_plugin(self, src: Path, name: str) -> None:
        """Copy NAME.desktop and package NAME/ from `src` into pykrita and enable it in kritarc."""
        pykrita = self.home / ".local/share/krita/pykrita"
        pykrita.mkdir(parents=True, exist_ok=True)
        shutil.copy(src / f"{name}.desktop", pykrita)
        shutil.copytree(src / name, pykrita / name, ignore=shutil.ignore_patterns("__pycache__"))
        kritarc = self.home / ".config/kritarc"
        kritarc.parent.mkdir(parents=True, exist_ok=True)
        with kritarc.open("a") as f:
            f.write(f"[python]\nenable_{name}=true\n")

    def krita(self, env: dict[str, str] | None = None, timeout: float = 180) -> Result:
        """Run the whole Krita application under Xvfb (it refuses the offscreen platform)."""
        return self.run(
            ["sh", "-c", _XVFB, "xvfb", "krita", "--nosplash"], env=env, timeout=timeout
        )
