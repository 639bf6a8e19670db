"""Windows: kpi starts without fcntl, its run lock works across processes, and a console whose
code page cannot show Vietnamese still gets every message (unknown letters as '?')."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from openpyxl import load_workbook

from kpi import config

from .yearly import filled_form

pytestmark = pytest.mark.slow  # real builds, kernels or subprocesses: left out of `make quick`

IMPORT_ALL_WITHOUT_FCNTL = textwrap.dedent("""
    import importlib, pkgutil, sys, warnings
    sys.modules["fcntl"] = None          # as on Windows: `import fcntl` raises ImportError
    warnings.simplefilter("ignore")      # filelock says it falls back to a soft lock here
    import kpi
    names = sorted(m.name for m in pkgutil.iter_modules(kpi.__path__))
    for name in names:
        importlib.import_module("kpi." + name)
    from pathlib import Path
    from kpi.write import run_lock
    with run_lock(Path(sys.argv[1]), "test"):
        pass
    print(len(names))
""")

HOLD_LOCK = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from kpi.write import run_lock
    with run_lock(Path(sys.argv[1]), "ingest"):
        print(os.getpid(), flush=True)
        time.sleep(60)
""")


def test_every_module_imports_and_locks_without_fcntl(tmp_path):
    run = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL_WITHOUT_FCNTL, str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    modules = sorted(p.stem for p in (config.PROJ_ROOT / "src" / "kpi").glob("*.py") if p.stem != "__init__")
    assert int(run.stdout) == len(modules)


def test_lock_held_by_another_process_names_it_and_exits_3(tmp_path):
    (tmp_path / "raw").mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        pid = int(holder.stdout.readline())
        second = subprocess.run(
            [sys.executable, "-m", "kpi.cli", "ingest", "--data-dir", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        holder.kill()
        holder.wait()
    assert second.returncode == 3
    assert f"another kpi run is using {tmp_path} (kpi ingest, process {pid})" in second.stderr
    again = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from kpi.write import "
            "run_lock\nwith run_lock(Path(sys.argv[1]), 'x'): print('ok')",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.stdout == "ok\n"  # the holder was killed: the system released its lock


@pytest.mark.parametrize("encoding", ["cp1252", "ascii"])
def test_console_without_vietnamese_still_gets_the_messages(tmp_path, encoding):
    form = filled_form(2023, tmp_path / "tam_duong_2023.xlsx")
    wb = load_workbook(form)
    wb["2_Che"]["B8"] = "Bản Hoon"
    wb.save(form)
    env = {**os.environ, "PYTHONIOENCODING": encoding, "PYTHONUTF8": "0"}
    run = subprocess.run(
        [sys.executable, "-m", "kpi.cli", "check", str(form)], capture_output=True, env=env, timeout=120
    )
    assert run.returncode == 1, run.stderr
    out = run.stdout.decode(encoding)
    assert "tam_duong_2023.xlsx!2_Che!" in out and "unknown area 'B?n Hoon'" in out
    assert b"Traceback" not in run.stderr
