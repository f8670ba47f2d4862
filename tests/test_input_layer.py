"""The one input layer (colocalize._channels) and the policies every entry point shares."""

import json
import math
import warnings

import numpy as np
import pytest

from colocalize import ColocalizeWarning, Image, coefficient_table, cross_correlation, translocation
from colocalize._channels import as_channels, as_labels, resolve_spacing
from colocalize._java import java_int, java_round, java_round_int


def _tczyx(rng):
    return rng.random((3, 2, 4, 6, 5))


def test_as_channels_of_an_image_uses_its_axes_names_and_calibration():
    data = _tczyx(np.random.default_rng(0))
    image = Image(
        data, axes="TCZYX", spacing=(2.0, 1.0, 0.5, 0.2, 0.1), unit="um", channel_names=("a", "b")
    )
    ch = as_channels(image)
    assert ch.data.shape == (2, 3, 4, 6, 5)
    assert np.shares_memory(ch.data, data)  # a view, never a copy of the caller's pixels
    np.testing.assert_array_equal(ch.data[1], data[:, 1])
    assert ch.names == ("a", "b")
    assert ch.spacing == (0.5, 0.2, 0.1)
    assert ch.unit == "um"
    assert ch.time_axis == 0


@pytest.mark.parametrize(
    ("channel_axis", "time_axis", "expected_t"),
    [(0, 1, 0), (1, 0, 0), (-1, 0, 0), (3, 2, 2), (0, -1, 3)],
)
def test_as_channels_counts_the_time_axis_among_one_channels_axes(
    channel_axis, time_axis, expected_t
):
    data = np.zeros((2, 3, 4, 5, 6))
    ch = as_channels(data, channel_axis=channel_axis, time_axis=time_axis)
    t_full = time_axis % data.ndim
    assert ch.data.shape[0] == data.shape[channel_axis]
    assert ch.data.shape[1 + ch.time_axis] == data.shape[t_full]
    assert ch.time_axis == expected_t
    assert ch.spacing is None
    assert ch.unit is None
    assert ch.names == tuple(f"C{i}" for i in range(data.shape[channel_axis]))


def test_an_array_without_a_channel_axis_is_one_channel():
    data = np.ones((4, 5))
    ch = as_channels(data)
    assert ch.data.shape == (1, 4, 5)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"require": "C"}, "channel_axis is required for an array image"),
        ({"require": "TC"}, "time_axis and channel_axis are required"),
        ({"channel_axis": 4}, r"channel_axis=4 is out of range for shape \(2, 3, 4, 5\)"),
        ({"channel_axis": 0, "time_axis": -5}, "time_axis=-5 is out of range"),
        ({"channel_axis": 1, "time_axis": -3}, "same axis"),
        ({"channel_axis": 0, "min_channels": 3}, "has 2 channel"),
        ({"channel_axis": 0, "channel_names": ["a"]}, "1 names for 2 channels"),
    ],
)
def test_as_channels_errors_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        as_channels(np.zeros((2, 3, 4, 5)), **kwargs)


def test_an_image_without_a_required_axis_names_the_argument():
    with pytest.raises(ValueError, match="no time axis T; pass time_axis"):
        as_channels(Image(np.zeros((2, 4, 5)), axes="CYX"), require="TC")


def test_translocation_refuses_an_out_of_range_time_axis():
    # before the input layer, time_axis=5 of a 4-axis array silently meant axis 1
    image = np.zeros((2, 2, 10, 12))
    with pytest.raises(ValueError, match="time_axis=5 is out of range"):
        translocation(image, nucleus_channel=0, reporter_channel=1, time_axis=5, channel_axis=0)


def test_entry_points_read_an_image_like_the_array_it_holds():
    rng = np.random.default_rng(1)
    data = rng.random((2, 20, 24))
    image = Image(data, axes="CYX", spacing=(1.0, 0.5, 0.5), unit="um", channel_names=("x", "y"))
    from_image = coefficient_table(image)
    from_array = coefficient_table(data, channel_axis=0, channel_names=["x", "y"])
    assert from_image.equals(from_array)
    with pytest.raises(ValueError, match="image0 has 2 channels"):
        cross_correlation(image, image)


def test_resolve_spacing_and_as_labels_live_in_the_input_layer():
    from colocalize._objects import _labels as _objects
    from colocalize._objects import _segment

    assert _segment.resolve_spacing is resolve_spacing
    assert _objects.as_labels is as_labels


# ------------------------------------------------------------------ one policy per degenerate case


