"""translocation(), link_labels() and plot.translocation on synthetic time-lapses."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import colocalize
from colocalize import ColocalizeWarning, link_labels, ring_mask, translocation
from conftest import require_module

require_module("skimage")


def _timelapse(n_t=4, shape=(50, 80), dtype=np.float64, seed=0):
    """Two cells drifting right; cell 1's reporter leaves its nucleus, cell 2's stays.

    Returns the (T, C, M, N) image, the nuclei labels, and the expected C/N ratio per frame.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    frames, nuclei, ratios = [], [], []
    for t in range(n_t):
        centres = [(20, 18 + 2 * t), (28, 55 + t)]
        lab = np.zeros(shape, dtype=np.int32)
        cyto = np.zeros(shape, dtype=np.int32)
        for k, (cy, cx) in enumerate(centres, start=1):
            d = np.hypot(yy - cy, xx - cx)
            lab[d <= 6] = k
            cyto[(d > 6) & (d <= 14)] = k
        n_in = [200.0 - 40 * t, 150.0]  # nuclear reporter of cells 1 and 2
        c_in = [40.0 + 50 * t, 75.0]  # cytoplasmic reporter (never equal to n_in)
        reporter = np.full(shape, 5.0)
        marker = np.full(shape, 10.0)
        for k in (1, 2):
            reporter[lab == k] = n_in[k - 1]
            reporter[cyto == k] = c_in[k - 1]
            marker[lab == k] = 300.0
        marker += rng.uniform(0, 20, shape)
        frames.append(np.stack([marker, reporter]))
        nuclei.append(lab)
        ratios.append([c_in[0] / n_in[0], c_in[1] / n_in[1]])
    return np.asarray(frames).astype(dtype), np.asarray(nuclei), np.asarray(ratios)


# channels and axes of the (T, C, M, N) arrays of _timelapse
ARRAY_AXES = {"nucleus_channel": 0, "reporter_channel": 1, "time_axis": 0, "channel_axis": 1}


def _table(image, nuclei):
    """translocation() of a _timelapse array with the given nuclei and a 1..6 pixel ring."""
    return translocation(image, **ARRAY_AXES, nuclei=nuclei, inner=1, outer=6)


@pytest.mark.parametrize("dtype", [np.uint16, np.float32, np.float64])
def test_ratio_per_cell_and_frame_with_given_nuclei(dtype):
    image, nuclei, ratios = _timelapse(dtype=dtype)
    table = _table(image, nuclei)
    assert isinstance(table, pd.DataFrame)
    assert len(table) == 8
    assert sorted(table.cell.unique()) == [1, 2]
    for t in range(4):
        rows = table[table.frame == t].sort_values("cell")
        np.testing.assert_allclose(rows.ratio, ratios[t], rtol=1e-6)
        np.testing.assert_allclose(rows.nuclear_mean * rows.ratio, rows.cytoplasm_mean)
    # ring areas are the ring's pixels, not overlapping anything
    ring = ring_mask(nuclei[0], inner=1, outer=6)
    first = table[table.frame == 0].sort_values("cell")
    np.testing.assert_array_equal(first.cytoplasm_area, np.bincount(ring.ravel())[1:])
    np.testing.assert_array_equal(first.nuclear_area, np.bincount(nuclei[0].ravel())[1:])


def test_pearson_is_over_nucleus_and_ring():
    image, nuclei, _ = _timelapse()
    table = _table(image, nuclei)
    ring = ring_mask(nuclei[2], inner=1, outer=6)
    where = (nuclei[2] == 1) | (ring == 1)
    expected = np.corrcoef(image[2, 1][where], image[2, 0][where])[0, 1]
    row = table[(table.frame == 2) & (table.cell == 1)]
    assert row.pearson.item() == pytest.approx(expected, rel=1e-12)


def test_segments_and_links_nuclei_itself():
    image, _nuclei, ratios = _timelapse()
    table = translocation(image, **ARRAY_AXES, inner=1, outer=6)
    assert sorted(table.cell.unique()) == [1, 2]  # linked across frames, not 8 cells
    got = table.pivot(index="frame", columns="cell", values="ratio")
    x0 = table[table.frame == 0].set_index("cell").centroid_x
    got = got[sorted(got.columns, key=lambda c: x0[c])].to_numpy()  # cell 1 is the left one
    np.testing.assert_allclose(got, ratios, rtol=0.1)


