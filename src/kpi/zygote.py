"""Warm kernels forked from one process that has already imported what every report imports.

A build's kernels each import ipykernel, pandas, matplotlib and ``kpi.report`` (1.1 s of CPU),
both at once, while the build itself imports and ingests: on two cores, the first notebooks
waited about 2 s for their kernels.  Here one process (the zygote, ``python -m kpi.zygote``)
imports them once; each warm kernel is then a fork of it that only starts IPython's kernel
application (0.2 s), with the command line, environment, working folder and standard streams
jupyter_client gives a kernel it starts itself.

Each kernel is in a process group of its own, as jupyter_client starts one, so an interrupt or a
kill reaches it and what it started; it ends when the zygote does, and the zygote when the build
does (Linux's parent-death signal), however the build ends.  ``Forked`` stands for the kernel's
process where jupyter_client expects a ``Popen``.  Where this cannot work (not Linux, no
``pidfd_open``) or the zygote fails, kernels are started as jupyter_client starts them.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import socket
import subprocess
import sys
import threading

LAUNCHER = "ipykernel_launcher"  # the module of the kernel's command line: what follows it is the kernel's own
PR_SET_PDEATHSIG = 1
INLINE = "module://matplotlib_inline.backend_inline"  # what ipykernel sets before a kernel imports matplotlib


def usable() -> bool:
    return sys.platform.startswith("linux") and hasattr(os, "pidfd_open") and hasattr(socket, "send_fds")


ENV = "KPI_FORK_KERNELS"  # 0: every kernel starts as jupyter_client starts it (no zygote)

_started: list[Zygote] = []  # the one zygote of this process, once started

_lock = threading.Lock()


def shared(preload: str, log: str) -> Zygote | None:
    """The zygote this process's warm kernels are forked from, started with the first of them;
    None where forking cannot work or is turned off (``KPI_FORK_KERNELS=0``)."""
    if os.environ.get(ENV, "1") == "0" or not usable():
        return None
    with _lock:
        if not _started:
            with contextlib.ExitStack() as files:
                err = files.enter_context(open(log, "ab")) if log else None
                _started.append(Zygote(preload, err))
        return _started[0]


def stop_shared() -> None:
    """This process's zygote stopped (end of a build), and so the kernels forked from it."""
    with _lock:
        while _started:
            _started.pop().stop()


def fork_kernel(km, kernel_cmd: list[str], kw: dict) -> bool:
    """Start ``km``'s kernel (a ``kpi.engine.ProjectKernelManager`` with a preload) as a fork of
    the zygote, in the place of jupyter_client's provisioner; False: start it as usual."""
    zygote = shared(km.preload, km.kernel_log)
    if zygote is None:
        return False
    with contextlib.ExitStack() as files:
        null = files.enter_context(open(os.devnull, "rb"))
        err = files.enter_context(open(km.kernel_log, "ab")).fileno() if km.kernel_log else 2
        env, cwd = kw.get("env") or dict(os.environ), str(kw.get("cwd") or os.getcwd())
        process = zygote.launch(kernel_cmd, env, cwd, (null.fileno(), 1, err))  # as a Popen inherits them
    if process is None:
        return False
    provisioner = km.provisioner
    provisioner.process, provisioner.pgid, provisioner.cwd = process, None, cwd  # signals go to its group
    km._reconcile_connection_info(provisioner.connection_info)
    return True


class Zygote:
    """The zygote process, started with ``preload`` to import; ``launch`` forks a kernel of it."""

    def __init__(self, preload: str, stderr: int | None = None):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        env = dict(os.environ)
        env.setdefault("MPLBACKEND", INLINE)
        env["JPY_PARENT_PID"] = str(os.getpid())  # as jupyter_client gives a kernel: ipykernel reads it at import
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kpi.zygote", str(theirs.fileno()), preload],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
        )
        theirs.close()
        self.control = ours
        self.lock = threading.Lock()

    def launch(self, cmd: list[str], env: dict, cwd: str, stdio: tuple[int, int, int]) -> Forked | None:
        """Ask for a kernel running ``cmd``; None when ``cmd`` is not an ipykernel's command line."""
        if LAUNCHER not in cmd:
            return None
        reply, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        request = pickle.dumps({"argv": cmd[cmd.index(LAUNCHER) + 1 :], "env": env, "cwd": cwd})
        try:
            with self.lock:
                socket.send_fds(self.control, [len(request).to_bytes(8, "big") + request], [*stdio, theirs.fileno()])
        finally:
            theirs.close()
        return Forked(reply)

    def stop(self) -> None:
        """The zygote ended (its kernels end with it)."""
        with contextlib.suppress(OSError):
            self.control.close()
        with contextlib.suppress(OSError):
            self.process.kill()
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            self.process.wait(timeout=5)