def _halves(shape=(24, 30)):
    labels = np.zeros(shape, np.uint16)
    labels[:, : shape[1] // 2] = 1
    labels[:, shape[1] // 2 :] = 2
    return labels


def test_every_entry_point_accepts_labels_stored_as_whole_floats():
    from colocalize import measure_objects

    rng = np.random.default_rng(2)
    image = rng.random((2, 24, 30))
    labels = _halves()
    as_int = coefficient_table(image, channel_axis=0, labels=labels)
    as_float = coefficient_table(image, channel_axis=0, labels=labels.astype(np.float32))
    assert as_float.equals(as_int)
    objects = measure_objects(labels.astype(np.float64), image[0])
    assert objects.equals(measure_objects(labels, image[0]))


@pytest.mark.parametrize("bad", [0.5, -1.0])
def test_every_entry_point_refuses_fractional_or_negative_labels(bad):
    from colocalize import measure_objects

    image = np.random.default_rng(3).random((2, 24, 30))
    labels = _halves().astype(np.float32)
    labels[0, 0] = bad
    error = TypeError if bad == 0.5 else ValueError
    with pytest.raises(error, match=r"integer label image|negative values"):
        coefficient_table(image, channel_axis=0, labels=labels)
    with pytest.raises(error, match=r"integer label image|negative values"):
        measure_objects(labels, image[0])


def test_an_empty_mask_gives_nan_and_a_warning_in_cross_correlation():
    rng = np.random.default_rng(4)
    a, b = rng.random((16, 16)), rng.random((16, 16))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ColocalizeWarning)
        result = cross_correlation(a, b, mask=np.zeros((16, 16), bool))
    assert any("mask is empty" in str(w.message) for w in caught)
    assert math.isnan(result.mean)
    assert np.isnan(result.profile.subtracted).all()
    # one empty frame of a series: that frame is NaN, the others are computed as without it
    frames = np.stack([a, a, a]), np.stack([b, b, b])
    mask = np.ones((3, 16, 16), bool)
    mask[1] = False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ColocalizeWarning)
        series = cross_correlation(*frames, mask=mask, time_axis=0, intermediates=True)
    assert any("mask is empty in frame(s) [1]" in str(w.message) for w in caught)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ColocalizeWarning)
        alone = cross_correlation(a, b, mask=mask[0], intermediates=True)
    assert np.isnan(series.frames.profile.subtracted[1]).all()
    assert np.isnan(series.subtracted_correlation[1]).all()
    for t in (0, 2):
        np.testing.assert_array_equal(series.frames.profile.subtracted[t], alone.profile.subtracted)
        np.testing.assert_array_equal(
            series.subtracted_correlation[t], alone.subtracted_correlation
        )


def test_an_empty_mask_image_gives_nan_and_a_logged_warning_in_the_bridge():
    from colocalize.imagej._protocol import serve

    rng = np.random.default_rng(5)
    a, b = (rng.integers(0, 255, (12, 14)).astype(np.uint8) for _ in range(2))
    empty = np.zeros_like(a)

    def spec(title, index, data):
        buffer = {"buffer": index, "dtype": data.dtype.str, "shape": list(data.shape)}
        return {
            "title": title,
            "axes": "YX",
            "spacing": [1.0, 1.0],
            "unit": "pixel",
            "time_unit": "sec",
            "channel_names": [None],
            "data": buffer,
        }

    message = {
        "task": "1",
        "requestType": "EXECUTE",
        "command": "coefficients",
        "options": None,
        "values": {
            "image_1": "A",
            "image_2": "B",
            "channel_1": 1,
            "channel_2": 2,
            "channel_3": 0,
            "mask": "M",
            "threshold": "None",
            "threshold_1": 0,
            "threshold_2": 0,
            "exclude_zero-zero_pixels": False,
            "colocalized_pixel_mask": False,
        },
        "images": {
            "image_1": spec("A", 0, a),
            "image_2": spec("B", 1, b),
            "mask": spec("M", 2, empty),
        },
        "masks": {},
    }
    reply = json.loads(serve(json.dumps(message), [a.tobytes(), b.tobytes(), empty.tobytes()])[0])
    assert reply["responseType"] == "COMPLETION", reply
    outputs = reply["outputs"]
    columns = outputs["tables"][0]["columns"]
    assert next(c["values"] for c in columns if c["name"] == "pearson") == [None]
    assert any("warning" in line and "mask" in line for line in outputs["log"]), outputs["log"]


