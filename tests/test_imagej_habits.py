"""Habits of ImageJ (issue 13): dialogs remember their last values (ImageJ ``Prefs``) except image
titles of closed images, macros with options never see remembered values, image defaults skip the
images our commands created, every dialog has a Help button, label images and masks get their LUTs.

The dialog tests need a display (``xvfb-run -a``; scripts/test.sh runs them there); the others run
headless too.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
import warnings

import numpy as np
import pytest
from scipy import ndimage

import colocalize
from _imagej_helpers import buttons as _buttons
from _imagej_helpers import visible_dialog as _dialog
from _imagej_helpers import wait
from colocalize.imagej import from_results_table, get_table, to_imageplus

pytestmark = pytest.mark.imagej_command

TABLES = ["Colocalization coefficients", "Auto threshold"]
COEFFICIENTS = "Coloc Coefficients"
DOCS = "https://github.com/colocalize/colocalize/blob/main/docs/fiji.md"


def _pair(shape=(48, 40), seed=0):
    rng = np.random.default_rng(seed)
    base = ndimage.gaussian_filter(rng.random(shape), 2)
    a = (base * 3000 + rng.random(shape) * 300).astype(np.uint16)
    b = (np.roll(base, 1, axis=-1) * 1500 + rng.random(shape) * 300).astype(np.uint16)
    return a, b


def _show(data: np.ndarray, title: str):
    imp = to_imageplus(data, title=title)
    imp.show()
    return imp


def _run(gateway, command: str, options: str) -> None:
    import jpype

    marker = gateway.IJ.runMacro(f'run("{command}", "{options}"); return "finished";')
    assert jpype.JClass("colocalize.bridge.Dispatch").lastError() is None
    assert str(marker) == "finished"


def _pearson(a, b) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", colocalize.ColocalizeWarning)
        return colocalize.coefficients(a, b, thresholds="costes").pearson


def test_image_defaults_skip_the_masks_our_commands_created(session, ij):
    """After Auto Threshold shows "Mask of A (Otsu)" (the current image), a Coloc Coefficients run
    that names no image correlates the source images, not the mask with A."""
    a, b = _pair()
    _show(a, "A")
    _show(b, "B")
    ij.JClass("ij.WindowManager").setTempCurrentImage(None)
    _run(session, "Coloc Auto Threshold...", "image=A method=Otsu create_mask")
    wm = ij.JClass("ij.WindowManager")
    mask = wm.getImage("Mask of A (Otsu)")
    assert mask is not None
    wm.setTempCurrentImage(mask)  # the mask is the current image, as after showing it
    _run(session, "Coloc Coefficients...", "threshold=Costes")
    rows = from_results_table(get_table("Colocalization coefficients"))
    assert rows["pearson"].iloc[-1] == pytest.approx(_pearson(a, b), rel=1e-12)


def test_scatter_plot_legend_writes_a_negative_intercept_with_a_minus(session, ij):
    """The regression line's legend read "C2 = 7.7 C1 + -1.129e+04" on the neuron sample."""
    rng = np.random.default_rng(1)
    a = rng.integers(1000, 3000, (40, 40)).astype(np.uint16)
    b = (2 * a.astype(np.int64) - 1500 + rng.integers(0, 50, a.shape)).astype(np.uint16)
    _show(a, "A")
    _show(b, "B")
    _run(session, "Coloc Coefficients...", "image_1=A image_2=B threshold=None scatter_plot")
    plot_image = ij.JClass("ij.WindowManager").getImage("Scatter plot of B against A")
    plot = plot_image.getProperty(ij.JClass("ij.gui.Plot").PROPERTY_KEY)
    legend = "\n".join(str(d) for d in plot.getDataObjectDesignations())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", colocalize.ColocalizeWarning)
        fit = colocalize.costes_threshold(a, b)
    assert fit.intercept < -1000
    assert f"regression: C2 = {fit.slope:.4g} C1 - {-fit.intercept:.4g}" in legend
    assert "+ -" not in legend


# ---------------------------------------------------------------------------------------------
# Dialogs (a display is needed)


