"""GUI tests: ImageJ with a display (run under ``xvfb-run -a``; scripts/test.sh does).

With a display, command parameters come from a real ``GenericDialog``: macro options, the Macro
Recorder and replaying recorded macros work as for ImageJ's own commands. One test opens the
menu entry with real X events (a click on "Analyze", then the keyboard), clicks OK with a real X
mouse click and saves screenshots (set ``COLOCALIZE_SCREENSHOTS`` to a folder to keep them, e.g.
docs/images).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

import colocalize
from _imagej_helpers import buttons as _buttons
from _imagej_helpers import visible_dialog as _visible_dialog
from _imagej_helpers import wait as _wait
from colocalize import Image
from colocalize.imagej import from_imageplus, from_results_table, get_table, to_imageplus

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def gui(imagej, ij):
    """ImageJ with its main window on a display (xvfb-run); fails in CI when headless."""
    if imagej.headless:
        message = "needs a display: run `xvfb-run -a pytest -m gui` (scripts/test.sh does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    ij.JClass("ij.macro.Interpreter").batchMode = False
    if imagej.IJ.getInstance() is None:
        ij.JClass("ij.ImageJ")()
    imagej.IJ.getInstance().setLocation(0, 0)
    return imagej


@pytest.fixture
def images(gui, ij):
    """Two open image windows, "A" and "B" (closed afterwards), and their pixels."""
    rng = np.random.default_rng(4)
    base = ndimage.gaussian_filter(rng.random((120, 160)), 3)
    a = (base * 4000 + rng.random(base.shape) * 300).astype(np.uint16)
    b = (np.roll(base, 2, axis=1) * 3000 + rng.random(base.shape) * 300).astype(np.uint16)
    shown = []
    for title, data in (("A", a), ("B", b)):
        imp = to_imageplus(Image(data, axes="YX", spacing=(0.1, 0.1), unit="um"), title=title)
        imp.show()
        shown.append(imp)
    _wait(lambda: ij.JClass("ij.WindowManager").getImage("B") is not None)
    yield a, b
    window_manager = ij.JClass("ij.WindowManager")
    for image_id in window_manager.getIDList() or []:
        imp = window_manager.getImage(int(image_id))
        imp.changes = False
        imp.close()
    for title in ("Colocalization coefficients",):
        table = get_table(title)
        if table is not None:
            table.reset()
    log = window_manager.getWindow("Log")
    if log is not None:
        log.close()


def _expected(a, b, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", colocalize.ColocalizeWarning)
        return colocalize.coefficients(a, b, **kwargs)


def _click_ok(ij, title: str) -> None:
    """Click OK in the dialog called ``title`` with a real X mouse click (xdotool), or with AWT's
    Robot when xdotool is missing."""
    _wait(lambda: _visible_dialog(ij, title) is not None)
    time.sleep(0.3)
    ok = next(
        b for b in _buttons(_visible_dialog(ij, title), ij) if str(b.getLabel()).strip() == "OK"
    )
    where = ok.getLocationOnScreen()
    x, y = int(where.x + ok.getWidth() // 2), int(where.y + ok.getHeight() // 2)
    if shutil.which("xdotool"):
        subprocess.run(
            ["xdotool", "mousemove", str(x), str(y), "click", "1"], check=True, timeout=20
        )
    else:
        robot = ij.JClass("java.awt.Robot")()
        robot.mouseMove(x, y)
        button = ij.JClass("java.awt.event.InputEvent").BUTTON1_DOWN_MASK
        robot.mousePress(button)
        robot.mouseRelease(button)
    _wait(lambda: _visible_dialog(ij, title) is None)


def _screenshot(path: Path) -> None:
    if shutil.which("import") is None:
        pytest.fail("ImageMagick's import is missing: apt-get install imagemagick")
    subprocess.run(["import", "-window", "root", str(path)], check=True, timeout=30)
    keep = os.environ.get("COLOCALIZE_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)


def test_generic_dialog_reads_macro_options_and_named_tables_work(gui, images):
    a, b = images
    value = gui.IJ.runMacro(
        'run("Coloc Coefficients...", "image_1=A image_2=B threshold=Costes");'
        'return d2s(Table.get("pearson", Table.size("Colocalization coefficients") - 1, '
        '"Colocalization coefficients"), 9);'
    )
    assert float(str(value)) == pytest.approx(
        _expected(a, b, thresholds="costes").pearson, abs=1e-8
    )


def test_error_in_a_macro_is_logged_and_opens_no_modal_dialog(gui, ij, images):
    outcome = {}

    def run_macro():
        outcome["value"] = gui.IJ.runMacro(
            'run("Coloc Coefficients...", "image_1=A image_2=B threshold=Bogus"); '
            'return "continued";'
        )

    gui.IJ.log("\\Clear")
    thread = threading.Thread(target=run_macro)
    thread.start()
    thread.join(timeout=15)
    assert not thread.is_alive(), "the macro stalled"
    assert outcome["value"] is None or str(outcome["value"]) != "continued"
    assert "Coloc Coefficients: error:" in str(gui.IJ.getLog())
    modal = [
        w
        for w in ij.JClass("java.awt.Window").getWindows()
        if isinstance(w, ij.JClass("java.awt.Dialog")) and w.isVisible()
    ]
    assert modal == []


def _menu_item(ij, label: str):
    bar = ij.JClass("ij.Menus").getMenuBar()
    analyze = next(
        bar.getMenu(i)
        for i in range(bar.getMenuCount())
        if str(bar.getMenu(i).getLabel()) == "Analyze"
    )
    submenu = next(
        analyze.getItem(i)
        for i in range(analyze.getItemCount())
        if str(analyze.getItem(i).getLabel()) == "Colocalization"
    )
    return next(
        submenu.getItem(i)
        for i in range(submenu.getItemCount())
        if str(submenu.getItem(i).getLabel()) == label
    )


def _xdotool(*args: str) -> None:
    subprocess.run(["xdotool", *args], check=True, timeout=20)
    time.sleep(0.5)


def _open_from_menu(gui, ij, screenshot: Path) -> None:
    """Analyze > Colocalization > Coloc Coefficients... with real X events: a mouse click on
    "Analyze" in ImageJ's menu bar, then the keyboard (Up wraps to the last item, Colocalization;
    Right opens it; Return picks its first entry)."""
    if shutil.which("xdotool") is None:
        pytest.fail("xdotool is missing: apt-get install xdotool")
    bar = ij.JClass("ij.Menus").getMenuBar()
    metrics = ij.JClass("java.awt.Toolkit").getDefaultToolkit().getFontMetrics(bar.getFont())
    labels = [str(bar.getMenu(i).getLabel()) for i in range(bar.getMenuCount())]
    before = labels[: labels.index("Analyze")]
    # AWT's X11 menu bar: ~10 px margin, then each label with ~22 px of padding
    x = 10 + sum(int(metrics.stringWidth(label)) + 22 for label in before)
    x += int(metrics.stringWidth("Analyze")) // 2
    window = gui.IJ.getInstance()
    origin = window.getLocationOnScreen()
    y = int(origin.y) + int(window.getInsets().top) - 12  # the insets include the menu bar
    for _attempt in range(3):  # X event timing under Xvfb varies: retry a missed menu
        _xdotool("mousemove", str(int(origin.x) + x), str(y), "click", "1")
        _xdotool("key", "Up")
        _xdotool("key", "Right")
        _screenshot(screenshot)
        _xdotool("key", "Return")
        try:
            _wait(lambda: _visible_dialog(ij, "Coloc Coefficients") is not None, timeout=3)
        except TimeoutError:
            _xdotool("key", "Escape")
            _xdotool("key", "Escape")
        else:
            return
    pytest.fail("Analyze > Colocalization > Coloc Coefficients... did not open its dialog")


def test_menu_entries_are_under_analyze_colocalization(gui, ij):
    for label in ("Coloc Coefficients...", "Coloc Auto Threshold...", "Coloc Cross Correlation..."):
        assert str(_menu_item(ij, label).getLabel()) == label


def test_menu_click_dialog_recording_replay_and_screenshots(gui, ij, images, tmp_path):
    a, b = images
    recorder_class = ij.JClass("ij.plugin.frame.Recorder")
    recorder = recorder_class()
    recorder.setLocation(0, 420)
    _wait(lambda: recorder_class.getInstance() is not None)
    gui.IJ.selectWindow("A")
    _wait(lambda: str(ij.JClass("ij.WindowManager").getCurrentImage().getTitle()) == "A")
    _open_from_menu(gui, ij, tmp_path / "imagej_menu.png")
    _wait(lambda: _visible_dialog(ij, "Coloc Coefficients") is not None)
    _visible_dialog(ij, "Coloc Coefficients").setLocation(420, 0)
    time.sleep(0.5)
    _screenshot(tmp_path / "imagej_dialog.png")
    _click_ok(ij, "Coloc Coefficients")
    _wait(lambda: "Coloc Coefficients" in str(recorder.getText()))
    recorded = next(
        line for line in str(recorder.getText()).splitlines() if "Coloc Coefficients" in line
    )
    assert recorded.startswith('run("Coloc Coefficients...", "image_1=A image_2=B ')
    assert "threshold=Costes" in recorded
    _wait(
        lambda: (
            get_table("Colocalization coefficients") is not None
            and get_table("Colocalization coefficients").size() == 1
        )
    )
    time.sleep(0.5)
    _screenshot(tmp_path / "imagej_results.png")

    recorder.close()  # stop recording before the replay
    gui.IJ.runMacro(recorded)  # replay: no dialog, same options
    rows = from_results_table(get_table("Colocalization coefficients"))
    assert len(rows) == 2
    expected = _expected(a, b, thresholds="costes")
    assert rows["pearson"].tolist() == pytest.approx([expected.pearson] * 2, rel=1e-12)
    assert (tmp_path / "imagej_dialog.png").stat().st_size > 10_000


def test_cross_correlation_windows_screenshot(gui, ij, images, tmp_path):
    spots = np.zeros((96, 96))
    rng = np.random.default_rng(0)
    spots[tuple(rng.integers(10, 86, (2, 40)))] = 1
    for title, data in (("spots 1", spots), ("spots 2", np.roll(spots, 3, axis=1))):
        to_imageplus(
            Image(
                (ndimage.gaussian_filter(data, 1.5) * 4000).astype(np.uint16),
                axes="YX",
                spacing=(0.05, 0.05),
                unit="um",
            ),
            title=title,
        ).show()
    _wait(lambda: ij.JClass("ij.WindowManager").getImage("spots 2") is not None)
    gui.IJ.runMacro(
        'run("Coloc Cross Correlation...", "image_1=[spots 1] image_2=[spots 2] confidence '
        'significant_digits=3 contribution_images");'
    )
    _wait(lambda: ij.JClass("ij.WindowManager").getImage("Contribution of spots 2") is not None)
    plot = ij.JClass("ij.WindowManager").getImage("Correlation of images")
    assert plot is not None
    contribution = from_imageplus(ij.JClass("ij.WindowManager").getImage("Contribution of spots 1"))
    assert contribution.unit == "um"
    results = from_results_table(get_table("CC Results"))
    assert results["Measure"].tolist()[:2] == ["Mean (um)", "StDev (um)"]
    time.sleep(0.5)
    _screenshot(tmp_path / "imagej_ccc.png")


def test_colocalize_imagej_opens_the_imagej_window(gui):
    if shutil.which("xdotool") is None:
        pytest.fail("xdotool is missing: apt-get install xdotool")
    process = subprocess.Popen(
        [sys.executable, "-m", "colocalize", "imagej"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "is running with colocalize's commands" in line
        found = subprocess.run(
            ["xdotool", "search", "--sync", "--name", "^ImageJ$"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert found.stdout.strip()
    finally:
        process.terminate()
        process.wait(timeout=30)