@pytest.mark.parametrize("costes_method", ["bisection", "classic"])
def test_an_empty_mask_gives_nan_rows_in_the_costes_table(costes_method):
    rng = np.random.default_rng(6)
    image = rng.random((2, 20, 24))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ColocalizeWarning)
        table = coefficient_table(
            image,
            channel_axis=0,
            mask=np.zeros((20, 24), bool),
            thresholds="costes",
            costes_method=costes_method,
        )
    assert caught
    assert table[["pearson", "tm1", "tm2", "threshold0", "threshold1"]].isna().all().all()
    # an object with no selected pixel is a NaN row; the other object is computed as alone
    labels = np.ones((20, 24), int)
    labels[:, 12:] = 2
    mask = labels == 1
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always", ColocalizeWarning)
        per_object = coefficient_table(
            image, channel_axis=0, mask=mask, labels=labels, thresholds="costes"
        )
    alone = coefficient_table(image, channel_axis=0, mask=mask, thresholds="costes")
    assert np.isnan(per_object.pearson[1])
    assert per_object.pearson[0] == pytest.approx(alone.pearson[0], rel=1e-12)


# ------------------------------------------------------------------ Java arithmetic, one place

HALVES = [0.49999999999999994, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999, 4503599627370497.0]


def test_java_round_is_java_7_math_round_exactly():
    # Java 7+: Math.round(0.49999999999999994) == 0, half up (toward +inf) at every .5, exact
    # for the odd integers above 2**52 where x + 0.5 is not representable
    expected = [0, 1, 2, 3, 0, -1, -2, 2, 4503599627370497]
    np.testing.assert_array_equal(java_round(np.array(HALVES)), expected)
    assert java_round(np.array([np.nan]))[0] == 0


def test_java_round_int_keeps_the_threshold_code_s_floor_of_x_plus_half():
    # floor(x + 0.5) in doubles: the sum rounds up at 0.49999999999999994; (int) saturates
    expected = [1, 1, 2, 3, 0, -1, -2, 2, 2**31 - 1]
    assert [java_round_int(x) for x in HALVES] == expected
    assert java_round_int(math.nan) == 0
    assert java_round_int(-1e300) == -(2**31)


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (2.9, 2),
        (-2.9, -2),
        (math.nan, 0),
        (2147483647.5, 2**31 - 1),
        (math.inf, 2**31 - 1),
        (-math.inf, -(2**31)),
        (-2147483649.0, -(2**31)),
    ],
)
def test_java_int_truncates_and_saturates(x, expected):
    assert java_int(x) == expected


def test_remove_background_is_the_public_name_and_apply_threshold_its_alias():
    import colocalize

    assert colocalize.remove_background is colocalize.apply_threshold
    assert "remove_background" in colocalize.__all__
    assert "apply_threshold" in colocalize.__all__
    image = np.array([0, 10, 11, 100, 255], np.uint8)
    before = image.copy()
    np.testing.assert_array_equal(colocalize.remove_background(image, 10), [0, 0, 1, 94, 255])
    np.testing.assert_array_equal(image, before)


def _label_files(tmp_path):
    import colocalize

    rng = np.random.default_rng(7)
    image = rng.integers(0, 200, (2, 20, 24)).astype(np.uint8)
    colocalize.write_image(tmp_path / "img.tif", Image(image, axes="CYX"))
    labels = np.where(np.arange(24) < 12, 1.0, 2.0)[None, :].repeat(20, axis=0)
    colocalize.write_image(tmp_path / "whole.tif", labels.astype(np.float32))
    labels[0, 0] = 1.5
    colocalize.write_image(tmp_path / "frac.tif", labels.astype(np.float32))
    return image


def test_the_cli_refuses_fractional_labels_instead_of_truncating_them(tmp_path):
    from _faults import assert_clean_error, run_cli

    _label_files(tmp_path)
    proc = run_cli("coefficients", tmp_path / "img.tif", "--labels", tmp_path / "frac.tif")
    assert_clean_error(proc, "integer label image", "1.5")
    proc = run_cli("coefficients", tmp_path / "img.tif", "--labels", tmp_path / "whole.tif")
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.strip().splitlines()) == 3  # a header and one row per label


def test_the_batch_reads_labels_with_the_one_label_policy(tmp_path):
    from colocalize._batch._worker import ImageTask, load_channels

    _label_files(tmp_path)

    def task(labels):
        return ImageTask(
            path=str(tmp_path / "img.tif"),
            relpath="img.tif",
            metadata=(),
            variants=(),
            labels_path=str(tmp_path / labels),
        )

    labels = load_channels(task("whole.tif"))[3]
    assert labels.dtype.kind == "i"
    assert set(np.unique(labels)) == {1, 2}
    with pytest.raises(TypeError, match=r"labels .*frac\.tif must be an integer label image"):
        load_channels(task("frac.tif"))


