"""Warm kernels forked from the zygote behave as kernels jupyter_client starts itself: they take the
environment and folder of their launch, a random state of their own, interrupts and kills; they end
with the zygote; a preload that fails to import is the kernel's error, not a dead kernel."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest
from jupyter_core.utils import run_sync
from traitlets.config import Config

from kpi import engine, zygote

pytestmark = [
    pytest.mark.slow,  # real kernels
    pytest.mark.skipif(not zygote.usable(), reason="forking kernels needs Linux (pidfd_open)"),
]


@pytest.fixture
def kernels(tmp_path):
    """Start warm kernels (``preload``) and talk to them; every kernel and the zygote stopped after."""
    started = []

    def start(preload: str = "json", cwd=tmp_path):
        config = Config({"ProjectKernelManager": {"kernel_log": str(tmp_path / "kernels.log"), "preload": preload}})
        km = engine.ProjectKernelManager(kernel_name=engine.KERNEL_NAME, config=config)
        run_sync(km.start_kernel)(cwd=str(cwd), extra_arguments=["--HistoryManager.hist_file=:memory:"])
        kc = km.client()
        kc.start_channels()
        run_sync(kc.wait_for_ready)(timeout=60)
        started.append((km, kc))
        return km, kc

    yield start
    for km, kc in started:
        kc.stop_channels()
        run_sync(km.shutdown_kernel)(now=True)
    engine.shutdown_warm_kernels()


def run(kc, code: str, timeout: float = 30) -> tuple[str, dict]:
    """What the code printed, and the reply's content."""
    out = []

    def hook(msg):
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            out.append(msg["content"]["ename"])

    reply = run_sync(kc.execute_interactive)(code, output_hook=hook, timeout=timeout)
    return "".join(out).strip(), reply["content"]


def test_a_forked_kernel_runs_where_and_with_what_it_was_launched(kernels, tmp_path, monkeypatch):
    (tmp_path / "here").mkdir()
    kernels(cwd=tmp_path)  # the zygote starts with the first kernel
    monkeypatch.setenv("KPI_SEEN_BY_THE_KERNEL", "launch")  # set after the zygote started
    _, kc2 = kernels(cwd=tmp_path / "here")
    printed, _ = run(
        kc2, "import os; print(os.getcwd(), os.environ.get('KPI_SEEN_BY_THE_KERNEL'), os.getpgid(0) == os.getpid())"
    )
    assert printed == f"{tmp_path / 'here'} launch True"
    zygote_pid = zygote._started[0].process.pid
    printed, _ = run(kc2, "import os; print(os.getppid())")
    assert printed == str(zygote_pid)  # forked, not started by jupyter_client


def test_each_forked_kernel_has_a_random_state_of_its_own(kernels, tmp_path, monkeypatch):
    (tmp_path / "draws.py").write_text("import numpy\nnumpy.random.random()\n", encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))  # the zygote draws from numpy's random state as it imports
    draws = []
    for _ in range(2):
        _, kc = kernels(preload="draws")
        draws.append(run(kc, "import random, numpy; print(random.random(), numpy.random.random())")[0].split())
    assert draws[0][0] != draws[1][0] and draws[0][1] != draws[1][1]  # as two new processes


def test_an_interrupt_and_a_kill_reach_a_forked_kernel(kernels):
    km, kc = kernels()
    pid = km.provisioner.process.pid
    msg_id = kc.execute("import time; time.sleep(30)")
    time.sleep(1)
    run_sync(km.interrupt_kernel)()
    reply = run_sync(kc.get_shell_msg)(timeout=20)
    assert reply["parent_header"]["msg_id"] == msg_id and reply["content"]["ename"] == "KeyboardInterrupt"
    run_sync(km.shutdown_kernel)(now=True)
    assert not run_sync(km.is_alive)()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # and reaped by the zygote


def test_the_kernels_end_with_the_zygote(kernels):
    km, _ = kernels()
    pid = km.provisioner.process.pid
    zygote._started[0].process.send_signal(signal.SIGKILL)
    deadline = time.monotonic() + 10
    while run_sync(km.is_alive)() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not run_sync(km.is_alive)() and ended(pid)


