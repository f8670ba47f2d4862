"""expand_labels, ring_mask, measure_objects and match_labels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import colocalize
from colocalize import (
    ColocalizeWarning,
    LabelMatch,
    coefficient_table,
    coefficients,
    expand_labels,
    match_labels,
    measure_objects,
    ring_mask,
)
from conftest import require_module

skimage = require_module("skimage")


def _sparse_labels(shape, n, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.zeros(shape, dtype=np.int32)
    for k in range(1, n + 1):
        idx = tuple(rng.integers(0, s) for s in shape)
        labels[idx] = k
    return labels


label_images = arrays(
    np.int16,
    st.tuples(st.integers(3, 12), st.integers(3, 12)),
    elements=st.sampled_from([0, 0, 0, 0, 0, 1, 2, 3]),
)


@pytest.mark.parametrize("ndim", [2, 3])
@pytest.mark.parametrize("distance", [0, 1.5, 4])
def test_expand_labels_equals_skimage(ndim, distance):
    from skimage.segmentation import expand_labels as sk_expand

    labels = _sparse_labels((16,) * ndim, 6, seed=ndim)
    ours = expand_labels(labels, distance=distance)
    np.testing.assert_array_equal(ours, sk_expand(labels, distance=distance))
    assert ours.dtype == labels.dtype


def test_expand_labels_spacing_and_mask():
    labels = np.zeros((1, 11), dtype=np.int32)
    labels[0, 5] = 1
    # 0.5 um pixels: 2 um of growth is 4 pixels each way
    grown = expand_labels(labels, distance=2, spacing=0.5)
    np.testing.assert_array_equal(np.flatnonzero(grown[0]), np.arange(1, 10))
    mask = np.ones((1, 11), bool)
    mask[0, 7] = False
    limited = expand_labels(labels, distance=2, spacing=0.5, mask=mask)
    assert limited[0, 7] == 0
    assert limited[0, 8] == 1
    np.testing.assert_array_equal(labels[0], np.eye(11, dtype=np.int32)[5])  # input unchanged


@settings(max_examples=60, deadline=None)
@given(label_images, st.floats(0, 3), st.floats(0.5, 4))
def test_ring_is_the_difference_of_two_expansions(labels, inner, width):
    outer = inner + width
    if not labels.any():
        with pytest.warns(ColocalizeWarning):
            ring = ring_mask(labels, inner=inner, outer=outer)
        assert not ring.any()
        return
    ring = ring_mask(labels, inner=inner, outer=outer)
    expected = np.where(
        expand_labels(labels, distance=inner) == 0, expand_labels(labels, distance=outer), 0
    )
    np.testing.assert_array_equal(ring, expected)
    assert not (ring.astype(bool) & labels.astype(bool)).any()  # never on an object


def test_ring_mask_rings_of_neighbours_do_not_overlap_and_follow_spacing():
    labels = np.zeros((21, 21), dtype=np.int32)
    labels[10, 5] = 1
    labels[10, 15] = 2
    ring = ring_mask(labels, inner=1, outer=6)
    assert ring[10, 9] == 1
    assert ring[10, 11] == 2
    assert ring[10, 10] in (1, 2)
    d = np.hypot(*np.mgrid[:21, :21] - np.array([10, 5])[:, None, None])
    near_1 = (d > 1) & (d <= 6) & (np.abs(np.mgrid[:21, :21][1] - 5) < 5)
    assert np.all(ring[near_1] == 1)
    aniso = ring_mask(labels, inner=0, outer=2, spacing=(2.0, 1.0))
    assert aniso[9, 5] == 1
    assert aniso[8, 5] == 0
    assert aniso[10, 3] == 1
    assert aniso[10, 2] == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"inner": 3, "outer": 2}, "inner < outer"), ({"inner": -1, "outer": 2}, "inner < outer")],
)
def test_ring_mask_bad_distances(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ring_mask(np.eye(4, dtype=int), **kwargs)


def test_labels_must_be_integer_and_non_negative():
    with pytest.raises(TypeError, match="integer label image"):
        ring_mask(np.full((4, 4), 0.5), outer=2)
    with pytest.raises(ValueError, match="negative"):
        expand_labels(-np.eye(4, dtype=int), distance=1)


@pytest.mark.parametrize("ndim", [2, 3])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_measure_objects_equals_regionprops(ndim, dtype):
    from skimage.measure import regionprops

    rng = np.random.default_rng(ndim)
    shape = (14, 18, 16)[:ndim] if ndim == 3 else (30, 26)
    labels = expand_labels(_sparse_labels(shape, 5, seed=3), distance=3)
    image = (rng.random((2, *shape)) * 200).astype(dtype)
    spacing = (2.0, 0.5, 0.25)[-ndim:]
    table = measure_objects(
        labels, image, spacing=spacing, channel_axis=0, channel_names=["a", "b"]
    )
    props = regionprops(
        labels, intensity_image=np.moveaxis(image, 0, -1).astype(float), spacing=spacing
    )
    assert table["label"].tolist() == [p.label for p in props]
    size = "volume" if ndim == 3 else "area"
    np.testing.assert_allclose(table[size], [p.area for p in props])
    axes = "zyx"[3 - ndim :]
    for k, ax in enumerate(axes):
        np.testing.assert_allclose(table[f"centroid_{ax}"], [p.centroid[k] for p in props])
        for c, name in enumerate("ab"):
            np.testing.assert_allclose(
                table[f"weighted_centroid_{ax}_{name}"],
                [p.centroid_weighted[k][c] for p in props],
            )
    for c, name in enumerate("ab"):
        np.testing.assert_allclose(table[f"mean_{name}"], [p.intensity_mean[c] for p in props])
        np.testing.assert_allclose(
            table[f"integrated_{name}"], [p.intensity_mean[c] * p.num_pixels for p in props]
        )
    r = table["equivalent_radius"]
    expected = np.cbrt(3 * table[size] / (4 * np.pi)) if ndim == 3 else np.sqrt(table[size] / np.pi)
    np.testing.assert_allclose(r, expected)


def test_measure_objects_takes_an_image_with_metadata_and_no_image():
    labels = np.zeros((6, 8), dtype=np.int32)
    labels[1:3, 1:4] = 4
    data = np.stack([np.ones((6, 8)), np.full((6, 8), 3.0)]).astype(np.uint16)
    img = colocalize.Image(
        data, axes="CYX", spacing=(1.0, 0.5, 0.5), unit="um", channel_names=("DAPI", "GFP")
    )
    table = measure_objects(labels, img)
    assert table.loc[0, "area"] == pytest.approx(6 * 0.25)
    assert table.loc[0, "mean_GFP"] == 3.0
    assert table.loc[0, "integrated_DAPI"] == 6.0
    geometry = measure_objects(labels)
    assert list(geometry.columns) == [
        "label",
        "area",
        "centroid_y",
        "centroid_x",
        "equivalent_radius",
    ]
    with pytest.warns(ColocalizeWarning, match="zero total intensity"):
        zero = measure_objects(labels, np.zeros((6, 8)))
    assert math.isnan(zero.loc[0, "weighted_centroid_y_image"])
    with pytest.raises(ValueError, match="shape"):
        measure_objects(labels, np.zeros((5, 8)))


def test_labels_feed_coefficient_table_and_coefficients():
    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[:60, :60]
    nuclei = np.zeros((60, 60))
    for cy, cx in ((15, 15), (15, 45), (45, 30)):
        nuclei = np.maximum(nuclei, 100.0 * (np.hypot(yy - cy, xx - cx) < 7))
    stain = nuclei + 10 + rng.uniform(0, 4, nuclei.shape)
    labels = colocalize.segment_nuclei(stain)
    cells = expand_labels(labels, distance=5)
    other = stain * 0.5 + rng.uniform(0, 4, stain.shape)
    table = coefficient_table(np.stack([stain, other]), channel_axis=0, labels=cells)
    assert len(table) == 3
    rings = ring_mask(labels, outer=4)
    whole = coefficients(stain, other, mask=rings > 0)
    inside = rings > 0
    expected = np.corrcoef(stain[inside], other[inside])[0, 1]
    assert whole.pearson == pytest.approx(expected, rel=1e-9)
    # a label image is a mask as it is (non-zero inside)
    by_labels = colocalize.cross_correlation(stain, other, mask=cells, confidence=False)
    by_bool = colocalize.cross_correlation(stain, other, mask=cells > 0, confidence=False)
    assert by_bool.profile.subtracted is not None
    np.testing.assert_array_equal(by_labels.profile.subtracted, by_bool.profile.subtracted)
    assert by_labels.mean == by_bool.mean


def test_match_labels_counts():
    truth = np.zeros((10, 10), dtype=np.int32)
    truth[0:4, 0:4] = 1
    truth[6:10, 6:10] = 2
    truth[0:3, 6:9] = 3
    pred = np.zeros_like(truth)
    pred[0:4, 0:3] = 7  # IoU 12/16 with 1
    pred[6:8, 6:10] = 9  # IoU 8/16 = 0.5, not > 0.5
    pred[5, 0:2] = 8  # a false positive
    m = match_labels(truth, pred)
    assert isinstance(m, LabelMatch)
    assert (m.n_true, m.n_pred, m.true_positives) == (3, 3, 1)
    assert m.precision == pytest.approx(1 / 3)
    assert m.recall == pytest.approx(1 / 3)
    assert m.f1 == pytest.approx(2 / 6)
    assert m.mean_iou == pytest.approx(0.75)
    loose = match_labels(truth, pred, threshold=0.4)
    assert loose.true_positives == 2
    assert loose.mean_iou == pytest.approx(0.625)
    empty = match_labels(np.zeros((3, 3), int), np.zeros((3, 3), int))
    assert math.isnan(empty.f1)
    assert math.isnan(empty.mean_iou)
    with pytest.raises(ValueError, match="shape"):
        match_labels(truth, pred[:5])
    with pytest.raises(ValueError, match="threshold"):
        match_labels(truth, pred, threshold=1.0)


@settings(max_examples=50, deadline=None)
@given(label_images, st.integers(0, 2**16))
def test_match_labels_symmetric_and_perfect_on_itself(labels, seed):
    relabelled = np.zeros_like(labels)
    ids = np.unique(labels)
    perm = np.random.default_rng(seed).permutation(np.arange(1, 50))[: ids.size]
    for k, v in enumerate(ids[ids > 0]):
        relabelled[labels == v] = perm[k]
    m = match_labels(labels, relabelled)
    n = int((ids > 0).sum())
    assert m.true_positives == n
    if n:
        assert m.f1 == 1.0
        assert m.mean_iou == 1.0
    other = np.roll(labels, 1, axis=1)
    a, b = match_labels(labels, other), match_labels(other, labels)
    assert a.true_positives == b.true_positives
    assert a.f1 == b.f1 or (math.isnan(a.f1) and math.isnan(b.f1))
    assert 0 <= a.true_positives <= min(a.n_true, a.n_pred)
