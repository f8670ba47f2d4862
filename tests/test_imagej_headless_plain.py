"""A truly headless plain ImageJ 1.x (``java.awt.headless=true``, no display, no Python inside
the JVM) runs colocalize's commands through the Python worker.

ImageJ 1.53t cannot build its menus headless, so the macro first puts the shim's commands in
ImageJ's command table (``call("colocalize.bridge.HeadlessMenus.install")``), which needs the
shim jar on the class path. Runs in the headless pass of scripts/test.sh (no xvfb).
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

import colocalize
from test_imagej_plain import IJ_JAR, _pair, quiet

MACRO = r"""
call("colocalize.bridge.HeadlessMenus.install");
dir = getArgument();
open(dir + "A.tif");
open(dir + "B.tif");
run("Coloc Coefficients...", "image_1=A.tif image_2=B.tif threshold=Costes");
print("pearson=" + d2s(getResult("pearson", 0), 9) + " tm1=" + d2s(getResult("tm1", 0), 9));
run("Coloc Coefficients...", "image_1=A.tif image_2=missing.tif");
print("not reached");
"""


def test_a_headless_jvm_runs_the_commands_through_the_worker(tmp_path):
    if shutil.which("java") is None or not IJ_JAR.is_file():
        message = "java or ImageJ 1.x missing: apt-get install default-jdk-headless libij-java"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from colocalize.imagej._fiji import install_fiji

    app = tmp_path / "ImageJ"
    app.mkdir()
    install_fiji(app)
    a, b = _pair(seed=4)
    colocalize.write_image(tmp_path / "A.tif", a)
    colocalize.write_image(tmp_path / "B.tif", b)
    (tmp_path / "job.ijm").write_text(MACRO)
    jar = app / "plugins" / "Colocalize_Bridge.jar"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    done = subprocess.run(
        [
            "java",
            "-Djava.awt.headless=true",
            "-cp",
            os.pathsep.join([str(IJ_JAR), str(jar)]),
            "ij.ImageJ",
            "-ijpath",
            str(app),
            "-batch",
            str(tmp_path / "job.ijm"),
            f"{tmp_path}/",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )
    out = done.stdout + done.stderr
    line = next(s for s in done.stdout.splitlines() if s.startswith("pearson="))
    pearson, tm1 = (float(part.split("=")[1]) for part in line.split())
    expected = quiet(colocalize.coefficients, a, b, thresholds="costes")
    assert pearson == pytest.approx(expected.pearson, abs=1e-9)
    assert tm1 == pytest.approx(expected.tm1, abs=1e-9)
    # the second command fails: one line naming the cause, the macro stops, exit status 1
    assert "missing.tif" in out
    assert "not reached" not in out
    assert "Traceback" not in out
    assert done.returncode == 1