# ------------------------------------------------------------------ every entry point, one policy
# The same two-channel image, mask and label files through the Python API, the command line,
# the batch worker and the ImageJ bridge (its protocol, as the worker and JPype serve it).

_SHAPE = (20, 24)


def _entry_files(tmp_path):
    """The image (2 uint8 channels) and its mask and label files, written once per test."""
    import colocalize

    rng = np.random.default_rng(8)
    image = rng.integers(0, 200, (2, *_SHAPE)).astype(np.uint8)
    image[1] = image[0] // 2 + image[1] // 3
    colocalize.write_image(tmp_path / "img.tif", Image(image, axes="CYX"))
    colocalize.write_image(tmp_path / "empty.tif", np.zeros(_SHAPE, np.uint8))
    halves = _halves(_SHAPE)
    colocalize.write_image(tmp_path / "int.tif", halves)
    colocalize.write_image(tmp_path / "whole.tif", halves.astype(np.float32))
    fraction = halves.astype(np.float32)
    fraction[0, 0] = 1.5
    colocalize.write_image(tmp_path / "frac.tif", fraction)
    return image


def _read(path):
    import colocalize

    return colocalize.read_image(path).data


def _by_api(tmp_path, mask, labels):
    """coefficient_table of the Image read from the file (errors as 'Type: message')."""
    import colocalize

    extra = {
        "mask": None if mask is None else _read(tmp_path / mask) != 0,
        "labels": None if labels is None else _read(tmp_path / labels),
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ColocalizeWarning)
        try:
            table = coefficient_table(colocalize.read_image(tmp_path / "img.tif"), **extra)
        except (TypeError, ValueError) as exc:
            return None, [], f"{type(exc).__name__}: {exc}"
    return table.pearson.tolist(), [str(w.message) for w in caught], ""


def _by_cli(tmp_path, mask, labels):
    import csv
    import io

    from _faults import run_cli

    args = ["coefficients", tmp_path / "img.tif", "--csv"]
    args += [] if mask is None else ["--mask", tmp_path / mask]
    args += [] if labels is None else ["--labels", tmp_path / labels]
    proc = run_cli(*args)
    if proc.returncode:
        return None, [], proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    values = [float(r["pearson"]) if r["pearson"] else math.nan for r in rows]
    return values, proc.stderr.splitlines(), ""


def _by_batch(tmp_path, mask, labels):
    from colocalize._batch._worker import ImageTask, Variant, process_image

    result = process_image(
        ImageTask(
            path=str(tmp_path / "img.tif"),
            relpath="img.tif",
            metadata=(),
            variants=(Variant("none", "none"),),
            mask_path=None if mask is None else str(tmp_path / mask),
            labels_path=None if labels is None else str(tmp_path / labels),
        )
    )
    if result["errors"]:
        return None, [], " ".join(message for _, message in result["errors"])
    return [r["pearson"] for r in result["rows"]], result["warnings"], ""


def _bridge_image(title, data, index):
    return {
        "title": title,
        "axes": "CYX" if data.ndim == 3 else "YX",
        "spacing": [1.0] * data.ndim,
        "unit": "pixel",
        "time_unit": "sec",
        "channel_names": [None] * (len(data) if data.ndim == 3 else 1),
        "data": {"buffer": index, "dtype": data.dtype.str, "shape": list(data.shape)},
    }


def _serve(command, values, images):
    """The reply of the bridge's protocol to ``command`` on ``images`` (field: (title, data))."""
    from colocalize.imagej._protocol import serve

    specs = {
        key: _bridge_image(title, data, i) for i, (key, (title, data)) in enumerate(images.items())
    }
    message = {
        "task": "1",
        "requestType": "EXECUTE",
        "command": command,
        "options": None,
        "values": values,
        "images": specs,
        "masks": {},
    }
    buffers = [np.ascontiguousarray(data).tobytes() for _, data in images.values()]
    return json.loads(serve(json.dumps(message), buffers)[0])


def _column(reply, name, table=0):
    columns = reply["outputs"]["tables"][table]["columns"]
    values = next(c["values"] for c in columns if c["name"] == name)
    return [math.nan if v is None else v for v in values]


