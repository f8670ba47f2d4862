"""The shared argument checks of ``colocalize._validation``."""

from __future__ import annotations

import numpy as np
import pytest

from colocalize import coefficient_table
from colocalize._validation import channel_index


@pytest.mark.parametrize(
    ("key", "expected"),
    [(0, 0), (2, 2), (-1, 2), (np.int64(-3), 0), ("1", 1), ("-1", 2), ("GFP", 0), ("2", 1)],
)
def test_channel_index_names_then_indices(key, expected):
    """Names win over reading a string as a number (here a channel is called "2")."""
    assert channel_index(key, 3, ("GFP", "2", "DAPI"), name="channel") == expected


@pytest.mark.parametrize(
    ("key", "error", "match"),
    [
        (3, ValueError, r"channel=3 is not a channel of the image: use an index from -3 to 2\."),
        ("-4", ValueError, "from -3 to 2"),
        ("RFP", ValueError, "'RFP'"),
        (True, TypeError, "channel name or index, got True"),
        (1.0, TypeError, "got 1.0"),
    ],
)
def test_channel_index_errors_name_the_argument_and_the_choices(key, error, match):
    with pytest.raises(error, match=match):
        channel_index(key, 3, name="channel")
    with pytest.raises(error):
        channel_index(key, 3, ("a", "b", "c"), name="channel")


def test_channel_index_lists_names_when_there_are_some():
    with pytest.raises(ValueError, match=r"or one of the names \['a', 'b'\]\."):
        channel_index("c", 2, ("a", "b"), name="--channel")


def test_table_pairs_accept_negative_indices_like_the_rest_of_the_api():
    """coefficient_table(pairs=...) used to reject -1 where Image.channel and batch took it."""
    rng = np.random.default_rng(3)
    image = rng.random((3, 20, 20))
    table = coefficient_table(image, channel_axis=0, pairs=[(0, -1)])
    expected = coefficient_table(image, channel_axis=0, pairs=[(0, 2)])
    assert table.equals(expected)


def test_axis_of_prefers_the_given_axis_then_the_letter():
    from colocalize._validation import axis_of

    assert axis_of("TCYX", "C", None, name="channel_axis") == 1
    assert axis_of("TCYX", "C", 0, name="channel_axis") == 0
    assert axis_of("", "C", 2, name="channel_axis") == 2
    with pytest.raises(ValueError, match="axes 'ZYX' with no time axis T; pass time_axis"):
        axis_of("ZYX", "T", None, name="time_axis")