@pytest.fixture
def gui(session, ij):
    """The session's ImageJ out of batch mode, with a display; fails in CI when headless."""
    if session.headless:
        message = "needs a display: run under `xvfb-run -a` (scripts/test.sh does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    interpreter = ij.JClass("ij.macro.Interpreter")
    interpreter.batchMode = False
    prefs = ij.JClass("ij.Prefs")
    keys = ["image_1", "image_2", "threshold", "channel_1", "exclude_zero-zero_pixels"]
    keys += ["report", "report.folder"]
    saved = {key: prefs.get(f"colocalize.coefficients.{key}", None) for key in keys}
    yield session
    for key, value in saved.items():
        prefs.set(f"colocalize.coefficients.{key}", value)  # None removes the key
    for window in ij.JClass("java.awt.Window").getWindows():
        if isinstance(window, ij.JClass("ij.gui.GenericDialog")) and window.isVisible():
            # a dialog a failed test left open: cancel it, so its command does not run later
            cancel = next(b for b in _buttons(window, ij) if str(b.getLabel()).strip() == "Cancel")
            window.actionPerformed(ij.JClass("java.awt.event.ActionEvent")(cancel, 1001, "Cancel"))
    interpreter.batchMode = True


def _open_dialog(gateway, ij, title: str = COEFFICIENTS):
    """Runs the command without macro options in a thread and returns its dialog and thread."""

    def run() -> None:
        try:
            gateway.IJ.run(f"{title}...")
        except Exception as error:  # Cancel aborts the command as ImageJ does: "Macro canceled"
            if "Macro canceled" not in str(error):
                raise

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    wait(lambda: _dialog(ij, title) is not None, timeout=15.0)
    time.sleep(0.3)
    return _dialog(ij, title), thread


def _press(dialog, ij, label: str, thread) -> None:
    """Presses button ``label`` of ``dialog`` (as a click does) and waits for the command."""
    button = next(b for b in _buttons(dialog, ij) if str(b.getLabel()).strip() == label)
    event = ij.JClass("java.awt.event.ActionEvent")(button, 1001, label)
    dialog.actionPerformed(event)
    thread.join(timeout=60)
    assert not thread.is_alive(), "the command did not finish"


def _help_url(dialog, ij) -> str:
    field = ij.JClass("ij.gui.GenericDialog").class_.getDeclaredField("helpURL")
    field.setAccessible(True)
    return str(field.get(dialog))


def _selected(dialog) -> list[str]:
    return [str(choice.getSelectedItem()) for choice in dialog.getChoices()]


@pytest.mark.gui  # a real dialog: the xvfb-run step of scripts/test.sh
def test_dialog_offers_remembered_values_but_not_closed_images(gui, ij):
    a, b = _pair()
    _show(a, "A")
    _show(b, "B")
    _show(b, "C")
    gui.IJ.selectWindow("A")
    ij.JClass("ij.WindowManager").setTempCurrentImage(ij.JClass("ij.WindowManager").getImage("A"))
    prefs = ij.JClass("ij.Prefs")
    prefs.set("colocalize.coefficients.image_1", "C")
    prefs.set("colocalize.coefficients.image_2", "an image that was closed")
    prefs.set("colocalize.coefficients.threshold", "None")
    prefs.set("colocalize.coefficients.channel_1", "1")
    prefs.set("colocalize.coefficients.exclude_zero-zero_pixels", "true")
    dialog, thread = _open_dialog(gui, ij)
    image_1, image_2, _mask, _labels, threshold = _selected(dialog)[:5]
    assert (image_1, image_2, threshold) == ("C", "B", "None")  # B: the default "@second"
    assert bool(dialog.getCheckboxes()[0].getState()) is True
    _press(dialog, ij, "OK", thread)
    # what the user accepted is remembered for next time
    assert str(prefs.get("colocalize.coefficients.image_2", "")) == "B"
    assert str(prefs.get("colocalize.coefficients.image_1", "")) == "C"
    row = from_results_table(get_table("Colocalization coefficients")).iloc[-1]
    assert row["Threshold method"] == "None"


@pytest.mark.gui  # a real dialog: the xvfb-run step of scripts/test.sh
def test_macro_with_options_ignores_remembered_values(gui, ij):
    a, b = _pair()
    _show(a, "A")
    _show(b, "B")
    prefs = ij.JClass("ij.Prefs")
    prefs.set("colocalize.coefficients.threshold", "None")
    prefs.set("colocalize.coefficients.exclude_zero-zero_pixels", "true")
    _run(gui, "Coloc Coefficients...", "image_1=A image_2=B")
    row = from_results_table(get_table("Colocalization coefficients")).iloc[-1]
    assert row["Threshold method"] == "Costes"  # the spec's default, not the remembered "None"
    assert row["pearson"] == pytest.approx(_pearson(a, b), rel=1e-12)
    assert str(prefs.get("colocalize.coefficients.threshold", "")) == "None"  # not overwritten


