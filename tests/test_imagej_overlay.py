"""Overlays on open images: the OVERLAY message (Python encodes it, the shim's Display draws it)
in this process, Coloc Coefficients' ``overlay`` option in-process and in a plain ImageJ
``-batch`` launch (a Python worker). Overlays never change pixels and keep the user's own
overlay elements."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import ndimage

import colocalize
from colocalize import Image
from colocalize.imagej._contract import Overlay, OverlayObject, Response
from colocalize.imagej._protocol import encode_outputs, serve
from test_imagej_plain import app, launch  # noqa: F401 - app is a fixture

COEFFICIENTS_TABLE = "Colocalization coefficients"
TABLES = [COEFFICIENTS_TABLE]


def _labels() -> np.ndarray:
    labels = np.zeros((30, 40), np.uint16)
    labels[2:8, 3:12] = 1
    yy, xx = np.mgrid[:30, :40]
    labels[(yy - 18) ** 2 + (xx - 25) ** 2 <= 25] = 7
    labels[20:28, 2:4] = 3  # not listed: not drawn
    labels[25, 30:39] = 1  # a second piece of object 1
    return labels


def _objects() -> tuple[OverlayObject, ...]:
    return (OverlayObject(1, "first", "#ff0000"), OverlayObject(7, "seventh", "#00ff00"))


def test_overlay_message_carries_labels_objects_and_fill():
    labels = _labels()
    overlay = Overlay("cells", "Objects", labels, "YX", _objects(), fill=0.25)
    outputs, arrays = encode_outputs(Response(overlays=(overlay,)))
    sent = json.loads(json.dumps(outputs, allow_nan=False))["overlays"]
    assert len(sent) == 1
    spec = sent[0]
    assert (spec["image"], spec["name"], spec["axes"]) == ("cells", "Objects", "YX")
    assert spec["fill"] == 0.25
    assert spec["objects"] == [
        {"label": 1, "name": "first", "color": "#ff0000"},
        {"label": 7, "name": "seventh", "color": "#00ff00"},
    ]
    array = spec["labels"]
    assert (array["dtype"], array["shape"]) == ("|u1", [30, 40])  # the narrowest type
    data = np.frombuffer(arrays[array["buffer"]], array["dtype"]).reshape(array["shape"])
    np.testing.assert_array_equal(data, labels)


@pytest.mark.parametrize(("top", "dtype"), [(255, "|u1"), (256, "<u2"), (70000, "<i4")])
def test_overlay_labels_go_in_the_narrowest_type(top, dtype):
    labels = np.zeros((4, 5), np.int64)
    labels[1, 2] = top
    overlay = Overlay("x", "o", labels, objects=(OverlayObject(top, "n"),))
    outputs, arrays = encode_outputs(Response(overlays=(overlay,)))
    array = outputs["overlays"][0]["labels"]
    assert array["dtype"] == dtype
    np.testing.assert_array_equal(np.frombuffer(arrays[0], dtype).reshape(4, 5), labels)


# ---------------------------------------------------------------------------------------------
# in this process: the shim's Display draws the message


def _put(image, title: str, **kwargs):
    from colocalize.imagej import to_imageplus

    imp = to_imageplus(image, title=title, **kwargs)
    imp.show()
    return imp


def _roi_mask(ij, roi, shape: tuple[int, int]) -> np.ndarray:
    """The pixels of ``roi`` as a bool array of ``shape`` (ImageJ's own fill of the Roi)."""
    processor = ij.JClass("ij.process.ByteProcessor")(shape[1], shape[0])
    processor.setColor(255)
    processor.fill(roi)
    return np.array(processor.getPixels(), dtype=np.int8).reshape(shape) != 0


def _elements(overlay, group: str) -> list:
    return [roi for roi in overlay.toArray() if str(roi.getProperty("colocalize") or "") == group]


@pytest.mark.imagej_command
def test_display_draws_each_object_exactly_and_keeps_the_users_elements(session, ij):
    from colocalize.imagej._registry import display

    labels = _labels()
    pixels = (np.arange(30 * 40) % 251).reshape(30, 40).astype(np.uint8)
    imp = _put(pixels, "cells")
    users = ij.JClass("ij.gui.OvalRoi")(5, 5, 10, 10)
    users.setName("mine")
    imp.setOverlay(ij.JClass("ij.gui.Overlay")(users))
    overlay = Overlay("cells", "Objects", labels, "YX", _objects())
    for _ in range(2):  # the second time replaces the first's elements
        (drawn,) = display(Response(overlays=(overlay,)))
        assert drawn.equals(imp.getOverlay())
        assert drawn.size() == 3
        assert str(drawn.get(0).getName()) == "mine"
        ours = _elements(drawn, "Objects")
        assert [str(r.getName()) for r in ours] == ["first", "seventh"]
        for roi, label, color in zip(ours, (1, 7), (0xFF0000, 0x00FF00)):
            np.testing.assert_array_equal(_roi_mask(ij, roi, labels.shape), labels == label)
            assert roi.getStrokeColor().getRGB() & 0xFFFFFF == color
            assert roi.getFillColor() is None  # outlines
    np.testing.assert_array_equal(
        np.array(imp.getProcessor().getPixels(), dtype=np.int8).view(np.uint8).reshape(30, 40),
        pixels,
    )


@pytest.mark.imagej_command
def test_display_fills_a_mask_with_its_opacity_and_positions_stack_planes(session, ij):
    from colocalize.imagej._registry import display

    stack = np.zeros((3, 20, 24), np.uint16)
    mask = np.zeros(stack.shape, bool)
    mask[0, 2:5, 3:9] = True
    mask[2, 10:18, 1:4] = True
    imp = _put(stack, "stack")
    overlay = Overlay("stack", "Mask", mask, "ZYX", (OverlayObject(1, "m", "#ffff00"),), 0.5)
    (drawn,) = display(Response(overlays=(overlay,)))
    ours = _elements(drawn, "Mask")
    assert [r.getPosition() for r in ours] == [1, 3]  # only planes with pixels
    for roi, z in zip(ours, (0, 2)):
        np.testing.assert_array_equal(_roi_mask(ij, roi, mask.shape[1:]), mask[z])
        fill = roi.getFillColor()
        rgba = (fill.getRed(), fill.getGreen(), fill.getBlue(), fill.getAlpha())
        assert rgba == (255, 255, 0, 128)
    assert imp.getStack().getProcessor(1).getStatistics().max == 0


@pytest.mark.imagej_command
def test_display_refuses_an_overlay_for_a_missing_or_different_image(session, ij):
    from colocalize.imagej._registry import display

    _put(np.zeros((10, 12), np.uint8), "small")
    bridge_error = ij.JClass("colocalize.bridge.BridgeException")
    with pytest.raises(bridge_error, match="no open image is called nowhere"):
        display(Response(overlays=(Overlay("nowhere", "x", np.ones((10, 12), bool)),)))
    with pytest.raises(bridge_error, match=r"cannot draw the overlay x .* on small"):
        display(Response(overlays=(Overlay("small", "x", np.ones((11, 12), bool)),)))


# ---------------------------------------------------------------------------------------------
# Coloc Coefficients' overlay option


def _pair(shape=(48, 40), seed=0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    base = ndimage.gaussian_filter(rng.random(shape), 2)
    a = (base * 3000 + rng.random(shape) * 300).astype(np.uint16)
    b = (np.roll(base, 1, axis=-1) * 1500 + rng.random(shape) * 300).astype(np.uint16)
    return a, b


def _request(a: np.ndarray, b: np.ndarray, values: dict) -> str:
    def image(title: str, index: int, data: np.ndarray) -> dict:
        return {
            "title": title,
            "axes": "YX",
            "spacing": [1.0, 1.0],
            "unit": "pixel",
            "data": {"buffer": index, "dtype": data.dtype.str, "shape": list(data.shape)},
        }

    defaults = {
        "image_1": "A",
        "image_2": "B",
        "channel_1": 1,
        "channel_2": 2,
        "channel_3": 0,
        "mask": "<None>",
        "labels": "<None>",
        "threshold": "Manual",
        "threshold_1": 1200,
        "threshold_2": 700,
    }
    return json.dumps(
        {
            "task": "1",
            "requestType": "EXECUTE",
            "command": "coefficients",
            "values": defaults | values,
            "images": {"image_1": image("A", 0, a), "image_2": image("B", 1, b)},
        }
    )


def test_coefficients_overlay_is_the_colocalized_pixels_on_both_sources():
    """Colocalized: above both thresholds, a > T_a and b > T_b (as fraction_colocalized and the
    colocalized pixel mask); the overlay is filled, on image 1 and on image 2."""
    a, b = _pair()
    text, arrays = serve(_request(a, b, {"overlay": True}), [a.tobytes(), b.tobytes()])
    reply = json.loads(text)
    assert reply["responseType"] == "COMPLETION", reply
    overlays = reply["outputs"]["overlays"]
    assert [o["image"] for o in overlays] == ["A", "B"]
    expected = (a > 1200) & (b > 700)
    assert 0 < expected.sum() < a.size
    for spec in overlays:
        assert spec["fill"] > 0
        assert [o["label"] for o in spec["objects"]] == [1]
        labels = spec["labels"]
        data = np.frombuffer(arrays[labels["buffer"]], labels["dtype"]).reshape(labels["shape"])
        np.testing.assert_array_equal(data != 0, expected)
    # integer pixels equal to a threshold are not colocalized (strictly above)
    at = a.copy()
    at[0, 0], b[0, 0] = 1200, 5000
    text, arrays = serve(_request(at, b, {"overlay": True}), [at.tobytes(), b.tobytes()])
    labels = json.loads(text)["outputs"]["overlays"][0]["labels"]
    assert np.frombuffer(arrays[labels["buffer"]], labels["dtype"])[0] == 0


def test_coefficients_without_overlay_draws_none():
    a, b = _pair()
    text, _ = serve(_request(a, b, {}), [a.tobytes(), b.tobytes()])
    assert json.loads(text)["outputs"]["overlays"] == []


@pytest.mark.imagej_command
def test_coefficients_overlay_in_process_matches_the_mask_of_the_roi(session, ij):
    a, b = _pair(seed=3)
    mask = np.zeros(a.shape, bool)
    mask[5:40, 8:30] = True
    _put(Image(a, axes="YX"), "green")
    _put(Image(b, axes="YX"), "red")
    imp = _put(mask.astype(np.uint8) * 255, "roi")
    marker = session.IJ.runMacro(
        'run("Coloc Coefficients...", "image_1=green image_2=red mask=roi threshold=Otsu '
        'overlay"); return "ok";'
    )
    error = ij.JClass("colocalize.bridge.Dispatch").lastError()
    assert error is None, error
    assert str(marker) == "ok"
    result = colocalize.coefficients(a, b, mask=mask, thresholds="Otsu")
    expected = (a > result.threshold0) & (b > result.threshold1) & mask
    for title, pixels in (("green", a), ("red", b)):
        source = ij.JClass("ij.WindowManager").getImage(title)
        (element,) = _elements(source.getOverlay(), "Colocalized pixels")
        np.testing.assert_array_equal(_roi_mask(ij, element, a.shape), expected)
        shown = np.array(source.getProcessor().getPixels(), dtype=np.int16).view(np.uint16)
        np.testing.assert_array_equal(shown.reshape(a.shape), pixels)
    assert imp.getOverlay() is None


# ---------------------------------------------------------------------------------------------
# a plain ImageJ -batch launch (Python worker)

PLAIN_MACRO = r"""
dir = getArgument();
setBatchMode(true);
open(dir + "A.tif");
open(dir + "B.tif");
selectImage("A.tif");
makeOval(2, 3, 9, 7);
Overlay.addSelection("red");
run("Select None");
run("Coloc Coefficients...", "image_1=A.tif image_2=B.tif threshold=Manual threshold_1=1200 "
    + "threshold_2=700 overlay");
run("Coloc Coefficients...", "image_1=A.tif image_2=B.tif threshold=Manual threshold_1=1200 "
    + "threshold_2=700 overlay");
selectImage("A.tif");
print("size " + Overlay.size);
for (i = 0; i < Overlay.size; i++) {
    Overlay.activateSelection(i);
    getSelectionBounds(x, y, w, h);
    print("element " + i + " " + Roi.getName + " " + x + " " + y + " " + w + " " + h);
}
Overlay.activateSelection(1);
run("Create Mask");
saveAs("Tiff", dir + "overlay_mask.tif");
selectImage("A.tif");
run("Select None");
saveAs("Tiff", dir + "A_after.tif");
print("done");
"""


@pytest.mark.gui
def test_plain_launch_overlays_the_colocalized_pixels_on_the_source(app, tmp_path):  # noqa: F811
    rng = np.random.default_rng(4)
    a = rng.integers(0, 1000, (40, 36)).astype(np.uint16)
    b = rng.integers(0, 600, (40, 36)).astype(np.uint16)
    a[5:20, 4:18] += 1500
    b[10:30, 8:25] += 800
    a[35, 30], b[35, 30] = 1201, 701  # a lone colocalized pixel just above both thresholds
    colocalize.write_image(tmp_path / "A.tif", a)
    colocalize.write_image(tmp_path / "B.tif", b)
    done = launch(app, PLAIN_MACRO, tmp_path)
    log = done.stdout + done.stderr
    assert "done" in done.stdout, log
    expected = (a > 1200) & (b > 700)
    assert expected[10:20, 8:18].all()
    assert expected.sum() == 101
    rows, cols = np.nonzero(expected)
    lines = done.stdout.splitlines()
    # the user's oval and one element of ours (the second run replaced the first's)
    assert "size 2" in lines, log
    assert "element 0  2 3 9 7" in lines, log  # the user's element, unnamed
    bounds = (cols.min(), rows.min(), cols.max() - cols.min() + 1, rows.max() - rows.min() + 1)
    assert f"element 1 Colocalized pixels {' '.join(str(int(v)) for v in bounds)}" in lines, log
    drawn = colocalize.read_image(tmp_path / "overlay_mask.tif").data != 0
    np.testing.assert_array_equal(drawn, expected)
    after = colocalize.read_image(tmp_path / "A_after.tif")
    np.testing.assert_array_equal(after.data, a)  # pixels unchanged