def _by_bridge(tmp_path, mask, labels):
    image = _read(tmp_path / "img.tif")
    values = {
        "image_1": "img",
        "image_2": "img",
        "channel_1": 1,
        "channel_2": 2,
        "threshold": "None",
        "scatter_plot": False,
    }
    images = {"image_1": ("img", image), "image_2": ("img", image)}
    values["mask"] = "<None>" if mask is None else mask
    values["labels"] = "<None>" if labels is None else labels
    if mask is not None:
        images["mask"] = (mask, _read(tmp_path / mask))
    if labels is not None:
        images["labels"] = (labels, _read(tmp_path / labels))
    reply = _serve("coefficients", values, images)
    if reply["responseType"] != "COMPLETION":
        return None, [], reply["error"]
    return _column(reply, "pearson"), reply["outputs"]["log"], ""


ENTRY_POINTS = {"api": _by_api, "cli": _by_cli, "batch": _by_batch, "bridge": _by_bridge}


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_an_empty_mask_gives_nan_and_a_warning_at_every_entry_point(tmp_path, entry):
    _entry_files(tmp_path)
    values, messages, error = ENTRY_POINTS[entry](tmp_path, "empty.tif", None)
    assert not error
    assert len(values) == 1
    assert math.isnan(values[0])
    assert any("no pixel is selected (empty mask" in m for m in messages), messages


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_labels_stored_as_whole_floats_count_as_labels_at_every_entry_point(tmp_path, entry):
    _entry_files(tmp_path)
    as_int, _, error = ENTRY_POINTS[entry](tmp_path, None, "int.tif")
    assert not error
    assert len(as_int) == 2
    assert not any(math.isnan(v) for v in as_int)
    as_float, _, error = ENTRY_POINTS[entry](tmp_path, None, "whole.tif")
    assert not error
    np.testing.assert_allclose(as_float, as_int, rtol=1e-12, atol=1e-15)
    # the API's rows, per object
    expected, _, _ = _by_api(tmp_path, None, "int.tif")
    np.testing.assert_allclose(as_int, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_fractional_labels_are_refused_with_one_message_at_every_entry_point(tmp_path, entry):
    _entry_files(tmp_path)
    values, _, error = ENTRY_POINTS[entry](tmp_path, None, "frac.tif")
    assert values is None
    assert "must be an integer label image (0 = background), got dtype float32" in error
    assert "values such as 1.5" in error
    assert "label a mask with scipy.ndimage.label first" in error


def test_an_empty_mask_gives_nan_and_a_warning_in_every_correlation_entry_point():
    """coefficients(), cross_correlation() and both bridge commands on an empty mask."""
    import colocalize

    rng = np.random.default_rng(9)
    a, b = (rng.integers(0, 255, _SHAPE).astype(np.uint8) for _ in range(2))
    empty = np.zeros(_SHAPE, bool)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ColocalizeWarning)
        assert math.isnan(colocalize.coefficients(a, b, mask=empty).pearson)
        assert math.isnan(cross_correlation(a, b, mask=empty).mean)
    messages = [str(w.message) for w in caught]
    assert any("no pixel is selected (empty mask" in m for m in messages), messages
    assert any("mask is empty" in m for m in messages), messages
    images = {"image_1": ("A", a), "image_2": ("B", b), "mask": ("M", empty.astype(np.uint8))}
    values = {"image_1": "A", "image_2": "B", "channel_1": 1, "channel_2": 1, "mask": "M"}
    reply = _serve("coefficients", values | {"threshold": "Costes", "scatter_plot": False}, images)
    assert reply["responseType"] == "COMPLETION", reply
    assert math.isnan(_column(reply, "pearson")[0])
    assert any("no pixel is selected (empty mask" in line for line in reply["outputs"]["log"])
    reply = _serve("cross_correlation", values, images)
    assert reply["responseType"] == "COMPLETION", reply
    assert any("mask is empty" in line for line in reply["outputs"]["log"])


def test_an_empty_mask_gives_nan_and_a_warning_in_objects_and_the_top_percent_threshold():
    """object_colocalization() raised on an empty mask; top_percent_threshold() gave NaN with
    no warning."""
    import colocalize

    rng = np.random.default_rng(11)
    a, b = (rng.integers(0, 255, _SHAPE).astype(np.uint8) for _ in range(2))
    empty = np.zeros(_SHAPE, bool)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ColocalizeWarning)
        objects = colocalize.object_colocalization(a, b, mask=empty)
        assert math.isnan(colocalize.top_percent_threshold(a, 10, mask=empty))
    assert (objects.objects0.n_objects, objects.objects1.n_objects) == (0, 0)
    assert math.isnan(objects.objects0.fraction_overlapping)
    assert math.isnan(objects.objects1.mean_distance)
    messages = [str(w.message) for w in caught]
    assert any(m.startswith("object_colocalization: the mask is empty") for m in messages)
    assert any(m.startswith("top_percent_threshold: the mask is empty") for m in messages)


