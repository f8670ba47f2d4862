"""File > Import > colocalize TIFF... in a plain ImageJ 1.x (``java -jar ij.jar -batch``, the
worker path): files ImageJ cannot open itself (OME BigTIFF, such as the neuron-4Ch sample) open
as hyperstacks with their calibration, channel names and composite colours; errors are one line.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import tifffile

import colocalize
from test_imagej_gui import gui  # noqa: F401 - a fixture
from test_imagej_plain import app, launch  # noqa: F401 - app is a fixture

REPORT = r"""
run("colocalize TIFF...", "open=[%s]");
Stack.getDimensions(width, height, channels, slices, frames);
getPixelSize(unit, pw, ph, pd);
print("title=" + getTitle() + " n=" + nImages + " composite=" + is("composite"));
print("size=" + width + "x" + height + "x" + channels + "x" + slices + "x" + frames);
print("unit=" + unit + " pw=" + d2s(pw, 9) + " ph=" + d2s(ph, 9) + " pd=" + d2s(pd, 9));
print("interval=" + d2s(Stack.getFrameInterval(), 9));
if (is("composite")) { Stack.getDisplayMode(mode); print("mode=" + mode); }
for (t = 1; t <= frames; t++) for (z = 1; z <= slices; z++) for (c = 1; c <= channels; c++) {
    Stack.setPosition(c, z, t);
    getStatistics(area, mean);
    getMinAndMax(low, high);
    label = getInfo("slice.label");
    print("plane c=" + c + " z=" + z + " t=" + t + " label=" + label + " mean=" + d2s(mean, 9));
    print("range c=" + c + " z=" + z + " t=" + t + " range=" + low + "-" + high);
}
"""


def _report(done) -> dict[str, str]:
    """The ``key=value`` words of the macro's printed lines (planes as a list)."""
    fields: dict[str, str] = {}
    planes = []
    for line in done.stdout.splitlines():
        words = dict(w.split("=", 1) for w in line.split() if "=" in w)
        if line.startswith("plane "):
            planes.append(words)
        elif line.startswith("range "):
            planes[-1].update(words)
        else:
            fields.update(words)
    fields["planes"] = planes  # type: ignore[assignment]
    return fields


