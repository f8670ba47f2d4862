"""segment_nuclei and segment_cells on synthetic images with a known answer."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import colocalize
from colocalize import ColocalizeWarning, match_labels, segment_cells, segment_nuclei

CENTRES_2D = [(20, 20), (20, 62), (58, 30), (60, 75), (40, 100), (48, 50)]


def _blobs(shape, centres, radius, spacing=None, *, bright=None, noise=3.0, seed=0):
    """Smooth bright blobs (radius in calibrated units) and their disk/ball ground truth."""
    spacing = (1.0,) * len(shape) if spacing is None else spacing
    grids = np.meshgrid(*[np.arange(n) * s for n, s in zip(shape, spacing)], indexing="ij")
    image = np.full(shape, 10.0)
    truth = np.zeros(shape, dtype=np.int32)
    bright = bright or [100.0] * len(centres)
    for k, (centre, b) in enumerate(zip(centres, bright), start=1):
        d2 = sum((g - c * s) ** 2 for g, c, s in zip(grids, centre, spacing))
        # touching nuclei do not add up: each pixel shows the brighter one
        image = np.maximum(image, 10.0 + b / (1.0 + np.exp((np.sqrt(d2) - radius) / 1.0)))
        truth[d2 <= radius**2] = k
    rng = np.random.default_rng(seed)
    image += rng.normal(0, noise, shape)
    return np.clip(image, 0, None), truth


def _as(image, dtype):
    if np.issubdtype(dtype, np.integer):
        return np.round(
            image * (1 if dtype == np.uint16 else 2) if dtype != np.uint8 else image
        ).astype(dtype)
    return image.astype(dtype)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
def test_2d_blobs_found_exactly_once(dtype):
    image, truth = _blobs((80, 120), CENTRES_2D, 8.0, bright=[100, 60, 140, 40, 90, 70])
    labels = segment_nuclei(_as(image, dtype))
    assert labels.dtype == np.int32
    assert labels.shape == image.shape
    m = match_labels(truth, labels)
    assert m.f1 == 1.0
    assert m.mean_iou > 0.8
    # labels are 1..n without gaps
    np.testing.assert_array_equal(np.unique(labels), np.arange(len(CENTRES_2D) + 1))


def test_touching_nuclei_are_split():
    # two blobs whose disks overlap: one connected foreground, two nuclei
    image, _ = _blobs((50, 70), [(25, 25), (25, 41)], 9.0, noise=1.0)
    labels = segment_nuclei(image)
    assert labels.max() == 2
    assert labels[25, 22] != labels[25, 44]
    assert labels[25, 22] > 0
    assert labels[25, 44] > 0


def test_dim_and_bright_nuclei_get_edges_at_the_same_relative_level():
    image, truth = _blobs((60, 90), [(30, 25), (30, 65)], 10.0, bright=[400.0, 40.0])
    labels = segment_nuclei(image, radius=10)
    sizes = np.bincount(labels.ravel())[1:]
    assert sizes.size == 2
    assert abs(sizes[0] - sizes[1]) / sizes.mean() < 0.1
    assert match_labels(truth, labels).mean_iou > 0.85


def test_radius_estimate_and_explicit_radius_agree():
    image, _truth = _blobs((80, 120), CENTRES_2D, 8.0)
    auto = segment_nuclei(image)
    given = segment_nuclei(image, radius=8.0)
    assert match_labels(auto, given).f1 == 1.0


def test_spacing_makes_lengths_calibrated():
    # the same image with 0.5 um pixels: radii in um are half the pixel radii
    image, _truth = _blobs((80, 120), CENTRES_2D, 8.0)
    px = segment_nuclei(image, radius=8, min_radius=5)
    um = segment_nuclei(image, spacing=0.5, radius=4, min_radius=2.5)
    np.testing.assert_array_equal(px, um)
    # min_radius removes everything smaller than asked (equivalent radius ~8 px = 4 um)
    with pytest.warns(ColocalizeWarning, match="size limits"):
        none = segment_nuclei(image, spacing=0.5, radius=4, min_radius=6)
    assert none.max() == 0
    with pytest.warns(ColocalizeWarning, match="size limits"):
        assert segment_nuclei(image, spacing=0.5, radius=4, max_radius=3).max() == 0
    kept = segment_nuclei(image, spacing=0.5, radius=4, max_radius=5)
    np.testing.assert_array_equal(kept, um)


@pytest.mark.parametrize("stack_mode", ["3d", "planes"])
@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
def test_3d_blobs_with_anisotropic_spacing(stack_mode, dtype):
    centres = [(6, 12, 12), (6, 12, 36), (7, 34, 22)]
    spacing = (2.0, 1.0, 1.0)  # z planes twice as far apart as pixels
    image, truth = _blobs((14, 46, 48), centres, 8.0, spacing=spacing)
    labels = segment_nuclei(_as(image, dtype), spacing=spacing, stack_mode=stack_mode)
    m = match_labels(truth, labels)
    assert m.f1 == 1.0, m
    assert m.mean_iou > 0.7


def test_planes_mode_is_one_label_per_nucleus_across_z():
    centres = [(8, 15, 15), (8, 15, 45)]
    image, _truth = _blobs((16, 30, 60), centres, 7.0)
    labels = segment_nuclei(image, stack_mode="planes")
    assert labels.max() == 2
    for k in (1, 2):
        planes = np.flatnonzero((labels == k).any(axis=(1, 2)))
        assert planes.size >= 9  # spans its depth, not one object per plane
    table = colocalize.measure_objects(labels, image)
    table = table.sort_values("weighted_centroid_x_image")
    np.testing.assert_allclose(table["weighted_centroid_z_image"], [8, 8], atol=0.3)
    np.testing.assert_allclose(table["weighted_centroid_x_image"], [15, 45], atol=0.3)


def test_projection_threshold_matches_the_projection_level():
    centres = [(5, 15, 15), (5, 15, 45)]
    image, _ = _blobs((10, 30, 60), centres, 7.0)
    labels = segment_nuclei(image, projection=True, radius=7)
    assert labels.max() == 2


def test_input_is_not_modified_and_skimage_is_lazy():
    image, _ = _blobs((40, 60), [(20, 20)], 8.0)
    before = image.copy()
    segment_nuclei(image)
    np.testing.assert_array_equal(image, before)
    # importing colocalize alone does not import scikit-image (checked in a fresh interpreter)
    import subprocess

    code = "import sys, colocalize; print('skimage' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_constant_and_empty_images_warn_and_return_zeros():
    with pytest.warns(ColocalizeWarning, match="constant"):
        labels = segment_nuclei(np.full((20, 20), 7, np.uint16))
    assert labels.shape == (20, 20)
    assert labels.max() == 0
    with pytest.warns(ColocalizeWarning, match="constant"):
        assert segment_cells(np.zeros((20, 20))).max() == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"radius": -1}, "radius must be a positive"),
        ({"min_radius": 0}, "min_radius must be a positive"),
        ({"edge_fraction": 1.5}, "edge_fraction must be in"),
        ({"stack_mode": "2d"}, "stack_mode must be"),
        ({"spacing": (1, 2, 3)}, "spacing must be"),
        ({"spacing": -1}, "spacing must be"),
        ({"smoothing": -2}, "smoothing must be"),
        ({"method": "Nope"}, "method must be one of"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, match):
    image, _ = _blobs((30, 30), [(15, 15)], 5.0)
    with pytest.raises(ValueError, match=match):
        segment_nuclei(image, **kwargs)


def test_bad_image_shapes():
    with pytest.raises(ValueError, match="one 2D"):
        segment_nuclei(np.zeros((2, 3, 10, 10)))
    with pytest.raises(ValueError, match="at least 2"):
        segment_nuclei(np.zeros(10))
    with pytest.raises(TypeError, match="real-valued"):
        segment_cells(np.zeros((5, 5), dtype=complex))


def _rods(shape=(60, 90), seed=1):
    """Rod-shaped bacteria (capsules) touching end to end and side by side."""
    yy, xx = np.mgrid[: shape[0], : shape[1]].astype(float)
    truth = np.zeros(shape, dtype=np.int32)
    rods = [((12, 8), (12, 34)), ((12, 44), (12, 70)), ((24, 10), (24, 40)), ((40, 20), (52, 40))]
    for k, (p, q) in enumerate(rods, start=1):
        p, q = np.asarray(p, float), np.asarray(q, float)
        d = q - p
        t = np.clip(((yy - p[0]) * d[0] + (xx - p[1]) * d[1]) / (d @ d), 0, 1)
        dist = np.hypot(yy - p[0] - t * d[0], xx - p[1] - t * d[1])
        truth[dist <= 4.0] = k
    image = np.where(truth > 0, 120.0, 10.0)
    from scipy import ndimage as ndi

    image = ndi.gaussian_filter(image, 1.0) + np.random.default_rng(seed).normal(0, 2, shape)
    return image, truth


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_segment_cells_separates_rods(dtype):
    image, truth = _rods()
    labels = segment_cells(_as(image, dtype), block_size=25, log_sigma=1.5, erosion=2)
    m = match_labels(truth, labels)
    assert m.true_positives == 4, m
    assert m.mean_iou > 0.6


def test_segment_cells_defaults_scale_with_the_estimated_width():
    image, truth = _rods()
    m = match_labels(truth, segment_cells(image))
    assert m.f1 == 1.0
    assert m.mean_iou > 0.9
    # twice the pixels per cell: the same cells, without changing any parameter
    from scipy import ndimage as ndi

    big = ndi.zoom(image, 2, order=1)
    m2 = match_labels(ndi.zoom(truth, 2, order=0), segment_cells(big))
    assert m2.f1 == 1.0
    assert m2.mean_iou > 0.9


def test_segment_cells_3d_and_spacing():
    image, truth = _rods((40, 70))
    stack = np.stack([image * 0.2] + [image] * 6 + [image * 0.2])
    labels = segment_cells(
        stack, spacing=(1.0, 0.5, 0.5), block_size=12.5, log_sigma=0.75, erosion=1.0
    )
    assert labels.shape == stack.shape
    flat = labels[4]
    assert match_labels(truth, flat).true_positives >= 3


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"block_size": 0}, "block_size"),
        ({"width": -2}, "width"),
        ({"log_sigma": -1}, "log_sigma"),
        ({"erosion": -1}, "erosion"),
        ({"max_radius": 0}, "max_radius"),
    ],
)
def test_segment_cells_bad_arguments(kwargs, match):
    image, _ = _rods()
    with pytest.raises(ValueError, match=match):
        segment_cells(image, **kwargs)


@settings(max_examples=15, deadline=None)
@given(
    scale=st.floats(0.01, 100.0),
    offset=st.floats(0.0, 1000.0),
    flip=st.booleans(),
)
def test_affine_intensity_and_mirror_invariance(scale, offset, flip):
    """Thresholds, smoothing, LoG seeds and the relative edge level all follow the image."""
    image, _ = _blobs((60, 90), [(20, 20), (20, 60), (42, 40)], 7.0, bright=[100, 50, 80])
    base = segment_nuclei(image)
    changed = image * scale + offset
    if flip:
        changed = changed[:, ::-1]
    other = segment_nuclei(changed)
    if flip:
        other = other[:, ::-1]
    m = match_labels(base, other)
    assert m.f1 == 1.0
    assert m.mean_iou > 0.99