@pytest.mark.gui  # a real dialog: the xvfb-run step of scripts/test.sh
def test_second_dialog_run_does_not_offer_the_report_it_wrote(gui, ij, tmp_path):
    """An output file is never pre-filled from Prefs (the command refuses to write over a file,
    so the second run from the menu failed with "already exists"); only its folder is kept, where
    the Browse button (a save dialog, not ImageJ's open dialog) starts."""
    a, b = _pair()
    _show(a, "A")
    _show(b, "B")
    dispatch = ij.JClass("colocalize.bridge.Dispatch")
    prefs = ij.JClass("ij.Prefs")
    first = tmp_path / "first.pdf"
    dialog, thread = _open_dialog(gui, ij)
    (report,) = dialog.getStringFields()  # Coloc Coefficients has one text field: Report
    report.setText(str(first))
    _press(dialog, ij, "OK", thread)
    assert dispatch.lastError() is None
    assert first.is_file()
    assert str(prefs.get("colocalize.coefficients.report.folder", "")) == str(tmp_path)

    dialog, thread = _open_dialog(gui, ij)
    (report,) = dialog.getStringFields()
    assert str(report.getText()) == ""
    browse = next(b for b in _buttons(dialog, ij) if str(b.getLabel()).strip() == "Browse")
    listeners = [str(x.getClass().getName()) for x in browse.getActionListeners()]
    assert listeners
    assert not any("BrowseButtonListener" in name for name in listeners)
    _press(dialog, ij, "OK", thread)
    assert dispatch.lastError() is None  # before: "report=[...first.pdf] already exists"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first.pdf"]


@pytest.mark.gui  # a real dialog: the xvfb-run step of scripts/test.sh
def test_batch_dialog_does_not_offer_the_last_output_folder(gui, ij, tmp_path):
    """A remembered Output sent the next batch of another Folder into the first one's output,
    replacing its results; empty, the output is <Folder>/colocalize-batch."""
    prefs = ij.JClass("ij.Prefs")
    saved = {k: prefs.get(f"colocalize.batch.{k}", None) for k in ("output", "folder")}
    (tmp_path / "first-experiment-output").mkdir()  # the earlier run's results
    prefs.set("colocalize.batch.output", str(tmp_path / "first-experiment-output"))
    prefs.set("colocalize.batch.folder", str(tmp_path))
    try:
        dialog, thread = _open_dialog(gui, ij, "Coloc Batch")
        texts = [str(field.getText()) for field in dialog.getStringFields()]
        assert texts[0].rstrip("/") == str(tmp_path)  # Folder: remembered, an input
        assert not any("first-experiment-output" in text for text in texts)
        _press(dialog, ij, "Cancel", thread)
    finally:
        for key, value in saved.items():
            prefs.set(f"colocalize.batch.{key}", value)


def test_output_file_fields_are_never_remembered():
    """Every dialog field naming a file a command writes is of the "save" kind."""
    from colocalize.imagej import _catalog

    kinds = {
        (name, f.key): f.kind
        for name, c in _catalog.commands().items()
        for f in c.spec.fields
        if f.kind in ("file", "save", "directory", "save_folder")
    }
    assert kinds == {
        ("coefficients", "report"): "save",
        ("objects", "save_objects"): "save",
        ("batch", "output"): "save_folder",  # its default follows the input folder
        ("batch", "folder"): "directory",
        ("cross_correlation", "save_folder"): "directory",  # CCC's save folder, kept
        ("learned_threshold", "model"): "file",
        ("batch", "thresholds_csv"): "file",
        ("batch", "model"): "file",
        ("import_tiff", "open"): "file",
    }


@pytest.mark.gui  # a real dialog: the xvfb-run step of scripts/test.sh
def test_dialog_help_button_opens_the_command_docs(gui, ij, monkeypatch):
    from colocalize.imagej import _catalog, _spec

    _show(_pair()[0], "A")
    _show(_pair()[1], "B")
    dialog, thread = _open_dialog(gui, ij)
    assert any(str(b.getLabel()).strip() == "Help" for b in _buttons(dialog, ij))
    # the command's own section of docs/fiji.md (was "#using-the-commands" for every command)
    assert _help_url(dialog, ij) == f"{DOCS}#coloc-coefficients"
    _press(dialog, ij, "Cancel", thread)

    # a spec with its own "help" URL opens that
    command = _catalog.commands()["coefficients"]
    url = "https://example.org/coloc-help"
    own = dataclasses.replace(command, spec=dataclasses.replace(command.spec, help=url))
    monkeypatch.setitem(_spec.COMMANDS, "coefficients", own)
    specs = ij.JClass("colocalize.bridge.Dispatch").class_.getDeclaredField("SPECS")
    specs.setAccessible(True)
    specs.get(None).clear()  # ask the Python side for the specs again
    try:
        dialog, thread = _open_dialog(gui, ij)
        assert _help_url(dialog, ij) == url
        _press(dialog, ij, "Cancel", thread)
    finally:
        monkeypatch.undo()
        specs.get(None).clear()