class Forked:
    """A kernel forked by the zygote, as jupyter_client's provisioner uses a ``Popen``: its pid is
    known once the zygote has forked it (after its imports), which ``pid`` waits for."""

    stdin = stdout = stderr = None

    def __init__(self, reply: socket.socket):
        self._reply = reply
        self._pid: int | None = None
        self._pidfd: int | None = None
        self.returncode: int | None = None

    @property
    def pid(self) -> int:
        if self._pid is None:
            message, fds, _, _ = socket.recv_fds(self._reply, 64, 1)
            self._reply.close()
            if not fds:
                raise OSError(f"the zygote did not start the kernel: {message.decode(errors='replace')}")
            self._pid, self._pidfd = int(message), fds[0]
        return self._pid

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                _ = self.pid
            except OSError:
                self.returncode = 1
                return self.returncode
            if select.select([self._pidfd], [], [], 0)[0]:  # a pidfd is readable once its process ended
                self.returncode = 1  # the zygote reaps it: its exit status is not known here
                os.close(self._pidfd)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.poll() is None and not select.select([self._pidfd], [], [], timeout)[0]:
            raise subprocess.TimeoutExpired("kernel", timeout)
        return self.poll()

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.killpg(self.pid, signum)  # the kernel leads a process group of its own

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


# --------------------------------------------------------------------------- the zygote process


def _die_with_parent() -> None:
    import ctypes

    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _serve(control: socket.socket) -> None:
    """Fork a kernel for every request, until the build closes its end."""
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 1 << 20, 4)
        except OSError:
            return
        if not message:
            return
        request = pickle.loads(message[8 : 8 + int.from_bytes(message[:8], "big")])
        *stdio, reply_fd = fds
        reply = socket.socket(fileno=reply_fd)
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGCHLD])  # reaped only once its pidfd is open
        pid = os.fork()
        if pid == 0:
            _kernel(request, stdio, control, reply)
        pidfd = os.pidfd_open(pid)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGCHLD])
        with contextlib.suppress(OSError):
            socket.send_fds(reply, [str(pid).encode()], [pidfd])
        for fd in (*stdio, pidfd):
            os.close(fd)
        reply.close()


def _reap(*_: object) -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def _kernel(request: dict, stdio: list[int], control: socket.socket, reply: socket.socket) -> None:
    """In the forked process: become the kernel jupyter_client asked for, then exit."""
    code = 1
    try:
        control.close()
        reply.close()
        os.setpgid(0, 0)
        _die_with_parent()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGCHLD])
        for target, fd in enumerate(stdio):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        _fresh_random()
        sys.argv = [LAUNCHER, *request["argv"]]
        from ipykernel.kernelapp import IPKernelApp

        IPKernelApp.launch_instance(argv=request["argv"])
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _fresh_random() -> None:
    """A fork shares the zygote's random state: each kernel seeds numpy's own, as a new process
    would (Python's ``random`` reseeds itself after a fork)."""
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()


def main(argv: list[str]) -> None:
    control = socket.socket(fileno=int(argv[0]))
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C of the build reaches the build; the zygote ends with it
    signal.signal(signal.SIGCHLD, _reap)
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]  # as ipykernel_launcher: the kernel puts the working folder back itself
    import gc
    import importlib

    import ipykernel.kernelapp  # noqa: F401 -- imported once, here, for every kernel

    if len(argv) > 1 and argv[1]:
        try:
            importlib.import_module(argv[1])
        except Exception:  # noqa: BLE001 -- each kernel imports it again and meets the error where a notebook shows it
            import traceback

            traceback.print_exc()
    gc.collect()
    gc.freeze()  # a kernel's collections then skip what it shares with the zygote (its pages stay shared)
    _serve(control)


if __name__ == "__main__":
    main(sys.argv[1:])
