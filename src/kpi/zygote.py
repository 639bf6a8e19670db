"""Warm kernels forked from one process that has already imported what every report imports.

A build's kernels each import ipykernel, pandas, matplotlib and ``kpi.report`` (1.1 s of CPU),
both at once, while the build itself imports and ingests: on two cores, the first notebooks
waited about 2 s for their kernels.  Here one process (the zygote, ``python -m kpi.zygote``)
imports them once; each warm kernel is then a fork of it that only starts IPython's kernel
application (0.2 s), with the command line, environment, working folder and standard streams
jupyter_client gives a kernel it starts itself.

Each kernel is in a session of its own, as jupyter_client starts one, so an interrupt or a kill
reaches it and what it started, and no terminal can stop it; it ends when the zygote does
(Linux's parent-death signal), and the zygote when the build does, however the build ends (its
end of their socket closes).  ``Forked`` stands for the kernel's process where jupyter_client
expects a ``Popen``.  Where this cannot work (not Linux, pidfds refused) or once the zygote died,
kernels are started as jupyter_client starts them; one it does not fork times out as a kernel
that does not start, and the zygote is stopped.
"""

from __future__ import annotations

import contextlib
import errno
import os
import pickle
import select
import signal
import socket
import subprocess
import sys
import threading

from kpi.executors import _die_with

LAUNCHER = "ipykernel_launcher"  # the module of the kernel's command line: what follows it is the kernel's own
PID_WAIT_S = 10  # how long a kill waits for the zygote to say which kernel it forked
INLINE = "module://matplotlib_inline.backend_inline"  # what ipykernel sets before a kernel imports matplotlib


def usable() -> bool:
    """Linux with pidfds that work (not on kernels before 5.3, nor where a sandbox refuses them)."""
    if not (sys.platform.startswith("linux") and hasattr(os, "pidfd_open") and hasattr(socket, "send_fds")):
        return False
    try:
        os.close(os.pidfd_open(os.getpid()))
    except OSError:
        return False
    return True


ENV = "KPI_FORK_KERNELS"  # 0: every kernel starts as jupyter_client starts it (no zygote)

_started: list[Zygote] = []  # the one zygote of this process, once started

_lock = threading.Lock()

_turned_off: list[bool] = []  # this build's zygote died: the build starts no other


def shared(preload: str, log: str) -> Zygote | None:
    """The zygote this process's warm kernels are forked from, started with the first of them;
    None where forking cannot work or is turned off (``KPI_FORK_KERNELS=0``)."""
    if os.environ.get(ENV, "1") == "0" or not usable() or _turned_off:
        return None
    with _lock:
        if not _started:
            with contextlib.ExitStack() as files:
                err = files.enter_context(open(log, "ab")) if log else None
                _started.append(Zygote(preload, err))
        return _started[0]


def stop_shared() -> None:
    """This process's zygote stopped (end of a build), and so the kernels forked from it; the
    next build starts a new one, even if this one died."""
    with _lock:
        while _started:
            _started.pop().stop()
        _turned_off.clear()


def _gone(zygote: Zygote) -> None:
    zygote.stop()
    with _lock:
        if zygote in _started:
            _started.remove(zygote)
        _turned_off.append(True)


def fork_kernel(km, kernel_cmd: list[str], kw: dict) -> bool:
    """Start ``km``'s kernel (a ``kpi.engine.ProjectKernelManager`` with a preload) as a fork of
    the zygote, in the place of jupyter_client's provisioner; False: start it as usual."""
    zygote = shared(km.preload, km.kernel_log)
    if zygote is None:
        return False
    if zygote.process.poll() is not None:  # it died: this kernel and the next start as jupyter_client starts them
        _gone(zygote)
        return False
    with contextlib.ExitStack() as files:
        null = files.enter_context(open(os.devnull, "rb"))
        err = files.enter_context(open(km.kernel_log, "ab")).fileno() if km.kernel_log else 2
        env, cwd = dict(kw.get("env") or os.environ), str(kw.get("cwd") or os.getcwd())
        env.setdefault("JPY_PARENT_PID", str(os.getpid()))  # as jupyter_client's launcher sets it
        try:
            process = zygote.launch(kernel_cmd, env, cwd, (null.fileno(), 1, err))  # as a Popen inherits them
        except OSError:  # the zygote is gone: this kernel and the next start as jupyter_client starts them
            _gone(zygote)
            return False
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
        env["MPLBACKEND"] = INLINE  # what the project's kernel spec gives every kernel, whatever the shell says
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
        message = len(request).to_bytes(8, "big") + request
        try:
            with self.lock:
                sent = socket.send_fds(self.control, [message], [*stdio, theirs.fileno()])
                self.control.sendall(message[sent:])  # a large environment takes more than one send
        finally:
            theirs.close()
        return Forked(reply, self)

    def stop(self) -> None:
        """The zygote ended (its kernels end with it)."""
        with contextlib.suppress(OSError):
            self.control.close()
        with contextlib.suppress(OSError):
            self.process.kill()
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            self.process.wait(timeout=5)