def test_the_bridge_names_channels_in_warnings_as_in_its_table():
    # the warning of a pair of one hyperstack's channels named the pair "0 and 1" (the
    # handler's private keys), not "H (C1) and H (C3)" as the table rows do
    rng = np.random.default_rng(10)
    hyper = rng.integers(1, 255, (3, *_SHAPE)).astype(np.uint8)
    hyper[2] = 0  # channel 3 has no pixel above 0: NaN thresholded overlaps, with a warning
    images = {"image_1": ("H", hyper), "image_2": ("H", hyper)}
    values = {
        "image_1": "H",
        "image_2": "H",
        "channel_1": 1,
        "channel_2": 3,
        "mask": "<None>",
        "threshold": "None",
        "scatter_plot": False,
    }
    reply = _serve("coefficients", values, images)
    assert reply["responseType"] == "COMPLETION", reply
    assert _column(reply, "Image 1") == ["H (C1)"]
    assert _column(reply, "Image 2") == ["H (C3)"]
    log = reply["outputs"]["log"]
    assert log
    assert all("coefficients of H (C1) and H (C3):" in line for line in log), log


def test_coefficient_table_uses_the_channels_asked_for_by_index_or_name():
    rng = np.random.default_rng(12)
    data = rng.random((3, *_SHAPE))
    image = Image(data, axes="CYX", channel_names=("a", "b", "c"))
    picked = coefficient_table(image, channels=["c", 0], triples=False)
    alone = coefficient_table(data[[2, 0]], channel_axis=0, channel_names=["c", "a"])
    assert picked.equals(alone)
    assert coefficient_table(data, channel_axis=0, channels=[-1, 0]).equals(
        coefficient_table(data[[2, 0]], channel_axis=0, channel_names=["C2", "C0"])
    )
    with pytest.raises(ValueError, match=r"channels='d' is not a channel of the image"):
        coefficient_table(image, channels=["a", "d"])
    with pytest.raises(ValueError, match=r"has 1 channel\(s\) \(\['a'\] of 3\)"):
        coefficient_table(image, channels=["a"])


def test_an_image_without_a_channel_axis_is_refused_naming_it(tmp_path):
    import colocalize
    from _faults import assert_clean_error, run_cli

    colocalize.write_image(tmp_path / "grey.tif", np.zeros(_SHAPE, np.uint8))
    proc = run_cli("coefficients", tmp_path / "grey.tif")
    assert_clean_error(proc, "'grey' has axes 'YX'", "no channel axis C")
    with pytest.raises(ValueError, match="no channel axis C; colocalization needs at least two"):
        coefficient_table(colocalize.read_image(tmp_path / "grey.tif"))


def test_coefficients_take_one_channel_images_as_their_pixels():
    import colocalize

    rng = np.random.default_rng(13)
    a, b, c = (rng.integers(0, 4000, _SHAPE).astype(np.uint16) for _ in range(3))
    images = [Image(x, axes="YX", spacing=(0.2, 0.2), unit="um") for x in (a, b, c)]
    np.testing.assert_equal(  # NaN fields equal too
        vars(colocalize.coefficients(*images[:2])), vars(colocalize.coefficients(a, b))
    )
    one = Image(c[None], axes="CYX", channel_names=("only",))
    np.testing.assert_equal(
        vars(colocalize.triple_coefficients(images[0], images[1], one)),
        vars(colocalize.triple_coefficients(a, b, c)),
    )
    two = Image(np.stack([a, b]), axes="CYX")
    with pytest.raises(ValueError, match=r"image1 has 2 channels \(axes 'CYX'\); pass one"):
        colocalize.coefficients(a, two)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"channel_axis": 5}, "channel_axis=5 is out of range for shape (2, 6, 8)"),
        ({"channel_axis": 0, "channel_names": ["a"]}, "1 names for 2 channels; pass one name"),
    ],
)
def test_measure_objects_splits_channels_through_the_input_layer(kwargs, message):
    # measure_objects split channels itself (np.moveaxis): an axis out of range was numpy's
    # "axis 5 is out of bounds for array of dimension 3", naming no argument
    from colocalize import measure_objects

    labels = np.zeros((6, 8), dtype=np.int32)
    labels[1:3, 1:4] = 1
    image = np.random.default_rng(0).random((2, 6, 8))
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        measure_objects(labels, image, **kwargs)
    named = measure_objects(labels, Image(image, axes="CYX", channel_names=("g", "r")))
    assert named.equals(measure_objects(labels, image, channel_axis=0, channel_names=["g", "r"]))
    assert any(c.startswith("g_") or c.endswith("_g") for c in named.columns)
    single = measure_objects(labels, image[0])
    assert any("image" in c for c in single.columns)


