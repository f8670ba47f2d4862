"""Coloc Objects: object-based colocalization as an ImageJ command. Known answers on synthetic
puncta (2D and a calibrated 3D stack, thresholds and label images), equality with
``colocalize.object_colocalization``, the per-object and summary tables, the overlay of matched
and unmatched objects, one-line errors; in this process and in a plain ImageJ ``-batch``
launch."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import colocalize
from colocalize import Image
from colocalize.imagej._protocol import serve
from test_imagej_plain import app, launch, read_results  # noqa: F401 - app is a fixture

SUMMARY_TABLE = "Object colocalization summary"
OBJECTS_TABLE = "Object colocalization"
TABLES = [SUMMARY_TABLE, OBJECTS_TABLE]


def _discs(shape, centres, radius=3, value=200) -> np.ndarray:
    grid = np.indices(shape)
    image = np.zeros(shape, np.uint16)
    for centre in centres:
        inside = sum((g - c) ** 2 for g, c in zip(grid, centre)) <= radius**2
        image[inside] = value
    return image


# channel A: five puncta; channel B: three of them shifted by one pixel (overlapping), one
# alone far away. So 3 of 5 A objects overlap B, 3 of 4 B objects overlap A.
A_CENTRES = [(8, 8), (8, 30), (24, 10), (24, 30), (38, 20)]
B_CENTRES = [(8, 9), (24, 11), (38, 21), (40, 40)]


def _pair_2d() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    a = _discs((48, 48), A_CENTRES) + rng.integers(0, 20, (48, 48)).astype(np.uint16)
    b = _discs((48, 48), B_CENTRES, value=150) + rng.integers(0, 20, (48, 48)).astype(np.uint16)
    return a, b


def _image(title: str, index: int, data: np.ndarray, axes: str, spacing, unit="µm") -> dict:
    return {
        "title": title,
        "axes": axes,
        "spacing": list(spacing),
        "unit": unit,
        "data": {"buffer": index, "dtype": data.dtype.str, "shape": list(data.shape)},
    }


def _serve(values: dict, images: dict[str, tuple]) -> tuple[dict, list]:
    """Run Coloc Objects on ``images`` ({key: (title, array, axes, spacing)}) with ``values``."""
    buffers, specs = [], {}
    for key, (title, data, axes, spacing) in images.items():
        specs[key] = _image(title, len(buffers), data, axes, spacing)
        buffers.append(data.tobytes())
    titles = {key: title for key, (title, *_) in images.items()}
    request = {
        "task": "1",
        "requestType": "EXECUTE",
        "command": "objects",
        "values": {"image_1": titles["image_1"], "image_2": titles["image_2"]}
        | {k: titles[k] for k in ("labels_1", "labels_2", "mask") if k in titles}
        | values,
        "images": specs,
    }
    text, arrays = serve(json.dumps(request), buffers)
    return json.loads(text), arrays


def _rows(outputs: dict, title: str) -> list[dict]:
    table = next(t for t in outputs["tables"] if t["title"] == title)
    names = [c["name"] for c in table["columns"]]
    return [dict(zip(names, cells)) for cells in zip(*(c["values"] for c in table["columns"]))]


def _labels_of(overlay: dict, arrays: list) -> np.ndarray:
    spec = overlay["labels"]
    return np.frombuffer(arrays[spec["buffer"]], spec["dtype"]).reshape(spec["shape"])


def test_known_puncta_give_the_expected_counts_fractions_and_overlay():
    a, b = _pair_2d()
    reply, arrays = _serve(
        {"threshold": "Manual", "threshold_1": 100, "threshold_2": 100, "centre": "geometric"},
        {"image_1": ("A", a, "YX", (0.1, 0.1)), "image_2": ("B", b, "YX", (0.1, 0.1))},
    )
    assert reply["responseType"] == "COMPLETION", reply
    outputs = reply["outputs"]
    (summary,) = _rows(outputs, SUMMARY_TABLE)
    assert (summary["n_objects_1"], summary["n_objects_2"]) == (5, 4)
    assert summary["fraction_overlapping_1"] == pytest.approx(3 / 5)
    assert summary["fraction_overlapping_2"] == pytest.approx(3 / 4)
    assert summary["fraction_matched_1"] == pytest.approx(3 / 5)  # matched_by=overlap
    assert (summary["Image 1"], summary["Image 2"], summary["Unit"]) == ("A", "B", "um")
    assert (summary["threshold_1"], summary["threshold_2"]) == (100, 100)
    objects = _rows(outputs, OBJECTS_TABLE)
    assert [r["Image"] for r in objects] == [1] * 5 + [2] * 4
    assert sum(r["matched"] for r in objects) == 6
    # calibrated: a disc of radius 3 px has 29 pixels of 0.01 um^2; centres 1 px = 0.1 um apart
    assert objects[0]["size"] == pytest.approx(29 * 0.01)
    assert objects[0]["nearest_distance"] == pytest.approx(0.1)
    overlays = outputs["overlays"]
    assert [(o["image"], o["name"]) for o in overlays] == [
        ("A", "Objects of A"),
        ("B", "Objects of B"),
    ]
    names = [o["name"] for o in overlays[0]["objects"]]
    assert names == [
        "Image 1 #1 matched",
        "Image 1 #2 unmatched",
        "Image 1 #3 matched",
        "Image 1 #4 unmatched",
        "Image 1 #5 matched",
    ]
    colours = {(o["name"].split()[-1], o["color"]) for v in overlays for o in v["objects"]}
    assert len(colours) == 4  # matched / unmatched of each image: four colours
    labels = _labels_of(overlays[0], arrays)
    np.testing.assert_array_equal(labels, colocalize.label_puncta(a, threshold=100))


def test_equals_the_python_api_in_3d_calibrated_with_a_randomization_test():
    a = _discs((9, 32, 32), [(4, 8, 8), (4, 20, 22), (2, 26, 6)], radius=2)
    b = _discs((9, 32, 32), [(4, 8, 9), (6, 20, 22)], radius=2, value=90)
    spacing = (0.5, 0.2, 0.2)
    stack = np.stack([a, b], axis=1)  # ZCYX: one two-channel stack
    reply, arrays = _serve(
        {
            "image_2": "cells",
            "threshold": "Otsu",
            "matched_by": "distance",
            "max_distance": 0.5,
            "randomizations": 19,
            "seed": 3,
        },
        {
            "image_1": ("cells", stack.transpose(1, 0, 2, 3), "CZYX", (1.0, *spacing)),
            "image_2": ("cells", stack.transpose(1, 0, 2, 3), "CZYX", (1.0, *spacing)),
        },
    )
    assert reply["responseType"] == "COMPLETION", reply
    outputs = reply["outputs"]
    expected = colocalize.object_colocalization(
        a, b, thresholds="Otsu", spacing=spacing, max_distance=0.5, randomizations=19, rng=3
    )
    (summary,) = _rows(outputs, SUMMARY_TABLE)
    for key, value in expected.summary_table().iloc[0].items():
        name = f"{key[:-1]}_{int(key[-1]) + 1}" if key[-1] in "01" else key
        if isinstance(value, str):
            assert summary[name] == value, key
        elif math.isnan(value):
            assert summary[name] is None, key
        else:
            assert summary[name] == pytest.approx(value, rel=1e-12), key
    # distance match: object (4, 20, 22) of B is 1.0 um from its A partner: not matched
    assert summary["fraction_matched_1"] == pytest.approx(1 / 3)
    assert summary["fraction_matched_2"] == pytest.approx(1 / 2)
    overlays = outputs["overlays"]
    assert [o["image"] for o in overlays] == ["cells", "cells"]
    assert [o["name"] for o in overlays] == ["Objects of cells (C1)", "Objects of cells (C2)"]
    assert overlays[0]["axes"] == "ZYX"
    assert len(overlays[0]["objects"]) == 3
    assert _labels_of(overlays[1], arrays).shape == (9, 32, 32)


def test_label_images_give_the_objects():
    a, b = _pair_2d()
    labels_a = colocalize.label_puncta(a, threshold=100).astype(np.uint16)
    labels_a[labels_a == 2] = 0  # drop one object
    reply, arrays = _serve(
        {"threshold": "Manual", "threshold_1": 100, "threshold_2": 100},
        {
            "image_1": ("A", a, "YX", (1, 1)),
            "image_2": ("B", b, "YX", (1, 1)),
            "labels_1": ("LA", labels_a, "YX", (1, 1)),
        },
    )
    assert reply["responseType"] == "COMPLETION", reply
    (summary,) = _rows(reply["outputs"], SUMMARY_TABLE)
    assert summary["n_objects_1"] == 4
    assert summary["threshold_1"] is None  # objects from labels: no threshold
    assert summary["Objects 1"] == "labels LA"
    overlay = reply["outputs"]["overlays"][0]
    assert [o["label"] for o in overlay["objects"]] == [1, 3, 4, 5]
    np.testing.assert_array_equal(_labels_of(overlay, arrays), labels_a)


def test_the_overlay_shows_the_objects_the_analysis_labelled(monkeypatch):
    """The overlay's label images are those object_colocalization made: each channel is
    labelled once (before: again for the overlay), and a label image's objects that the size
    limits drop are not in it (before: still there, though not drawn)."""
    from colocalize._objects import _puncta

    a, b = _pair_2d()
    labelled = []
    label = _puncta._label
    monkeypatch.setattr(_puncta, "_label", lambda *args: labelled.append(1) or label(*args))
    reply, arrays = _serve(
        {"threshold": "Otsu"},
        {"image_1": ("A", a, "YX", (1, 1)), "image_2": ("B", b, "YX", (1, 1))},
    )
    assert reply["responseType"] == "COMPLETION", reply
    assert len(labelled) == 2
    (summary,) = _rows(reply["outputs"], SUMMARY_TABLE)
    for overlay, image, k in zip(reply["outputs"]["overlays"], (a, b), (1, 2)):
        expected = colocalize.label_puncta(image, threshold=summary[f"threshold_{k}"])
        np.testing.assert_array_equal(_labels_of(overlay, arrays), expected)

    labels_a = colocalize.label_puncta(a, threshold=100).astype(np.uint16)
    labels_a[labels_a == 2] = 0
    labels_a[labels_a == 3] = 0
    labels_a[10, 40] = 3  # one pixel: below min_size
    labelled.clear()
    reply, arrays = _serve(
        {"threshold": "Manual", "threshold_1": 100, "threshold_2": 100, "min_size": 2},
        {
            "image_1": ("A", a, "YX", (1, 1)),
            "image_2": ("B", b, "YX", (1, 1)),
            "labels_1": ("LA", labels_a, "YX", (1, 1)),
        },
    )
    assert reply["responseType"] == "COMPLETION", reply
    assert len(labelled) == 1  # image 2's threshold
    overlay = reply["outputs"]["overlays"][0]
    assert [o["label"] for o in overlay["objects"]] == [1, 4, 5]
    np.testing.assert_array_equal(_labels_of(overlay, arrays), np.where(labels_a == 3, 0, labels_a))


def test_a_mask_restricts_the_objects_and_their_outlines():
    a, b = _pair_2d()
    inside = np.zeros(a.shape, np.uint8)
    inside[:, :20] = 255  # the left discs of A (x = 8, 10) and of B (x = 9, 11)
    reply, arrays = _serve(
        {"threshold": "Manual", "threshold_1": 100, "threshold_2": 100},
        {
            "image_1": ("A", a, "YX", (1, 1)),
            "image_2": ("B", b, "YX", (1, 1)),
            "mask": ("left", inside, "YX", (1, 1)),
        },
    )
    assert reply["responseType"] == "COMPLETION", reply
    (summary,) = _rows(reply["outputs"], SUMMARY_TABLE)
    assert (summary["n_objects_1"], summary["n_objects_2"], summary["Mask"]) == (3, 3, "left")
    for overlay in reply["outputs"]["overlays"]:
        assert not _labels_of(overlay, arrays)[:, 20:].any()


def test_a_channel_without_objects_is_a_logged_warning_not_an_error():
    a, _ = _pair_2d()
    empty = np.zeros_like(a)
    reply, _ = _serve(
        {"threshold": "Manual", "threshold_1": 100, "threshold_2": 100},
        {"image_1": ("A", a, "YX", (1, 1)), "image_2": ("E", empty, "YX", (1, 1))},
    )
    assert reply["responseType"] == "COMPLETION", reply
    outputs = reply["outputs"]
    (summary,) = _rows(outputs, SUMMARY_TABLE)
    assert summary["n_objects_2"] == 0
    assert summary["fraction_matched_2"] is None  # NaN
    assert summary["fraction_matched_1"] == 0
    # channels counted from 1, as in the dialog
    assert "Coloc Objects: warning: Image 2 (E) has no objects;" in outputs["log"][0]
    assert len(outputs["log"]) == 1
    assert outputs["overlays"][1]["objects"] == []


@pytest.mark.parametrize("threshold", ["Otsu", "Manual"])
def test_an_empty_mask_is_a_logged_warning_and_nan_rows_not_an_error(threshold):
    # the core raised "mask has no pixel inside" although the bridge passes empty masks on
    a, b = _pair_2d()
    reply, arrays = _serve(
        {"threshold": threshold, "threshold_1": 100, "threshold_2": 100},
        {
            "image_1": ("A", a, "YX", (1, 1)),
            "image_2": ("B", b, "YX", (1, 1)),
            "mask": ("nothing", np.zeros(a.shape, np.uint8), "YX", (1, 1)),
        },
    )
    assert reply["responseType"] == "COMPLETION", reply
    outputs = reply["outputs"]
    assert len(outputs["log"]) == 1
    assert "Coloc Objects: warning: the mask is empty" in outputs["log"][0]
    (summary,) = _rows(outputs, SUMMARY_TABLE)
    assert (summary["n_objects_1"], summary["n_objects_2"], summary["Mask"]) == (0, 0, "nothing")
    for key in ("fraction_overlapping", "mean_distance", "fraction_matched"):
        assert summary[f"{key}_1"] is None  # NaN
        assert summary[f"{key}_2"] is None
    assert _rows(outputs, OBJECTS_TABLE) == []
    for overlay in outputs["overlays"]:
        assert overlay["objects"] == []
        assert not _labels_of(overlay, arrays).any()


def test_without_overlay_no_overlay_is_drawn():
    a, b = _pair_2d()
    reply, _ = _serve(
        {"overlay": False},
        {"image_1": ("A", a, "YX", (1, 1)), "image_2": ("B", b, "YX", (1, 1))},
    )
    assert reply["outputs"]["overlays"] == []


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"matched_by": "distance"}, "matched_by=distance needs a distance: max_distance=0"),
        ({"min_overlap": 1.5}, "min_overlap must be a fraction in [0, 1), got 1.5"),
        ({"randomizations": 2.5}, "randomizations=2.5 is not a number of randomizations"),
        ({"seed": -3}, "seed=-3 is not a seed"),
        ({"threshold": "Foo"}, "threshold='Foo' is not one of Manual, "),
        ({"labels_1": "small"}, "the label image 'small' is 5x4 but the image 'A' is 48x48"),
    ],
)
def test_bad_input_is_a_one_line_error(values, message):
    a, b = _pair_2d()
    small = np.zeros((4, 5), np.uint16)
    reply, _ = _serve(
        values,
        {
            "image_1": ("A", a, "YX", (1, 1)),
            "image_2": ("B", b, "YX", (1, 1)),
            "labels_1": ("small", small, "YX", (1, 1)),
        }
        if "labels_1" in values
        else {"image_1": ("A", a, "YX", (1, 1)), "image_2": ("B", b, "YX", (1, 1))},
    )
    assert reply["responseType"] == "FAILURE"
    assert message in reply["error"]
    assert "\n" not in reply["error"]
    assert "Traceback" not in reply["error"]


def test_save_objects_writes_the_per_object_table_as_a_new_csv(tmp_path):
    """A macro in a -batch launch sees no table window: save_objects=[file.csv] writes the
    per-object table (the same rows and values), never over an existing file."""
    import pandas as pd

    a, b = _pair_2d()
    images = {"image_1": ("A", a, "YX", (0.1, 0.1)), "image_2": ("B", b, "YX", (0.1, 0.1))}
    target = tmp_path / "objects.csv"
    values = {"threshold": "Manual", "threshold_1": 100, "threshold_2": 100}
    reply, _ = _serve(values | {"save_objects": str(target)}, images)
    assert reply["responseType"] == "COMPLETION", reply
    shown = _rows(reply["outputs"], OBJECTS_TABLE)
    saved = pd.read_csv(target)
    assert list(saved.columns) == list(shown[0])
    assert saved["Image"].tolist() == [r["Image"] for r in shown] == [1] * 5 + [2] * 4
    np.testing.assert_allclose(saved["size"], [r["size"] for r in shown], rtol=1e-12)
    assert saved["matched"].tolist() == [r["matched"] for r in shown]
    assert f"Coloc Objects: per-object table written to {target}" in reply["outputs"]["log"]
    before = target.read_bytes()
    for path, message in (
        (target, f"save_objects=[{target}] already exists; choose another file name"),
        (tmp_path / "objects.txt", "is not a .csv file name; end it with .csv"),
        (tmp_path / "missing" / "o.csv", "does not exist; create it first"),
    ):
        reply, _ = _serve(values | {"save_objects": str(path)}, images)
        assert reply["responseType"] == "FAILURE"
        assert message in reply["error"]
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["objects.csv"]


def test_time_lapses_and_negative_values_are_refused_in_imagej_terms():
    a, b = _pair_2d()
    movie = np.stack([a, a])
    reply, _ = _serve(
        {},
        {
            "image_1": ("M", movie, "TYX", (1, 1, 1)),
            "image_2": ("N", np.stack([b, b]), "TYX", (1, 1, 1)),
        },
    )
    assert "the image 'M' has 2 frames; Coloc Objects takes one time point" in reply["error"]
    negative = a.astype(np.float32) - 5
    reply, _ = _serve(
        {},
        {"image_1": ("F", negative, "YX", (1, 1)), "image_2": ("B", b, "YX", (1, 1))},
    )
    assert "the image 'F' has negative values" in reply["error"]


# ---------------------------------------------------------------------------------------------
# in this process (JPype): the overlay drawn on the source image


@pytest.mark.imagej_command
def test_in_process_overlay_has_one_element_per_object(session, ij):
    from colocalize.imagej import from_results_table, get_table, to_imageplus

    a, b = _pair_2d()
    for title, data in (("green", a), ("red", b)):
        to_imageplus(Image(data, axes="YX", spacing=(0.1, 0.1), unit="um"), title=title).show()
    marker = session.IJ.runMacro(
        'run("Coloc Objects...", "image_1=green image_2=red threshold=Manual threshold_1=100 '
        'threshold_2=100 matched_by=overlap overlay"); return "ok";'
    )
    assert ij.JClass("colocalize.bridge.Dispatch").lastError() is None
    assert str(marker) == "ok"
    window_manager = ij.JClass("ij.WindowManager")
    for title, count, matched in (("green", 5, 3), ("red", 4, 3)):
        imp = window_manager.getImage(title)
        names = [str(r.getName()) for r in imp.getOverlay().toArray()]
        assert len(names) == count
        assert sum(n.endswith(" matched") for n in names) == matched
    summary = from_results_table(get_table(SUMMARY_TABLE))
    assert summary["n_objects_1"].tolist() == [5.0]
    shown = np.array(window_manager.getImage("green").getProcessor().getPixels(), dtype=np.int16)
    np.testing.assert_array_equal(shown.view(np.uint16).reshape(a.shape), a)


@pytest.mark.imagej_command
def test_in_process_3d_objects_are_outlined_on_their_slices_of_a_hyperstack(session, ij):
    from colocalize.imagej import to_imageplus

    a = _discs((9, 32, 32), [(4, 8, 8), (4, 20, 22), (2, 26, 6)], radius=2)
    b = _discs((9, 32, 32), [(4, 8, 9), (6, 20, 22)], radius=2, value=90)
    image = Image(np.stack([a, b]), axes="CZYX", spacing=(1, 0.5, 0.2, 0.2), unit="um")
    to_imageplus(image, title="stack").show()
    session.IJ.runMacro(
        'run("Coloc Objects...", "image_1=stack image_2=stack channel_1=1 channel_2=2 '
        'threshold=Manual threshold_1=50 threshold_2=50 overlay");'
    )
    assert ij.JClass("colocalize.bridge.Dispatch").lastError() is None
    elements = ij.JClass("ij.WindowManager").getImage("stack").getOverlay().toArray()
    found = []
    for roi in elements:
        _, image_number, label, _ = str(roi.getName()).split()  # "Image 1 #3 matched"
        found.append((int(image_number), int(label[1:]), roi.getZPosition()))
    expected = []
    for k, data in enumerate((a, b)):
        for z, plane in enumerate(colocalize.label_puncta(data, threshold=50)):
            expected += [(k + 1, int(label), z + 1) for label in np.unique(plane[plane > 0])]
    assert sorted(found) == sorted(expected)
    assert len(found) == 25
    assert {(r.getCPosition(), r.getTPosition()) for r in elements} == {(0, 0)}  # all channels


# ---------------------------------------------------------------------------------------------
# a plain ImageJ -batch launch (Python worker)

PLAIN_MACRO = r"""
dir = getArgument();
setBatchMode(true);
run("Set Measurements...", "decimal=9");
open(dir + "cells.tif");
run("Coloc Objects...", "image_1=cells.tif image_2=cells.tif channel_1=1 channel_2=2 "
    + "threshold=Manual threshold_1=100 threshold_2=100 matched_by=overlap overlay "
    + "save_objects=[" + dir + "objects.csv]");