class Forked:
    """A kernel forked by the zygote, as jupyter_client's provisioner uses a ``Popen``.

    Its pid is known once the zygote has forked it (after its own imports).  Until then the
    kernel counts as starting (``poll`` gives None, so jupyter_client's start timeout applies);
    a kill before then stops the zygote itself, so nothing it was about to fork is left.
    """

    stdin = stdout = stderr = None

    def __init__(self, reply: socket.socket, zygote: Zygote):
        self._reply = reply
        self._zygote = zygote
        self._pid: int | None = None
        self._pidfd: int | None = None
        self.returncode: int | None = None

    def _answered(self, timeout: float | None) -> bool:
        """Whether the zygote has answered, within ``timeout`` seconds: with the kernel's pid, or
        (its end of the reply closed) by not starting it, which ``returncode`` then says."""
        if self._pid is None and self.returncode is None:
            if not select.select([self._reply], [], [], timeout)[0]:
                return False
            message, fds, _, _ = socket.recv_fds(self._reply, 64, 1)
            self._reply.close()
            if fds:
                self._pid, self._pidfd = int(message), fds[0]
            else:
                self.returncode = 1  # the zygote ended without forking it
        return True

    @property
    def pid(self) -> int:
        if not self._answered(PID_WAIT_S) or self._pid is None:
            raise ProcessLookupError(errno.ESRCH, "the zygote has not started this kernel")
        return self._pid

    def poll(self) -> int | None:
        ready = self.returncode is None and self._answered(0) and self._pid is not None
        if ready and select.select([self._pidfd], [], [], 0)[0]:  # a pidfd is readable once its process ended
            self.returncode = 1  # the zygote reaps it: its exit status is not known here
            os.close(self._pidfd)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._answered(timeout):
            raise subprocess.TimeoutExpired("kernel", timeout)
        if self.poll() is None and not select.select([self._pidfd], [], [], timeout)[0]:
            raise subprocess.TimeoutExpired("kernel", timeout)
        return self.poll()

    def send_signal(self, signum: int) -> None:
        if self._pid is None and self.returncode is not None:
            return  # never forked
        if not self._answered(PID_WAIT_S if signum == signal.SIGKILL else 0):
            if signum == signal.SIGKILL:  # the zygote does not answer: it goes, and anything it forks with it
                self._zygote.stop()
                self.returncode = 1
            return  # nothing to interrupt yet
        with contextlib.suppress(ProcessLookupError):  # the group, even if its leader died: what it started too
            os.killpg(self._pid, signum)  # the kernel leads a process group (and a session) of its own

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


# --------------------------------------------------------------------------- the zygote process


def _serve(control: socket.socket) -> None:
    """Fork a kernel for every request, until the build closes its end (or ends)."""
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 1 << 16, 4)
            if not message:
                return
            size = 8 + int.from_bytes(message[:8].ljust(8, b"\0"), "big")
            while len(message) < size:
                more = control.recv(size - len(message))
                if not more:
                    return
                message += more
        except OSError:
            return
        try:
            _fork_one(pickle.loads(message[8:]), fds, control)
        except Exception:  # noqa: BLE001 -- one request that fails (its kernel then fails to start) ends no other
            import traceback

            traceback.print_exc()
            for fd in fds:
                with contextlib.suppress(OSError):
                    os.close(fd)


def _fork_one(request: dict, fds: list[int], control: socket.socket) -> None:
    *stdio, reply_fd = fds
    reply = socket.socket(fileno=reply_fd)
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGCHLD])  # reaped only once its pidfd is open
    zygote = os.getpid()
    try:
        pid = os.fork()
        if pid == 0:
            _kernel(request, stdio, control, reply, zygote)
        pidfd = os.pidfd_open(pid)
    finally:
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


def _kernel(request: dict, stdio: list[int], control: socket.socket, reply: socket.socket, zygote: int) -> None:
    """In the forked process: become the kernel jupyter_client asked for, then exit."""
    code = 1
    try:
        control.close()
        reply.close()
        os.setsid()  # a session of its own, as jupyter_client starts a kernel: no terminal to stop it
        _die_with(zygote)  # as a forked reader of raw files: it ends when the zygote does
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
        import importlib.util

        sys.argv = [importlib.util.find_spec(LAUNCHER).origin, *request["argv"]]
        from ipykernel.kernelapp import IPKernelApp

        IPKernelApp.launch_instance(argv=request["argv"])
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:  # noqa: BLE001 -- said in the kernel's log (its stderr): jupyter_client only sees it died
        import traceback

        traceback.print_exc()
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
    control = socket.socket(fileno=int(argv[0]))  # its end closes when the build ends, however: the zygote then ends
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