def _nuclei(shape=(40, 48)):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    img = 10.0 + 100 * np.exp(-((yy - 14) ** 2 + (xx - 14) ** 2) / 30.0)
    img += 80 * np.exp(-((yy - 26) ** 2 + (xx - 34) ** 2) / 30.0)
    return np.round(img).astype(np.uint16)


def _pair():
    rng = np.random.default_rng(21)
    a = _nuclei() + rng.integers(0, 30, (40, 48)).astype(np.uint16)
    b = (a // 2 + rng.integers(0, 40, a.shape)).astype(np.uint16)
    return a, b


def _labels():
    lab = np.zeros((40, 48), np.int32)
    lab[8:20, 8:20] = 1
    lab[20:32, 28:40] = 2
    return lab


# Every public function that takes an image (not labels, paths or results), as
# (name, call, number of image arguments). Functions taking several channels in one image
# (coefficient_table, translocation, measure_objects, histogram_deciles, write_image) are
# covered by their own tests.
_ONE_CHANNEL_CALLS = {
    "apply_threshold": (lambda i: __import__("colocalize").apply_threshold(i[0], 60.0), 1),
    "bivariate_histogram": (lambda i: __import__("colocalize").bivariate_histogram(*i), 2),
    "coefficients": (lambda i: __import__("colocalize").coefficients(*i), 2),
    "costes_significance": (
        lambda i: __import__("colocalize").costes_significance(*i, n=5, rng=0),
        2,
    ),
    "costes_threshold": (lambda i: __import__("colocalize").costes_threshold(*i), 2),
    "cross_correlation": (
        lambda i: __import__("colocalize").cross_correlation(*i, confidence=False),
        2,
    ),
    "cross_correlation_profile": (
        lambda i: __import__("colocalize").cross_correlation_profile(*i),
        2,
    ),
    "label_puncta": (lambda i: __import__("colocalize").label_puncta(i[0]), 1),
    "li_ica": (lambda i: __import__("colocalize").li_ica(*i), 2),
    "object_colocalization": (lambda i: __import__("colocalize").object_colocalization(*i), 2),
    "remove_background": (lambda i: __import__("colocalize").remove_background(i[0], 60.0), 1),
    "segment_cells": (lambda i: __import__("colocalize").segment_cells(i[0]), 1),
    "segment_nuclei": (lambda i: __import__("colocalize").segment_nuclei(i[0]), 1),
    "threshold": (lambda i: __import__("colocalize").threshold(i[0]), 1),
    "threshold_local": (
        lambda i: __import__("colocalize").threshold_local(i[0], block_size=7),
        1,
    ),
    "threshold_overlap_score": (
        lambda i: __import__("colocalize").threshold_overlap_score(*i),
        2,
    ),
    "threshold_per_slice": (lambda i: __import__("colocalize").threshold_per_slice(i[0]), 3),
    "top_percent_threshold": (
        lambda i: __import__("colocalize").top_percent_threshold(i[0], 10.0),
        1,
    ),
    "triple_coefficients": (
        lambda i: __import__("colocalize").triple_coefficients(i[0], i[1], i[0]),
        2,
    ),
    "van_steensel_ccf": (lambda i: __import__("colocalize").van_steensel_ccf(*i, max_shift=5), 2),
}
_TAKES_NO_IMAGE = {
    "batch",  # a folder
    "coefficient_table",  # several channels (tests above)
    "expand_labels",
    "histogram_deciles",  # one channel or several (test below)
    "link_labels",
    "match_labels",
    "measure_objects",  # labels plus several channels (tests above)
    "read_image",
    "ring_mask",
    "threshold_from_histogram",
    "threshold_methods",
    "translocation",  # several channels and time points (tests above)
    "write_image",  # takes an Image already
    "write_report",
}


def _same(x, y):
    if hasattr(x, "__dataclass_fields__"):
        assert type(x) is type(y)
        for field in x.__dataclass_fields__:
            _same(getattr(x, field), getattr(y, field))
    elif hasattr(x, "equals"):  # a DataFrame
        assert x.equals(y)
    elif isinstance(x, tuple | list) and not isinstance(x, str):
        assert len(x) == len(y)
        for u, v in zip(x, y, strict=True):
            _same(u, v)
    else:
        np.testing.assert_equal(x, y)


def test_the_list_of_entry_points_covers_every_public_function():
    import inspect

    import colocalize

    functions = {n for n in colocalize.__all__ if inspect.isfunction(getattr(colocalize, n))}
    assert functions == set(_ONE_CHANNEL_CALLS) | _TAKES_NO_IMAGE


@pytest.mark.parametrize("name", sorted(_ONE_CHANNEL_CALLS))
def test_every_one_channel_entry_point_takes_a_one_channel_image_as_its_pixels(name):
    # most of them refused an Image: "image must be a real-valued image ... got dtype object"
    call, n = _ONE_CHANNEL_CALLS[name]
    arrays = [np.stack(_pair())] if n == 3 else _pair()[:n]  # 3: one (Z, Y, X) stack
    axes = "ZYX"[3 - arrays[0].ndim :]
    expected = call(arrays)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ColocalizeWarning)
        for wrap in (
            lambda a: Image(a, axes=axes),
            lambda a: Image(a[None], axes="C" + axes, channel_names=("only",)),
        ):
            _same(call([wrap(a) for a in arrays]), expected)
    two = Image(np.stack([arrays[0]] * 2), axes="C" + axes)
    with pytest.raises(ValueError, match=rf"has 2 channels \(axes 'C{axes}'.*\.channel\("):
        call([two] * len(arrays))