@pytest.mark.gui
def test_the_neuron_sample_opens_with_calibration_and_channel_names(app, tmp_path):  # noqa: F811
    path = colocalize.data.sample_path("neuron_4ch")
    # ImageJ 1.x itself cannot open it (an OME BigTIFF): that is why the command exists
    with tifffile.TiffFile(path) as tif:
        assert tif.is_bigtiff
        assert tif.is_ome
    done = launch(app, REPORT % path, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    got = _report(done)
    expected = colocalize.read_image(path)
    assert got["title"] == "neuron-4Ch.tiff"
    assert got["n"] == "1"
    assert got["composite"] == "1"
    assert got["mode"] == "composite"
    assert got["size"] == "502x623x4x1x1"
    assert got["unit"] == "µm"
    assert float(got["pw"]) == pytest.approx(0.1241)
    assert float(got["ph"]) == pytest.approx(0.1241)
    assert float(got["interval"]) == 0
    planes = got["planes"]
    assert [p["label"] for p in planes] == list(expected.channel_names)  # the file's names
    for c, plane in enumerate(planes):
        data = expected.channel(c)
        assert float(plane["mean"]) == pytest.approx(data.mean(), abs=1e-6)
        assert plane["range"] == f"{data.min()}-{data.max()}"


@pytest.mark.gui
def test_an_ome_bigtiff_hyperstack_keeps_every_axis_and_the_frame_interval(app, tmp_path):  # noqa: F811
    rng = np.random.default_rng(1)
    data = rng.integers(0, 4000, (3, 2, 2, 20, 30)).astype(np.uint16)  # TCZYX
    metadata = {
        "axes": "TCZYX",
        "PhysicalSizeX": 0.2,
        "PhysicalSizeY": 0.25,
        "PhysicalSizeZ": 0.5,
        "TimeIncrement": 2.5,
        "TimeIncrementUnit": "s",
        "Channel": {"Name": ["GFP", "RFP"]},
    }
    tifffile.imwrite(tmp_path / "cells.ome.tif", data, bigtiff=True, ome=True, metadata=metadata)
    done = launch(app, REPORT % (tmp_path / "cells.ome.tif"), tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    got = _report(done)
    assert got["title"] == "cells.ome.tif"
    assert got["size"] == "30x20x2x2x3"
    assert (got["pw"], got["ph"], got["pd"]) == ("0.200000000", "0.250000000", "0.500000000")
    assert float(got["interval"]) == pytest.approx(2.5)
    planes = got["planes"]
    assert len(planes) == 12
    for plane in planes:
        c, z, t = (int(plane[k]) - 1 for k in ("c", "z", "t"))
        assert plane["label"] == ("GFP", "RFP")[c]
        assert float(plane["mean"]) == pytest.approx(data[t, c, z].mean(), abs=1e-6)


@pytest.mark.gui
def test_an_uncalibrated_single_channel_file_opens_plain(app, tmp_path):  # noqa: F811
    data = np.arange(6 * 7, dtype=np.float64).reshape(6, 7) / 7  # float64: ImageJ gets float32
    tifffile.imwrite(tmp_path / "plain.tif", data)
    done = launch(app, REPORT % (tmp_path / "plain.tif"), tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    got = _report(done)
    assert got["composite"] == "0"
    assert got["size"] == "7x6x1x1x1"
    assert got["unit"] in ("pixels", "pixel")
    assert float(got["planes"][0]["mean"]) == pytest.approx(data.mean(), abs=1e-6)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("missing.tif", "File not found: "),
        ("notes.txt", "notes.txt is not a TIFF file; colocalize TIFF opens TIFF"),
        ("folder", "is a folder; choose a TIFF file in it"),
        ("broken.tif", "Cannot open broken.tif: cannot decode the pixels of '"),
        ("header.tif", "Cannot open header.tif: its TIFF structure is damaged or cut short"),
        ("", "open= is empty; choose a TIFF file"),
    ],
)
@pytest.mark.gui
def test_files_that_cannot_be_opened_give_one_line_in_imagej_terms(
    app,  # noqa: F811
    tmp_path,
    name,
    expected,
):
    (tmp_path / "notes.txt").write_text("not an image\n")
    (tmp_path / "folder").mkdir()
    whole = tmp_path / "whole.tif"
    tifffile.imwrite(whole, np.zeros((64, 64), np.uint16))
    (tmp_path / "broken.tif").write_bytes(whole.read_bytes()[:300])  # truncated
    (tmp_path / "header.tif").write_bytes(whole.read_bytes()[:4])  # read_image raised struct.error
    target = f"[{tmp_path}/{name}]" if name else "[]"
    macro = f'run("colocalize TIFF...", "open={target}");\nprint("not reached");\n'
    done = launch(app, macro, tmp_path)
    out = done.stdout + done.stderr
    line = next(s for s in out.splitlines() if "colocalize TIFF: error:" in s)
    assert expected in line
    assert "Errno" not in line
    assert "Traceback" not in out
    assert "read_image" not in line
    assert "Error" not in line
    assert "series" not in line
    assert "unpack" not in line
    assert "not reached" not in out
    assert done.returncode == 1


DEFAULTS = r"""
dir = getArgument();
open(dir + "other.tif");
run("colocalize TIFF...", "open=[" + dir + "cells.ome.tif]");
run("Coloc Coefficients...", "image_2=[cells.ome.tif] channel_1=1 channel_2=2 threshold=None");
print("image_1=" + getResultString("Image 1", nResults - 1));
"""


@pytest.mark.gui
def test_an_imported_image_stays_the_default_image_of_the_commands(app, tmp_path):  # noqa: F811
    """Image defaults skip our commands' derived outputs (masks, labels), not imported files."""
    rng = np.random.default_rng(2)
    data = rng.integers(0, 4000, (2, 20, 30)).astype(np.uint16)
    tifffile.imwrite(tmp_path / "cells.ome.tif", data, ome=True, metadata={"axes": "CYX"})
    colocalize.write_image(tmp_path / "other.tif", data[0])  # opened first by ImageJ itself
    done = launch(app, DEFAULTS, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "image_1=cells.ome.tif (C1)" in done.stdout


@pytest.mark.gui
def test_the_dialog_records_the_file_and_remembers_it(gui, ij, tmp_path):  # noqa: F811
    """File > Import > colocalize TIFF... from the menu: a file field with a Browse button, a
    recorded ``open=[path]`` that replays, and the last file offered next time."""
    from _imagej_helpers import buttons, visible_dialog, wait

    path = tmp_path / "two words.ome.tif"
    data = np.arange(2 * 12 * 10, dtype=np.uint16).reshape(2, 12, 10)
    tifffile.imwrite(path, data, ome=True, metadata={"axes": "CYX"})
    bar = ij.JClass("ij.Menus").getMenuBar()
    file_menu = next(
        bar.getMenu(i) for i in range(bar.getMenuCount()) if bar.getMenu(i).getLabel() == "File"
    )
    import_menu = next(
        file_menu.getItem(i)
        for i in range(file_menu.getItemCount())
        if file_menu.getItem(i).getLabel() == "Import"
    )
    entries = [str(import_menu.getItem(i).getLabel()) for i in range(import_menu.getItemCount())]
    assert "colocalize TIFF..." in entries
    recorder_class = ij.JClass("ij.plugin.frame.Recorder")
    recorder = recorder_class()
    wait(lambda: recorder_class.getInstance() is not None)
    time.sleep(0.5)  # the Recorder records commands once its window is up
    manager = ij.JClass("ij.WindowManager")
    try:
        for attempt in range(2):
            gui.IJ.doCommand("colocalize TIFF...")
            wait(lambda: visible_dialog(ij, "colocalize TIFF") is not None)
            dialog = visible_dialog(ij, "colocalize TIFF")
            field = dialog.getStringFields().get(0)
            labels = [str(b.getLabel()).strip() for b in buttons(dialog, ij)]
            assert "Browse" in labels
            if attempt == 0:
                field.setText(str(path))
            else:
                assert str(field.getText()) == str(path)  # remembered
            ok = next(b for b in buttons(dialog, ij) if str(b.getLabel()).strip() == "OK")
            event = ij.JClass("java.awt.event.ActionEvent")
            dialog.actionPerformed(event(ok, event.ACTION_PERFORMED, "OK"))
            wait(lambda: manager.getImage(path.name) is not None)
            manager.getImage(path.name).close()
            # the command has ended (recorded) before the next one starts
            wait(lambda n=attempt: str(recorder.getText()).count("colocalize TIFF") > n)
        recorded = [s for s in str(recorder.getText()).splitlines() if "colocalize TIFF" in s]
        assert recorded[0] == f'run("colocalize TIFF...", "open=[{path}]");', str(
            recorder.getText()
        )
        recorder.close()
        gui.IJ.runMacro(recorded[0])  # the recorded line replays
        imp = manager.getImage(path.name)
        assert imp is not None
        assert imp.getNChannels() == 2
        imp.close()
    finally:
        if recorder_class.getInstance() is not None:
            recorder.close()


@pytest.mark.imagej_command
def test_imported_in_process_equals_the_reader(imagej, tmp_path):
    """ImageJ started from Python (JPype; headless too): the same command, the same pixels."""
    from colocalize.imagej import from_imageplus

    rng = np.random.default_rng(3)
    data = rng.integers(0, 60000, (2, 3, 16, 24)).astype(np.uint16)  # CZYX
    metadata = {"axes": "CZYX", "PhysicalSizeX": 0.3, "PhysicalSizeY": 0.3, "PhysicalSizeZ": 1.5}
    tifffile.imwrite(tmp_path / "z.ome.tif", data, bigtiff=True, ome=True, metadata=metadata)
    imagej.IJ.runMacro(f'run("colocalize TIFF...", "open=[{tmp_path}/z.ome.tif]");')
    imp = imagej.IJ.getImage()
    try:
        got = from_imageplus(imp)
        expected = colocalize.read_image(tmp_path / "z.ome.tif")
        assert got.axes == expected.axes == "CZYX"
        np.testing.assert_array_equal(got.data, expected.data)
        assert got.spacing == pytest.approx(expected.spacing)
        assert got.unit == expected.unit == "um"
    finally:
        imp.changes = False
        imp.close()


def test_a_file_cut_inside_its_tiff_header_is_a_clear_error(tmp_path):
    """read_image raised struct.error (a traceback in the CLI) for a file of 4 to 7 bytes."""
    path = tmp_path / "header.tif"
    path.write_bytes(b"II*\x00")
    with pytest.raises(ValueError, match=r"cannot read .*header\.tif' as a TIFF file"):
        colocalize.read_image(path)


@pytest.mark.parametrize(
    ("axes", "metadata", "interval"),
    [
        ("TCZYX", {"TimeIncrement": 2.5, "TimeIncrementUnit": "s"}, 2.5),  # OME, seconds
        ("TCZYX", {"TimeIncrement": 1.0, "TimeIncrementUnit": "s"}, 1.0),  # as the default
        ("TCZYX", {}, 0.0),  # frames without an interval: ImageJ's "not set"
        ("CZYX", {"TimeIncrement": 2.5, "TimeIncrementUnit": "s"}, 0.0),  # no frames
        ("ImageJ", {"finterval": 0.5, "tunit": "min"}, 30.0),  # ImageJ hyperstack, minutes
        ("ImageJ", {}, 0.0),
    ],
)
def test_the_frame_interval_comes_from_the_one_read_of_the_file(
    tmp_path, monkeypatch, axes, metadata, interval
):
    """The handler opens the file once (before: a second TiffFile for the frame interval) and
    reports the interval the file declares, in seconds (0 when none)."""
    from colocalize.imagej._catalog import commands
    from colocalize.imagej._contract import Request

    rng = np.random.default_rng(4)
    path = tmp_path / "frames.tif"
    if axes == "ImageJ":
        data = rng.integers(0, 4000, (3, 2, 8, 9)).astype(np.uint16)  # TCYX
        tifffile.imwrite(path, data, imagej=True, metadata={"axes": "TCYX"} | metadata)
    else:
        data = rng.integers(0, 4000, (3, 2, 2, 8, 9)[-len(axes) :]).astype(np.uint16)
        tifffile.imwrite(path, data, ome=True, metadata={"axes": axes} | metadata)
    opened = []
    original = tifffile.TiffFile

    class Counted(original):  # type: ignore[misc, valid-type]
        def __init__(self, *args, **kwargs):
            opened.append(args[0])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(tifffile, "TiffFile", Counted)
    handler = commands()["import_tiff"].handler
    response = handler(Request("import_tiff", values={"open": str(path)}), lambda *a, **k: None)
    assert len(opened) == 1
    (image,) = response.images
    assert image.frame_interval == pytest.approx(interval)
    np.testing.assert_array_equal(image.image.data, colocalize.read_image(path).data)