saveAs("Results", dir + "summary.csv");
selectImage("cells.tif");
print("overlay " + Overlay.size);
run("Coloc Objects...", "image_1=cells.tif image_2=cells.tif channel_1=1 channel_2=2 "
    + "threshold=Manual threshold_1=100 threshold_2=100 matched_by=distance");
print("not reached");
"""


@pytest.mark.gui
def test_plain_launch_runs_coloc_objects_with_an_overlay(app, tmp_path):  # noqa: F811
    a, b = _pair_2d()
    colocalize.write_image(
        tmp_path / "cells.tif",
        Image(np.stack([a, b]), axes="CYX", spacing=(1, 0.1, 0.1), unit="um"),
    )
    before = (tmp_path / "cells.tif").read_bytes()
    done = launch(app, PLAIN_MACRO, tmp_path)
    log = done.stdout + done.stderr
    (summary,) = read_results(tmp_path / "summary.csv")
    assert float(summary["n_objects_1"]) == 5
    assert float(summary["fraction_overlapping_2"]) == pytest.approx(0.75)
    objects = read_results(tmp_path / "objects.csv")  # the per-object table, saved by option
    assert [int(r["Image"]) for r in objects] == [1] * 5 + [2] * 4
    assert sum(r["matched"] == "True" for r in objects) == 6
    assert "overlay 9" in done.stdout.splitlines(), log  # both channels' objects on one image
    # the second run has bad input: one ImageJ-style line, the macro stops, exit status 1
    errors = [line for line in done.stdout.splitlines() if "error" in line]
    assert errors == [
        "Coloc Objects: error: matched_by=distance needs a distance: max_distance=0; give "
        "max_distance > 0 (um) or use matched_by=overlap"
    ], log
    assert "not reached" not in done.stdout
    assert done.returncode == 1
    assert (tmp_path / "cells.tif").read_bytes() == before
