"""Failure paths of the bridge, each with a timeout: a missing Python, a Python without
colocalize, a worker killed mid-call, and a macro error under ``colocalize imagej --macro`` with
a display (an error dialog must not leave it waiting forever).

Plain ImageJ launches need a display (see test_imagej_plain.py): marked ``gui``.
"""

from __future__ import annotations

import os
import shutil
import sys
import venv
from pathlib import Path

import pytest

import colocalize
from colocalize import Image
from conftest import skip_or_fail
from test_imagej_plain import IJ_JAR, _missing, _pair, launch, read_results, run_with_display

pytestmark = pytest.mark.gui

TIMEOUT = 120.0


@pytest.fixture(scope="module")
def bare_app(tmp_path_factory) -> Path:
    """A plain ImageJ folder with only the shim jar (no colocalize-python.txt)."""
    reason = _missing()
    if reason is not None:
        skip_or_fail(reason)
    from colocalize.imagej._jvm import bridge_jar

    folder = tmp_path_factory.mktemp("bare")
    (folder / "plugins").mkdir()
    shutil.copyfile(bridge_jar(), folder / "plugins" / bridge_jar().name)
    return folder


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("images")
    a, b = _pair(seed=11)
    colocalize.write_image(folder / "A.tif", Image(a, axes="YX"))
    colocalize.write_image(folder / "B.tif", Image(b, axes="YX"))
    return folder


COEFFICIENTS = r"""
dir = getArgument();
setBatchMode(true);
open(dir + "A.tif");
open(dir + "B.tif");
run("Coloc Coefficients...", "image_1=A.tif image_2=B.tif threshold=None");
print("not reached");
"""


def _no_python_on_path() -> dict[str, str]:
    """An environment whose PATH has java and xvfb-run but no colocalize executable."""
    keep = {str(Path(shutil.which(t) or "/usr/bin/java").resolve().parent) for t in ("java",)}
    keep |= {"/usr/bin", "/bin"}
    path = os.pathsep.join(p for p in keep if not (Path(p) / "colocalize").exists())
    return {"PATH": path, "COLOCALIZE_PYTHON": ""}


def test_missing_python_gives_the_install_commands_and_a_failed_exit(bare_app, images):
    done = launch(bare_app, COEFFICIENTS, images, env=_no_python_on_path())
    out = done.stdout + done.stderr
    assert "not reached" not in out
    assert "pip install colocalize" in out
    assert f"colocalize install-fiji {bare_app}" in out
    assert done.returncode != 0
    assert "Traceback" not in out


def test_a_python_without_colocalize_says_so(bare_app, images, tmp_path):
    env_dir = tmp_path / "bare-venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    done = launch(
        bare_app,
        COEFFICIENTS,
        images,
        env={**_no_python_on_path(), "COLOCALIZE_PYTHON": str(python)},
    )
    out = done.stdout + done.stderr
    assert "not reached" not in out
    assert str(python) in out
    assert "pip install colocalize" in out
    assert done.returncode != 0


KILL = r"""
dir = getArgument();
setBatchMode(true);
run("Set Measurements...", "decimal=9");
open(dir + "A.tif");
open(dir + "B.tif");
run("Coloc Coefficients...", "image_1=A.tif image_2=B.tif threshold=None");
pid = call("colocalize.bridge.Worker.pid");
print("worker pid " + pid);
exec("kill", "-9", pid);
wait(300);
run("Clear Results");
run("Coloc Coefficients...", "image_1=A.tif image_2=B.tif threshold=None");
saveAs("Results", dir + "after_kill.csv");
print("second call done, worker pid " + call("colocalize.bridge.Worker.pid"));
"""


def test_a_killed_worker_is_replaced_by_a_fresh_one(tmp_path, images):
    from colocalize.imagej._fiji import install_fiji

    app = tmp_path / "app"
    app.mkdir()
    install_fiji(app)
    done = launch(app, KILL, images)
    out = done.stdout + done.stderr
    assert "second call done" in out, out
    first = out.split("worker pid ")[1].split()[0]
    second = out.split("second call done, worker pid ")[1].split()[0]
    assert first != second
    a, b = _pair(seed=11)
    row = read_results(images / "after_kill.csv")[0]
    assert float(row["pearson"]) == pytest.approx(colocalize.coefficients(a, b).pearson, abs=2e-9)


def test_a_worker_killed_mid_call_is_a_clear_error_naming_the_command(tmp_path, images):
    """The worker dies while it computes: the call fails with a message naming the command,
    and the next call starts a fresh worker and works."""
    from colocalize.imagej._fiji import install_fiji

    app = tmp_path / "app"
    app.mkdir()
    install_fiji(app)
    # a Python that runs the real worker but dies on its first EXECUTE of batch
    wrapper = tmp_path / "dying-python"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'exec {sys.executable} -c "\n'
        "import sys, os, dataclasses\n"
        "from colocalize.imagej import _worker, _spec\n"
        "import colocalize.imagej._catalog\n"
        "def die(request, progress):\n"
        "    os._exit(9)\n"
        "c = _spec.COMMANDS['batch']\n"
        "_spec.COMMANDS['batch'] = dataclasses.replace(c, handler=die)\n"
        'sys.exit(_worker.main(sys.argv[sys.argv.index(\'--buffer-dir\'):]))" "$@"\n'
    )
    wrapper.chmod(0o755)
    macro = (
        COEFFICIENTS.replace('print("not reached");', "")
        + 'run("Clear Results");\n'
        + 'run("Coloc Batch...", "folder=['
        + str(images)
        + ']");\n'
        + 'print("not reached");\n'
    )
    done = launch(app, macro, images, env={"COLOCALIZE_PYTHON": str(wrapper)})
    out = done.stdout + done.stderr
    assert "not reached" not in out
    assert "Coloc Batch" in out
    assert "Traceback" not in out
    assert done.returncode != 0


def test_macro_error_with_a_display_does_not_wait_forever(tmp_path):
    """``colocalize imagej --macro`` with a display: a macro-language error would open a modal
    error dialog and block; it ends the run with the message instead."""
    if shutil.which("xvfb-run") is None and not os.environ.get("DISPLAY"):
        skip_or_fail("no display and no xvfb-run: apt-get install xvfb")
    if not IJ_JAR.is_file():
        skip_or_fail("ImageJ 1.x not found: apt-get install libij-java")
    macro = tmp_path / "bad.ijm"
    macro.write_text('print("before");\nx = undefinedFunction(3);\nprint("not reached");\n')
    command = [sys.executable, "-m", "colocalize", "imagej", "--macro", str(macro)]
    done = run_with_display(command, timeout=TIMEOUT)
    out = done.stdout + done.stderr
    assert done.returncode == 1
    assert "before" in out
    assert "not reached" not in out
    assert "bad.ijm: macro error: Undefined identifier" in out