def test_every_help_button_opens_a_section_of_the_docs():
    """Each dialog's Help button (an empty spec ``help``: ``docs/fiji.md#<title as a GitHub
    anchor>``, as plugin Dialogs.helpUrl makes it) lands on exactly one heading of docs/fiji.md,
    the command's section with its dialog, its result and a link to its macro options."""
    import re
    from pathlib import Path

    from colocalize.imagej import _catalog

    docs = Path(__file__).resolve().parents[1] / "docs" / "fiji.md"
    text = docs.read_text(encoding="utf-8")
    anchors = [
        re.sub(r"[^a-z0-9 _-]", "", line.lstrip("#").strip().lower()).strip().replace(" ", "-")
        for line in text.splitlines()
        if line.startswith("#")
    ]
    for key, command in _catalog.commands().items():
        spec = command.spec
        assert spec.help == ""
        anchor = re.sub(r"[^a-z0-9 _-]", "", spec.title.lower()).strip().replace(" ", "-")
        assert anchors.count(anchor) == 1, (key, anchor)
        section = text[text.index(f"### {spec.title}\n") :].split("\n### ")[0]
        assert f"images/dialog_{key}.png" in section, key
        assert "macros.md#options-of-each-command" in section, key


def test_readme_and_docs_list_every_menu_command():
    """Every entry of plugin/plugins.config is in README's capability table and in the table of
    commands of docs/fiji.md (Coloc Objects and the import command were missing from README)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    config = (root / "plugin" / "plugins.config").read_text(encoding="utf-8")
    labels = [
        line.split(",")[1].strip().strip('"')
        for line in config.splitlines()
        if line.strip() and not line.startswith("#")
    ]
    readme = (root / "README.md").read_text(encoding="utf-8")
    table = [line for line in readme.splitlines() if line.startswith("| ")]
    fiji = (root / "docs" / "fiji.md").read_text(encoding="utf-8")
    for label in labels:
        if label == "Coloc Setup...":  # setting, not a command: README's install section
            continue
        assert any(label in line.split("|")[-2] for line in table), label
        assert f"| {label} |" in fiji, label


# ---------------------------------------------------------------------------------------------
# Colour tables of label images and masks


def _lut(imp) -> np.ndarray:
    """The (256, 3) colours of ``imp``'s LUT."""
    import jpype

    model = imp.getProcessor().getColorModel()
    colours = []
    for get in (model.getReds, model.getGreens, model.getBlues):
        values = jpype.JArray(jpype.JByte)(256)
        get(values)
        colours.append(np.asarray(values, dtype=np.int16) & 0xFF)
    return np.stack(colours, axis=1)


def _display(data: np.ndarray, title: str, lut: str):
    from colocalize import Image
    from colocalize.imagej._contract import ImageData, Response
    from colocalize.imagej._registry import display

    image = Image(data, axes="YX", name=title)
    return display(Response(images=(ImageData(image, 0.0, lut=lut),)))[0]


def test_label_images_get_a_fixed_label_colour_table(session):
    labels = np.arange(256, dtype=np.uint8).reshape(16, 16)
    colours = _lut(_display(labels, "labels", "glasbey"))
    assert colours[0].tolist() == [0, 0, 0]  # background black
    assert len({tuple(c) for c in colours}) == 256  # every label its own colour
    steps = np.abs(np.diff(colours[1:].astype(int), axis=0)).sum(axis=1)
    assert steps.min() > 60  # neighbouring labels are told apart
    again = _lut(_display(labels, "labels again", "glasbey"))
    assert np.array_equal(colours, again)  # deterministic


@pytest.mark.parametrize("black_background", [False, True])
def test_masks_get_the_lut_imagej_expects(session, ij, black_background):
    prefs = ij.JClass("ij.Prefs")
    before = bool(prefs.blackBackground)
    prefs.blackBackground = black_background
    try:
        mask = np.zeros((8, 8), np.uint8)
        mask[2:5, 2:5] = 255
        imp = _display(mask, "mask", "mask")
    finally:
        prefs.blackBackground = before
    assert bool(imp.isInvertedLut()) is not black_background  # as Convert to Mask makes it
    assert imp.getProcessor().get(3, 3) == 255  # pixels unchanged: 255 is the foreground
