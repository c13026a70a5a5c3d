"""The command registry and the lazy command line (docs/architecture.md, issue 17)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from _paths import ROOT

from api.cli._app import COMMANDS, command_app


def _names(app: typer.Typer) -> set[str]:
    group = typer.main.get_group(app)
    return set(group.commands)


@pytest.mark.parametrize("module", sorted({m for m, _ in COMMANDS.values()}))
def test_each_module_defines_exactly_its_registered_commands(module):
    listed = {name for name, (m, _) in COMMANDS.items() if m == module}
    assert _names(command_app(module)) == listed


def test_every_registered_command_answers_help(capsys):
    from api.cli import app
    from api.cli._common import run_app

    for name in COMMANDS:
        assert run_app(app, [name, "-h"]) == 0, name
        out = capsys.readouterr().out
        assert f"tryggkarta {name}" in out


#: What ``tryggkarta -h`` must not load (issue 17: it costs less than ``import geopandas``).
HEAVY = ("geopandas", "pandas", "scipy", "shapely", "pyogrio", "fastapi", "sqlalchemy",
         "geoalchemy2", "uvicorn", "api.http", "api.storage")


def _heavy(loaded: set[str]) -> set[str]:
    return {m for m in loaded for h in HEAVY if m == h or m.startswith(h + ".")}


def _modules_after(argv: list[str]) -> set[str]:
    code = ("import sys\nfrom api.cli import app\nfrom api.cli._common import run_app\n"
            f"code = run_app(app, {argv!r})\n"
            "import json; print(json.dumps(sorted(sys.modules)))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=True)
    return set(json.loads(proc.stdout.strip().splitlines()[-1]))


def test_help_loads_no_command_module_nor_server_or_database_code():
    loaded = _modules_after(["-h"])
    assert not _heavy(loaded)
    assert not {m for m in loaded if m.startswith("api.cli.") and m not in (
        "api.cli._app", "api.cli._common", "api.cli._weights")}


def test_command_help_loads_only_its_own_module():
    loaded = _modules_after(["density", "-h"])
    assert "api.cli.density" in loaded
    assert not {"api.cli.sites", "api.cli.maps", "api.cli.storage"} & loaded
    assert not _heavy(loaded)


@pytest.mark.parametrize("argv", [["select-sites", "-h"], ["map", "-h"], ["serve", "-h"],
                                  ["db", "-h"], ["datasets", "-h"]])
def test_every_command_help_is_light(argv):
    assert not _heavy(_modules_after(argv))


def test_an_early_error_is_printed_before_the_libraries_load(tmp_path):
    # the first line of output (here the error) comes before geopandas and scipy load
    missing = str(tmp_path / "missing.csv")
    for argv in (["density", "--incidents", missing, "--out", str(tmp_path / "d.csv")],
                 ["select-sites", "--incidents", missing, "--sites", missing, "--k", "1",
                  "--out", str(tmp_path / "s.csv")],
                 ["select-sites", "--incidents", missing, "--sites", missing, "--out",
                  str(tmp_path / "s.csv")]):
        assert not _heavy(_modules_after(argv)), argv


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_the_console_script_exits_with_its_code_its_output_and_its_exit_handlers(tmp_path):
    # api.cli._exit skips the interpreter's teardown (0.1 s with geopandas and scipy
    # loaded) but flushes buffered output, runs the atexit handlers and keeps the code
    marker = tmp_path / "atexit.txt"
    code = (
        "import atexit, sys\n"
        "from api.cli import _exit\n"
        f"atexit.register(lambda: open({str(marker)!r}, 'w').write('ran'))\n"
        "class Noisy:\n"
        "    def __del__(self):\n"
        "        sys.__stderr__.write('teardown ran')\n"
        "keep = Noisy()\n"
        "sys.stdout.write('x' * 100_000)  # buffered: lost unless flushed\n"
        "sys.stderr.write('last words')\n"
        "_exit(3)\n"
    )
    proc = _python(code)
    assert proc.returncode == 3
    assert proc.stdout == "x" * 100_000
    assert proc.stderr == "last words"  # no teardown: the object's __del__ never ran
    assert marker.read_text() == "ran"


def test_the_console_script_waits_for_other_threads():
    code = (
        "import threading, time\n"
        "from api.cli import _exit\n"
        "t = threading.Thread(target=lambda: (time.sleep(0.2), print('thread done')))\n"
        "t.start()\n"
        "_exit(0)\n"
    )
    proc = _python(code)
    assert proc.returncode == 0
    assert proc.stdout.strip() == "thread done"


def test_a_command_run_as_the_console_script_writes_everything(tmp_path):
    # the whole command through the installed entry point: output file, summary, code
    script = Path(sys.executable).with_name("tryggkarta")
    src = tmp_path / "i.csv"
    src.write_text("lon,lat,time,category\n18.07,59.33,2025-05-01T22:10,rån\n"
                   "18.071,59.331,2025-05-02T22:10,rån\n")
    out = tmp_path / "d.csv"
    proc = subprocess.run([str(script), "density", "--incidents", str(src), "--cell", "50",
                           "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    rows, cols = map(int, re.match(r"(\d+) × (\d+) cells", proc.stdout).groups())
    lines = out.read_text().splitlines()
    assert lines[0].startswith("x,y,count,") and len(lines) == 1 + rows * cols
    bad = subprocess.run([str(script), "density", "--incidents", str(tmp_path / "no.csv"),
                          "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1 and "no such file" in bad.stderr


def test_the_collector_is_paused_while_libraries_load_and_resumed_for_the_data(tmp_path):
    # api.cli.main pauses the cyclic garbage collector; reading the first input resumes
    # it (with what was loaded frozen), so big inputs are collected as usual
    src = tmp_path / "i.csv"
    src.write_text("lon,lat,time,category\n18.07,59.33,2025-05-01T22:10,rån\n")
    code = (
        "import gc\n"
        "from api.cli import app\n"
        "from api.cli._common import pause_gc, run_app, start_work\n"
        "start_work()\n"
        "assert gc.isenabled() and gc.get_freeze_count() == 0  # not paused: nothing to do\n"
        "pause_gc()\n"
        "assert not gc.isenabled()\n"
        f"assert run_app(app, ['density', '--incidents', {str(src)!r}, '--cell', '50', "
        f"'--out', {str(tmp_path / 'd.csv')!r}]) == 0\n"
        "assert gc.isenabled() and gc.get_freeze_count() > 1000\n"
        "print('ok')\n"
    )
    proc = _python(code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "ok"


def test_the_console_script_exits_normally_after_using_a_database():
    # SQLAlchemy's connections must close as the server expects: no os._exit then
    code = (
        "import sys\n"
        "import sqlalchemy\n"
        "from api.cli import _exit\n"
        "class Noisy:\n"
        "    def __del__(self):\n"
        "        sys.__stdout__.write('teardown ran')\n"
        "keep = Noisy()\n"
        "_exit(4)\n"
    )
    proc = _python(code)
    assert proc.returncode == 4
    assert proc.stdout == "teardown ran"


@pytest.mark.parametrize("given", [None, "4"])
def test_the_console_script_asks_for_one_blas_thread_unless_told(given):
    code = (
        "import os, sys\n"
        + (f"os.environ['OPENBLAS_NUM_THREADS'] = {given!r}\n" if given else
           "os.environ.pop('OPENBLAS_NUM_THREADS', None)\n")
        + "import api.cli._common as common\n"
        "def fake(app, argv):\n"
        "    print(os.environ.get('OPENBLAS_NUM_THREADS'), 'numpy' in sys.modules)\n"
        "    return 0\n"
        "common.run_app = fake\n"
        "from api.cli import main\n"
        "main(['-h'])\n"
    )
    proc = _python(code)
    assert proc.returncode == 0, proc.stderr
    # set before numpy (and its OpenBLAS) loads, and a user's own value is kept
    assert proc.stdout.split() == [given or "1", "False"]