def test_image_with_metadata_and_channel_names():
    image, nuclei, ratios = _timelapse(n_t=2)
    img = colocalize.Image(
        image,
        axes="TCYX",
        spacing=(1.0, 1.0, 0.5, 0.5),
        unit="um",
        channel_names=("H2B", "ERK-KTR"),
    )
    table = translocation(
        img, nucleus_channel="H2B", reporter_channel="ERK-KTR", nuclei=nuclei, inner=0.5, outer=3
    )
    np.testing.assert_allclose(table.ratio.to_numpy().reshape(2, 2), ratios, rtol=1e-6)
    assert table.nuclear_area.iloc[0] == pytest.approx(np.count_nonzero(nuclei[0] == 1) * 0.25)
    moved = np.moveaxis(image, (0, 1), (2, 0))  # (C, Y, T, X)
    other = translocation(
        moved,
        nucleus_channel=0,
        reporter_channel=1,
        time_axis=2,
        channel_axis=0,
        nuclei=nuclei,
        inner=1,
        outer=6,
    )
    base = _table(image, nuclei)
    pd.testing.assert_frame_equal(other, base)


def test_degenerate_cells_warn():
    image, nuclei, _ = _timelapse(n_t=2)
    image[:, 1] = 7.0  # constant reporter: pearson undefined
    with pytest.warns(ColocalizeWarning, match="NaN"):
        table = _table(image, nuclei)
    assert table.pearson.isna().all()
    assert (table.ratio == 1.0).all()
    with pytest.warns(ColocalizeWarning, match="no nuclei"):
        empty = translocation(image, **ARRAY_AXES, nuclei=np.zeros_like(nuclei))
    assert empty.empty
    assert "ratio" in empty.columns


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"time_axis": None}, ValueError, "time_axis is required"),
        ({"time_axis": 1}, ValueError, "same axis"),
        ({"reporter_channel": 5}, ValueError, "reporter_channel=5 is not a channel"),
        ({"reporter_channel": "GFP"}, ValueError, "reporter_channel='GFP' is not a channel"),
        ({"nuclei": np.zeros((2, 5, 5), int)}, ValueError, "one label image per frame"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    image, _, _ = _timelapse(n_t=2)
    with pytest.raises(error, match=match):
        translocation(image, **{**ARRAY_AXES, **kwargs})


def test_link_labels_by_overlap():
    frames = np.zeros((4, 10, 30), dtype=np.int32)
    frames[0, 2:6, 2:6] = 5
    frames[0, 2:6, 20:24] = 6
    frames[1, 2:6, 3:7] = 1  # cell 5 moved one pixel
    frames[1, 2:6, 21:25] = 2
    frames[2, 2:6, 4:8] = 3
    frames[2, 6:9, 12:15] = 4  # a new cell; cell 6 is gone
    frames[3, 2:6, 21:25] = 9  # cell 6 back: a new track, numbers are never reused
    linked = link_labels(frames)
    assert linked[0, 3, 3] == linked[1, 3, 4] == linked[2, 3, 5] == 1
    assert linked[0, 3, 21] == linked[1, 3, 22] == 2
    assert linked[2, 7, 13] == 3
    assert linked[3, 3, 22] == 4
    assert link_labels(frames, min_iou=0.9)[1, 3, 4] not in (0, 1)
    with pytest.raises(ValueError, match="min_iou"):
        link_labels(frames, min_iou=0)
    with pytest.raises(ValueError, match="time axis"):
        link_labels(frames[0])


def test_plot_translocation():
    matplotlib = require_module("matplotlib")
    matplotlib.use("Agg")
    from colocalize import plot

    image, nuclei, _ = _timelapse()
    table = _table(image, nuclei)
    ax = plot.translocation(table)
    assert len(ax.get_lines()) == 2 + 1  # one line per cell and the median
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), table[table.cell == 1].ratio)
    assert ax.get_ylabel() == "cytoplasm / nucleus"
    ax2 = plot.translocation(
        table, value="pearson", cells=[2], median=False, frame_interval=5.0, time_unit="min"
    )
    assert len(ax2.get_lines()) == 1
    np.testing.assert_allclose(ax2.get_lines()[0].get_xdata(), [0, 5, 10, 15])
    with pytest.raises(ValueError, match="value"):
        plot.translocation(table, value="nope")
    assert not math.isnan(table.ratio.sum())


@pytest.mark.parametrize("seed", range(5))
def test_cell_pearson_is_the_shared_pearson(seed):
    from colocalize._objects._translocation import _pearson

    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 500))
    a, b = rng.normal(size=n) * 100, rng.normal(size=n) + rng.normal(size=n)
    assert _pearson(a, b) == pytest.approx(np.corrcoef(a, b)[0, 1], rel=1e-12, abs=1e-15)


def test_a_constant_float_reporter_gives_nan_pearson():
    # 0.1 has no exact mean: the centred sums were rounding noise and r came out ~1e-16
    image, nuclei, _ = _timelapse(n_t=2)
    image[:, 1] = 0.1
    with pytest.warns(ColocalizeWarning, match="constant intensities"):
        table = translocation(image, **ARRAY_AXES, nuclei=nuclei)
    assert table.pearson.isna().all()