@pytest.mark.parametrize("name", ["segment_nuclei", "segment_cells"])
def test_segmentation_uses_an_image_s_spacing_unless_given(name):
    import colocalize

    segment = getattr(colocalize, name)
    a = _nuclei()
    image = Image(a[None], axes="CYX", spacing=(1.0, 0.5, 0.25), unit="um")
    np.testing.assert_array_equal(segment(image), segment(a, spacing=(0.5, 0.25)))
    np.testing.assert_array_equal(segment(image, spacing=1.0), segment(a))


def test_van_steensel_uses_an_image_s_pixel_size_and_unit():
    from colocalize import van_steensel_ccf

    a, b = _pair()
    images = [Image(x, axes="YX", spacing=(0.5, 0.25), unit="um") for x in (a, b)]
    result = van_steensel_ccf(*images, max_shift=5)
    _same(result, van_steensel_ccf(a, b, max_shift=5, spacing=(0.5, 0.25), unit="um"))


def test_histogram_deciles_takes_an_image_s_channel_axis():
    from colocalize import histogram_deciles

    a, b = _pair()
    image = Image(np.stack([a, b]), axes="CYX")
    np.testing.assert_array_equal(
        histogram_deciles(image), histogram_deciles(np.stack([a, b]), channel_axis=0)
    )
    np.testing.assert_array_equal(histogram_deciles(Image(a, axes="YX")), histogram_deciles(a))
    np.testing.assert_array_equal(
        histogram_deciles(Image(a[None], axes="CYX")), histogram_deciles(a[None], channel_axis=0)
    )


@pytest.mark.parametrize("axes", ["YX", "TYX"])
def test_cytoplasm_ring_table_measures_a_one_channel_image(axes):
    # the ring table split channels itself with axes.index("C"): an image without a C axis
    # was a traceback ("substring not found")
    import colocalize
    from colocalize.imagej._commands_masks import _ring_table

    lab = np.zeros((2, 20, 24), np.int32)
    lab[:, 4:9, 4:9] = 1
    lab[:, 12:17, 14:20] = 2
    rings = np.stack([colocalize.ring_mask(f, outer=2.0) for f in lab])
    n = 2 if "T" in axes else 1
    data = np.random.default_rng(3).random((2, 20, 24))[:n]
    labels = Image(lab[:n] if n == 2 else lab[0], axes=axes, spacing=(0.5,) * len(axes))
    intensity = Image(data if n == 2 else data[0], axes=axes, name="i")
    table = _ring_table(lab[:n], rings[:n], intensity, labels)
    for t in range(n):
        rows = table[table["frame"] == t] if n == 2 else table
        for prefix, objects in (("nucleus_", lab[t]), ("ring_", rings[t])):
            expected = colocalize.measure_objects(objects, data[t], spacing=0.5)
            np.testing.assert_allclose(rows[prefix + "mean_C1"], expected["mean_image"])


@pytest.mark.parametrize("name", ["segment_nuclei", "segment_cells"])
def test_segmentation_refuses_a_time_lapse_image_naming_the_fix(name):
    # a TYX Image was read as a z-stack with a (y, x) spacing: "spacing must be 3 ... sizes"
    import colocalize

    frames = Image(np.stack([_nuclei()] * 2), axes="TYX", spacing=(5.0, 0.5, 0.5))
    with pytest.raises(ValueError, match=r"image has a time axis \(axes 'TYX'\); segment one"):
        getattr(colocalize, name)(frames)
