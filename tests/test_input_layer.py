"""The one input layer (colocalize._channels) and the policies every entry point shares."""

import numpy as np
import pytest

from colocalize import Image, coefficient_table, cross_correlation, translocation
from colocalize._channels import as_channels, as_labels, resolve_spacing


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
    from colocalize import _objects, _segment

    assert _segment.resolve_spacing is resolve_spacing
    assert _objects.as_labels is as_labels