def ended(pid: int) -> bool:
    """Gone, or a zombie waiting for whoever took the zygote's children (it runs no more)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_a_preload_that_fails_is_the_kernels_error(kernels):
    _, kc = kernels(preload="kpi.no_such_module")
    printed, reply = run(kc, "import kpi.no_such_module")
    assert reply["status"] == "error" and printed == "ModuleNotFoundError"
    printed, _ = run(kc, "print(1 + 1)")
    assert printed == "2"  # the kernel itself works


def test_without_forking_the_kernel_is_jupyter_clients_own(kernels, monkeypatch):
    monkeypatch.setenv(zygote.ENV, "0")
    _, kc = kernels()
    printed, _ = run(kc, "import os; print(os.getppid())")
    assert printed == str(os.getpid()) and not zygote._started


def test_a_zygote_that_does_not_answer_times_out_and_is_stopped(kernels, tmp_path, monkeypatch):
    monkeypatch.setattr(zygote, "PID_WAIT_S", 1)
    kernels()
    stuck = zygote._started[0]
    stuck.process.send_signal(signal.SIGSTOP)
    config = Config({"ProjectKernelManager": {"kernel_log": str(tmp_path / "k.log"), "preload": "json"}})
    km = engine.ProjectKernelManager(kernel_name=engine.KERNEL_NAME, config=config)
    run_sync(km.start_kernel)(cwd=str(tmp_path))  # asked for; the zygote does not fork it
    kc = km.client()
    kc.start_channels()
    with pytest.raises(RuntimeError):
        run_sync(kc.wait_for_ready)(timeout=3)  # a start timeout, as for a kernel that never answers
    kc.stop_channels()
    started = time.monotonic()
    run_sync(km.shutdown_kernel)(now=True)
    assert time.monotonic() - started < 10 and not run_sync(km.is_alive)()
    assert stuck.process.poll() is not None  # the zygote went, and with it whatever it was forking


def test_after_the_zygote_died_kernels_start_as_usual(kernels):
    kernels()
    dead = zygote._started[0]
    dead.process.kill()
    dead.process.wait()
    _, kc = kernels()
    printed, _ = run(kc, "import os; print(os.getppid())")
    assert printed == str(os.getpid()) and not zygote._started


def test_a_forked_kernel_is_launched_as_jupyter_client_launches_one(kernels, monkeypatch):
    monkeypatch.setenv("KPI_LARGE", "x" * 70_000)  # an environment larger than one socket send
    _, kc = kernels()
    printed, _ = run(
        kc,
        "import os, sys; print(os.getsid(0) == os.getpid(), os.environ['JPY_PARENT_PID'], "
        "len(os.environ['KPI_LARGE']), sys.argv[0].endswith('ipykernel_launcher.py'))",
    )
    assert printed == f"True {os.getpid()} 70000 True"


def test_what_a_dead_kernel_started_is_killed_with_it(kernels):
    km, kc = kernels()
    printed, _ = run(kc, "import subprocess; print(subprocess.Popen(['sleep', '300']).pid)")
    sleeper = int(printed)
    os.kill(km.provisioner.process.pid, signal.SIGKILL)  # the kernel dies; its child lives on
    deadline = time.monotonic() + 10
    while run_sync(km.is_alive)() and time.monotonic() < deadline:
        time.sleep(0.1)
    run_sync(km.shutdown_kernel)(now=True)
    deadline = time.monotonic() + 10
    while not ended(sleeper) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ended(sleeper)


def test_the_zygote_outlives_the_thread_that_started_it(kernels):
    import threading

    thread = threading.Thread(target=kernels)
    thread.start()
    thread.join()
    time.sleep(1)
    assert zygote._started[0].process.poll() is None
    _, kc = kernels()
    assert run(kc, "print(6 * 7)")[0] == "42"


def test_pidfds_that_are_refused_mean_no_forking(monkeypatch):
    def refused(pid, flags=0):
        raise PermissionError(1, "Operation not permitted")  # a sandbox that filters pidfd_open

    monkeypatch.setattr(os, "pidfd_open", refused)
    assert not zygote.usable()


def test_the_shells_matplotlib_backend_does_not_reach_a_forked_kernel(kernels, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")  # the kernel spec gives every kernel the inline backend
    _, kc = kernels(preload="matplotlib.pyplot")
    printed, _ = run(kc, "import matplotlib; print(matplotlib.get_backend())")
    assert "inline" in printed


def test_a_kernel_that_fails_to_start_says_why_in_its_log(tmp_path):
    """A forked kernel that meets an error before it answers (here: its working folder is gone)
    writes the error to its stderr, the kernel's log, then ends: jupyter_client only sees it die."""
    import socket

    err_read, err_write = os.pipe()
    null_in, null_out = os.open(os.devnull, os.O_RDONLY), os.open(os.devnull, os.O_WRONLY)
    control, reply = socket.socketpair()
    pid = os.fork()
    if pid == 0:  # the kernel's side, as the zygote forks it: its stderr on descriptor 2 (not pytest's)
        os.close(err_read)
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115 -- the zygote's own stderr, kept open
        request = {"cwd": str(tmp_path / "gone"), "env": dict(os.environ), "argv": []}
        zygote._kernel(request, [null_in, null_out, err_write], control, reply, os.getppid())
    os.close(err_write)
    with os.fdopen(err_read, "rb") as err:
        said = err.read().decode()
    _, status = os.waitpid(pid, 0)
    for fd in (null_in, null_out):
        os.close(fd)
    control.close()
    reply.close()
    assert os.waitstatus_to_exitcode(status) == 1
    assert "FileNotFoundError" in said and "gone" in said
