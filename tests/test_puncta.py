"""Object-based colocalization (colocalize._objects._puncta, ``colocalize objects``): known answers
on synthetic discs and spheres, JACoP's numbers on a synthetic stack, symmetries, the randomization
test, bad input and the command line."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import colocalize
from _faults import assert_clean_error, inputs_unchanged, run_cli
from colocalize import ColocalizeWarning, label_puncta, object_colocalization


def _ellipsoid(shape, centre, radii):
    grid = np.indices(shape)
    return sum(((g - c) / r) ** 2 for g, c, r in zip(grid, centre, radii)) <= 1


def _assert_objects_equal(a, b):
    """Field-by-field equality of two ChannelObjects (NaN equal to NaN)."""
    for field in a.__dataclass_fields__:
        if field == "test":
            continue
        np.testing.assert_equal(getattr(a, field), getattr(b, field), err_msg=field)


# ----------------------------------------------------------------------------- objects


def test_label_puncta_is_8_connected_in_2d():
    image = np.zeros((6, 6), np.uint8)
    image[1, 1] = image[2, 2] = 100  # corner contact: one object
    image[4, 4] = 100
    labels = label_puncta(image, threshold=50)
    assert labels.dtype == np.int32
    assert labels[1, 1] == labels[2, 2] == 1
    assert labels[4, 4] == 2
    assert labels.max() == 2


def test_label_puncta_is_26_connected_in_3d_and_filters_calibrated_sizes():
    image = np.zeros((4, 6, 6), np.uint16)
    image[0, 0, 0] = image[1, 1, 1] = 500  # contact by a corner only: one object of 2 voxels
    image[3, 4:6, 4:6] = 400  # 4 voxels
    spacing = (2.0, 0.5, 0.5)  # voxel volume 0.5
    labels = label_puncta(image, threshold=100, spacing=spacing)
    assert labels[0, 0, 0] == labels[1, 1, 1] == 1
    assert labels.max() == 2
    # 2 voxels = 1.0, 4 voxels = 2.0 (calibrated volumes)
    kept = label_puncta(image, threshold=100, spacing=spacing, min_size=1.5)
    assert kept[0, 0, 0] == 0
    assert kept[3, 4, 4] == 1
    assert kept.max() == 1
    kept = label_puncta(image, threshold=100, spacing=spacing, max_size=1.5)
    assert kept[0, 0, 0] == 1
    assert kept[3, 4, 4] == 0


@pytest.mark.parametrize(
    ("axes", "spacing"),
    [("YX", (0.2, 0.1)), ("ZYX", (0.5, 0.2, 0.1)), ("CZYX", (1, 0.5, 0.2, 0.1))],
)
def test_an_image_gives_its_pixels_and_its_spacing(axes, spacing):
    # a colocalize.Image failed with "dtype object"; its calibration is the default spacing
    shape = (1, 6, 30, 30)[4 - len(axes) :]
    space = shape[-3:] if "Z" in axes else shape[-2:]
    a = np.random.default_rng(4).integers(0, 30, space).astype(np.uint16)
    for centre, radius in (((3, 8, 8), 3), ((2, 20, 10), 2), ((3, 12, 24), 1)):
        a[_ellipsoid(space, centre[-len(space) :], (radius,) * len(space))] += 200
    b = np.roll(a, 1, axis=-1)
    data0, data1 = a.reshape(shape), b.reshape(shape)
    image0 = colocalize.Image(data0, axes=axes, spacing=spacing, unit="um")
    image1 = colocalize.Image(data1, axes=axes, spacing=spacing, unit="um")
    spatial = tuple(s for letter, s in zip(axes, spacing) if letter in "ZYX")
    expected = object_colocalization(a, b, thresholds=100, spacing=spatial, max_distance=0.3)
    for pair in ((image0, image1), (image0, b), (a, image1)):
        res = object_colocalization(*pair, thresholds=100, max_distance=0.3)
        assert res.spacing == spatial
        _assert_objects_equal(res.objects0, expected.objects0)
        _assert_objects_equal(res.objects1, expected.objects1)
    # spacing= given wins over the Image's
    ones = object_colocalization(image0, image1, thresholds=100, spacing=1.0)
    _assert_objects_equal(ones.objects0, object_colocalization(a, b, thresholds=100).objects0)
    # label_puncta: the Image's spacing calibrates the size limits
    voxel = math.prod(spatial)
    np.testing.assert_array_equal(
        label_puncta(image0, threshold=100, min_size=10 * voxel),
        label_puncta(a, threshold=100, spacing=spatial, min_size=10 * voxel),
    )
    assert not np.array_equal(
        label_puncta(image0, threshold=100, min_size=10 * voxel),
        label_puncta(a, threshold=100, min_size=10 * voxel),
    )


def test_an_image_with_two_channels_is_refused_naming_the_argument():
    two = colocalize.Image(np.zeros((2, 8, 8), np.uint8), axes="CYX")
    with pytest.raises(ValueError, match="image1 has 2 channels"):
        object_colocalization(np.zeros((8, 8), np.uint8), two)
    with pytest.raises(ValueError, match="image has 2 channels"):
        label_puncta(two)


def test_threshold_method_name_is_imagej_threshold():
    rng = np.random.default_rng(3)
    image = rng.integers(0, 30, (40, 40)).astype(np.uint8)
    image[_ellipsoid(image.shape, (12, 12), (4, 4))] = 200
    image[_ellipsoid(image.shape, (28, 30), (3, 3))] = 150
    res = object_colocalization(image, image, thresholds="otsu")
    expected = colocalize.threshold(image, "Otsu")
    assert res.objects0.threshold == expected
    assert res.objects0.n_objects == 2
    assert res.objects0.n_pixels == tuple(
        int(n) for n in np.bincount(label_puncta(image, threshold=expected).ravel())[1:]
    )


# ---------------------------------------------------------------- known answers, 2D and 3D


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_discs_known_answers_2d_anisotropic(dtype):
    shape = (60, 80)
    spacing = (0.3, 0.1)  # (y, x)
    a0 = _ellipsoid(shape, (15, 20), (5, 5))
    b0 = _ellipsoid(shape, (15, 24), (5, 5))  # 4 px right: overlaps a0
    a1 = _ellipsoid(shape, (45, 60), (4, 4))
    b1 = _ellipsoid(shape, (45, 69), (3, 3))  # 9 px right: no overlap
    image0 = np.where(a0 | a1, 120, 0).astype(dtype)
    image1 = np.where(b0 | b1, 90, 0).astype(dtype)
    res = object_colocalization(
        image0, image1, thresholds=(50, 40), spacing=spacing, max_distance=0.5
    )
    o0, o1 = res.objects0, res.objects1
    assert o0.labels == (1, 2)
    assert o1.labels == (1, 2)
    assert o0.n_pixels == (int(a0.sum()), int(a1.sum()))
    assert o0.size == pytest.approx([a0.sum() * 0.03, a1.sum() * 0.03])
    # symmetric uniform discs: both centres are the disc centres, calibrated
    np.testing.assert_allclose(o0.centre_of_mass, [(4.5, 2.0), (13.5, 6.0)])
    np.testing.assert_allclose(o0.centroid, [(4.5, 2.0), (13.5, 6.0)])
    np.testing.assert_allclose(o1.centroid, [(4.5, 2.4), (13.5, 6.9)])
    assert o0.overlap_fraction == pytest.approx([(a0 & b0).sum() / a0.sum(), 0.0])
    assert o1.overlap_fraction == pytest.approx([(a0 & b0).sum() / b0.sum(), 0.0])
    assert o0.partner == (1, 0)
    assert o1.partner == (1, 0)
    assert o0.nearest_distance == pytest.approx([0.4, 0.9])
    assert o0.nearest_label == (1, 2)
    assert o0.centre_in_other == (True, False)
    assert o0.contains_other_centre == (True, False)
    assert o0.fraction_overlapping == 0.5
    assert o0.fraction_near == 0.5
    assert o0.mean_distance == pytest.approx(0.65)
    assert o0.median_distance == pytest.approx(0.65)
    assert o0.threshold == 50.0
    assert o1.threshold == 40.0
    assert isinstance(o0.mean_distance, float)
    assert isinstance(o0.fraction_near, float)
    # min_overlap is strict: the overlap fraction itself does not count
    strict = object_colocalization(
        image0, image1, thresholds=(50, 40), min_overlap=o0.overlap_fraction[0]
    )
    assert strict.objects0.fraction_overlapping == 0.0


def test_spheres_known_answers_3d_anisotropic():
    shape = (16, 40, 40)
    spacing = (0.8, 0.2, 0.2)  # (z, y, x)
    a = _ellipsoid(shape, (5, 20, 20), (2, 5, 5))
    b = _ellipsoid(shape, (8, 20, 23), (2, 5, 5))  # 3 planes up, 3 px right
    res = object_colocalization(a * 100, b * 100, thresholds=50, spacing=spacing)
    d = math.hypot(3 * 0.8, 3 * 0.2)
    assert res.objects0.nearest_distance == pytest.approx([d])
    assert res.objects1.nearest_distance == pytest.approx([d])
    assert res.objects0.size == pytest.approx([a.sum() * 0.8 * 0.04])
    assert res.objects0.overlap_fraction == pytest.approx([(a & b).sum() / a.sum()])
    np.testing.assert_allclose(res.objects0.centroid, [(4.0, 4.0, 4.0)])
    # the centre (5, 20, 20) is not in b (3 planes away, b's half-height is 2)
    assert res.objects0.centre_in_other == (False,)
    assert res.objects0.partner == (1,)


def test_centre_of_mass_is_intensity_weighted_and_selects_the_centre():
    image0 = np.zeros((5, 12), np.uint16)
    image0[2, 2] = 100
    image0[2, 3] = 300  # centre of mass x = 2.75, centroid x = 2.5
    image1 = np.zeros((5, 12), np.uint16)
    image1[2, 5] = 100
    mass = object_colocalization(image0, image1, thresholds=0, spacing=2.0)
    np.testing.assert_allclose(mass.objects0.centre_of_mass, [(4.0, 5.5)])
    np.testing.assert_allclose(mass.objects0.centroid, [(4.0, 5.0)])
    assert mass.objects0.nearest_distance == pytest.approx([4.5])
    geometric = object_colocalization(image0, image1, thresholds=0, spacing=2.0, centre="geometric")
    assert geometric.objects0.nearest_distance == pytest.approx([5.0])
    # centre of mass x = 2.75 lies in pixel 3, centroid x = 2.5 in pixel 3 (half up)
    labels = np.zeros((5, 12), np.int32)
    labels[2, 3] = 1
    image1[2, 3] = 100
    for centre in ("mass", "geometric"):
        res = object_colocalization(image0, image1, labels1=labels, thresholds=0, centre=centre)
        assert res.objects0.centre_in_other == (True,)
        assert res.objects1.contains_other_centre == (True,)


def test_partner_is_the_largest_overlap_and_the_smallest_label_on_ties():
    labels0 = np.zeros((6, 12), np.int32)
    labels0[1:5, 1:11] = 1
    labels1 = np.zeros((6, 12), np.int32)
    labels1[1:3, 1:3] = 9  # 4 px
    labels1[3:5, 4:8] = 4  # 8 px: the partner of object 1
    labels1[1:3, 8:10] = 2
    labels1[3:5, 9:11] = 3  # 2 and 3 tie with 4 px each
    image = np.ones((6, 12))
    res = object_colocalization(image, image, labels0=labels0, labels1=labels1)
    assert res.objects0.partner == (4,)
    assert res.objects0.overlap_fraction == pytest.approx([20 / 40])
    assert res.objects1.labels == (2, 3, 4, 9)
    assert res.objects1.partner == (1, 1, 1, 1)
    labels1[3:5, 4:8] = 0
    res = object_colocalization(image, image, labels0=labels0, labels1=labels1)
    assert res.objects0.partner == (2,)


def test_labels_keep_their_values_and_are_cut_by_the_mask_2d_mask_on_3d():
    shape = (3, 10, 10)
    labels0 = np.zeros(shape, np.int64)
    labels0[:, 2:5, 2:5] = 42
    labels0[:, 6:9, 6:9] = 7
    mask = np.zeros((10, 10), bool)
    mask[:, :8] = True  # cuts object 7 to 3 x 3 x 2
    image = np.full(shape, 10, np.uint8)
    res = object_colocalization(image, image, labels0=labels0, labels1=labels0, mask=mask)
    assert res.objects0.labels == (7, 42)
    assert res.objects0.n_pixels == (18, 27)
    assert res.objects0.overlap_fraction == (1.0, 1.0)
    assert res.objects0.partner == (7, 42)
    assert res.objects0.nearest_distance == (0.0, 0.0)
    assert math.isnan(res.objects0.threshold)


def test_inputs_are_never_modified():
    rng = np.random.default_rng(0)
    image0 = rng.integers(0, 255, (30, 30)).astype(np.uint8)
    image1 = rng.integers(0, 255, (30, 30)).astype(np.uint8)
    labels = label_puncta(image1, threshold=230)
    mask = np.ones((30, 30), bool)
    arrays = (image0, image1, labels, mask)
    copies = [a.copy() for a in arrays]
    for a in arrays:
        a.setflags(write=False)
    object_colocalization(
        image0,
        image1,
        labels1=labels,
        mask=mask,
        thresholds=240,
        min_size=2,
        randomizations=3,
        rng=1,
    )
    for a, c in zip(arrays, copies):
        np.testing.assert_array_equal(a, c)


# ----------------------------------------------------------------------------- degenerate


def test_channel_without_objects_gives_nan_and_a_warning():
    image0 = np.zeros((20, 20), np.uint8)
    image0[5:8, 5:8] = 100
    image1 = np.zeros((20, 20), np.uint8)
    with pytest.warns(ColocalizeWarning, match="channel 1 has no objects"):
        res = object_colocalization(
            image0, image1, thresholds=50, max_distance=3, randomizations=5, rng=0
        )
    o0, o1 = res.objects0, res.objects1
    assert o1.n_objects == 0
    assert o1.labels == ()
    assert math.isnan(o1.fraction_overlapping)
    assert math.isnan(o1.mean_distance)
    assert math.isnan(o1.fraction_near)
    assert o0.overlap_fraction == (0.0,)
    assert o0.partner == (0,)
    assert math.isnan(o0.nearest_distance[0])
    assert o0.nearest_label == (0,)
    assert o0.fraction_overlapping == 0.0
    assert o0.fraction_near == 0.0
    assert math.isnan(o0.mean_distance)
    assert math.isnan(o0.test.p_distance)
    assert math.isnan(o1.test.p_centre)
    table = res.object_table()
    assert list(table["channel"]) == [0]
    summary = res.summary_table()
    assert summary.loc[0, "n_objects1"] == 0
    assert math.isnan(summary.loc[0, "mean_distance0"])


@pytest.mark.parametrize("thresholds", ["Otsu", 50])
def test_empty_mask_gives_no_objects_nan_and_one_warning(thresholds):
    # it raised "mask has no pixel inside" deep in a batch; an empty mask is degenerate but legal
    image = np.zeros((20, 20), np.uint8)
    image[5:8, 5:8] = 100
    empty = np.zeros(image.shape, bool)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ColocalizeWarning)
        res = object_colocalization(
            image, image, thresholds=thresholds, mask=empty, max_distance=3, randomizations=5
        )
        labels = label_puncta(image, threshold=thresholds, mask=empty)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2, messages  # one each, not one per channel or threshold
    assert "object_colocalization: the mask is empty" in messages[0]
    assert "label_puncta: the mask is empty" in messages[1]
    assert not labels.any()
    for objects in (res.objects0, res.objects1):
        assert objects.n_objects == 0
        assert objects.labels == ()
        for field in (
            "fraction_overlapping",
            "fraction_near",
            "fraction_centre_in_other",
            "fraction_containing_other_centre",
            "mean_distance",
            "median_distance",
        ):
            assert math.isnan(getattr(objects, field)), field
        assert math.isnan(objects.test.p_distance)
        assert math.isnan(objects.test.p_centre)
        if thresholds == "Otsu":
            assert math.isnan(objects.threshold)  # no pixel to compute it from
        else:
            assert objects.threshold == 50.0
    assert res.object_table().empty
    assert res.summary_table().loc[0, "n_objects0"] == 0


def test_object_without_intensity_has_a_nan_centre_of_mass():
    image = np.zeros((10, 10), np.uint8)
    image[1:3, 1:3] = 50
    labels = np.zeros((10, 10), np.int32)
    labels[1:3, 1:3] = 1
    labels[6:8, 6:8] = 2  # zero intensity
    with pytest.warns(ColocalizeWarning, match="zero total intensity"):
        res = object_colocalization(image, image, labels0=labels, thresholds=10)
    assert all(math.isnan(v) for v in res.objects0.centre_of_mass[1])
    assert math.isnan(res.objects0.nearest_distance[1])
    assert res.objects0.centre_in_other == (True, False)
    with pytest.warns(ColocalizeWarning, match="zero total intensity"):
        geometric = object_colocalization(
            image, image, labels0=labels, thresholds=10, centre="geometric"
        )
    assert geometric.objects0.nearest_distance[1] == pytest.approx(math.hypot(5, 5))


# ----------------------------------------------------------------------------- bad input

_IMG = np.zeros((8, 8), np.uint8)


@pytest.mark.parametrize(
    ("kwargs", "mentions"),
    [
        ({"image1": np.zeros((8, 9))}, ["image1", "(8, 9)"]),
        ({"image0": -np.ones((8, 8))}, ["image0", "negative"]),
        ({"image0": np.zeros((2, 2, 8, 8))}, ["image0", "(2, 2, 8, 8)"]),
        ({"thresholds": "Otsux"}, ["thresholds", "Otsux", "Otsu"]),
        ({"thresholds": math.nan}, ["thresholds", "nan"]),
        ({"thresholds": (1, 2, 3)}, ["thresholds", "pair"]),
        ({"thresholds": (1, "nope")}, ["thresholds[1]", "nope"]),
        ({"labels0": np.zeros((8, 7), np.int32)}, ["labels0", "(8, 7)"]),
        ({"labels1": -np.ones((8, 8), np.int32)}, ["labels1", "negative"]),
        ({"min_size": -1}, ["min_size", "-1"]),
        ({"min_size": 5, "max_size": 2}, ["max_size", "2"]),
        ({"min_overlap": 1.0}, ["min_overlap", "1.0"]),
        ({"max_distance": -0.5}, ["max_distance", "-0.5"]),
        ({"centre": "middle"}, ["centre", "middle", "geometric"]),
        ({"randomizations": -2}, ["randomizations", "-2"]),
        ({"randomizations": 2.5}, ["randomizations", "2.5"]),
        ({"randomize": "pixels"}, ["randomize", "pixels", "shape"]),
        ({"spacing": (1.0, 0.0)}, ["spacing"]),
        ({"mask": np.ones((3, 3), bool)}, ["mask", "(3, 3)"]),
    ],
)
def test_bad_input_names_argument_and_value(kwargs, mentions):
    args = {"image0": _IMG, "image1": _IMG}
    args.update(kwargs)
    image0, image1 = args.pop("image0"), args.pop("image1")
    with pytest.raises(ValueError, match=r"\w") as info:
        object_colocalization(image0, image1, **args)
    for text in mentions:
        assert text in str(info.value)


# ----------------------------------------------------------------------------- JACoP

# JACoP v2.1.4 (fabricecordelieres/IJ-Plugin_JACoP @ 291f24ce97afc7547e9cdb3aadc7c64ab9d62aac),
# its ImageColocalizer.distBetweenCentres and coincidenceCentreParticle compiled against
# ImageJ 1.53t and run headless on _jacop_scene() (8-bit ZYX stacks, calibration x = y = 0.2,
# z = 0.5; threshold 50 on both images, i.e. intensity >= 50; particle size 5..100000 voxels;
# limXY = limZ = 0.5), once with (A, B) = (channel 0, channel 1) and once swapped.
# (channel, centre (z, y, x) in voxels, radii (z, y, x) in voxels, peak, x gradient per voxel)
_JACOP_ITEMS = [
    (0, (3, 8, 8), (1.6, 3, 3), 200, 12),
    (1, (3, 8, 11), (1.6, 3, 3), 150, 0),
    (0, (8, 20, 30), (1.6, 2.5, 2.5), 180, 0),
    (1, (8, 20, 30), (1.2, 1.5, 1.5), 160, -15),
    (1, (9, 21, 33), (0.8, 1.2, 1.2), 140, 0),
    (0, (5, 32, 10), (1.6, 3, 3), 220, -10),
    (1, (5, 30, 40), (1.6, 2.5, 2.5), 120, 0),
    (0, (9, 33, 40), (0.6, 0.6, 0.6), 250, 0),
    (0, (2, 30, 40), (0.8, 1.5, 1.5), 90, 0),
    (1, (5, 20, 10), (1.6, 4, 4), 100, 5),
    (0, (5, 20, 13), (0.8, 1.2, 1.2), 230, 0),
    (0, (10, 5, 40), (1.6, 1.2, 0.9), 200, 0),
    (1, (10, 5, 42), (1.6, 1.2, 0.9), 200, 0),
]
_JACOP_SIZES = ([71, 9, 71, 5, 39, 5], [71, 107, 39, 16, 5])
# centres of mass as JACoP prints them: (x, y, z) with z counted from 1
_JACOP_COM = (
    [
        (8.114929577464789, 8, 4),
        (40, 30, 3),
        (9.912932138284251, 32, 6),
        (13, 20, 6),
        (30, 20, 9),
        (40, 5, 11),
    ],
    [
        (11, 8, 4),
        (10.153271028037382, 20, 6),
        (40, 30, 6),
        (30.817073170731707, 20.284552845528456, 9.284552845528456),
        (42, 5, 11),
    ],
)
_JACOP_CENTROID_B4 = (30.9375, 20.3125, 9.3125)
# "Image A: k centre(s) colocalizing out of n" / "Image B: ...", the same for centres of mass
# and geometrical centres: distance-based (A, B); coincidence with (A, B) = (0, 1) and swapped.
_JACOP_DISTANCE = (2, 2)
_JACOP_COINCIDENCE = (3, 3)
_JACOP_COINCIDENCE_SWAPPED = (2, 2)


def _jacop_scene():
    shape = (12, 40, 48)
    grid = np.indices(shape)
    out = [np.zeros(shape, np.uint8), np.zeros(shape, np.uint8)]
    for channel, centre, radii, peak, gradient in _JACOP_ITEMS:
        inside = _ellipsoid(shape, centre, radii)
        values = np.clip(peak + gradient * (grid[2] - centre[2]), 1, 255)
        out[channel][inside] = values[inside].astype(np.uint8)
    return out


@pytest.mark.parametrize("centre", ["mass", "geometric"])
def test_matches_jacop_object_based_colocalization(centre):
    a, b = _jacop_scene()
    spacing = np.array([0.5, 0.2, 0.2])
    res = object_colocalization(
        a,
        b,
        thresholds=49,
        spacing=spacing,
        min_size=4.5 * 0.02,
        max_distance=0.5,
        centre=centre,
    )
    for objects, sizes, com in zip((res.objects0, res.objects1), _JACOP_SIZES, _JACOP_COM):
        assert list(objects.n_pixels) == sizes
        jacop = np.array(com, float)[:, ::-1] - [1, 0, 0]  # to (z, y, x) from 0
        np.testing.assert_allclose(np.array(objects.centre_of_mass) / spacing, jacop, rtol=1e-12)
    np.testing.assert_allclose(
        np.array(res.objects1.centroid[3]) / spacing,
        np.array(_JACOP_CENTROID_B4)[::-1] - [1, 0, 0],
        rtol=1e-12,
    )
    near = (round(res.objects0.fraction_near * 6), round(res.objects1.fraction_near * 5))
    assert near == _JACOP_DISTANCE
    assert (sum(res.objects0.centre_in_other), sum(res.objects1.contains_other_centre)) == (
        _JACOP_COINCIDENCE
    )
    assert (sum(res.objects1.centre_in_other), sum(res.objects0.contains_other_centre)) == (
        _JACOP_COINCIDENCE_SWAPPED
    )


def test_centre_pixel_is_rounded_where_jacop_truncates():
    # A: pixels x = 3 (100) and x = 4 (150): centre of mass x = 3.6, centroid 3.5; B: pixel x = 4.
    # JACoP (same build as above, threshold 50, sizes 1..100000) reports "0 centre(s)
    # colocalizing out of 1" for both centre kinds: it tests pixel (int) 3.6 = 3. The centre
    # lies in pixel 4's area, so we count it (a documented difference).
    a = np.zeros((8, 10), np.uint8)
    a[3, 3], a[3, 4] = 100, 150
    b = np.zeros((8, 10), np.uint8)
    b[3, 4] = 200
    for centre in ("mass", "geometric"):
        res = object_colocalization(a, b, thresholds=49, centre=centre)
        assert res.objects0.centre_in_other == (True,)
        assert res.objects1.contains_other_centre == (True,)
    # B at x = 3 instead: JACoP again reports 0 (3.6 is outside B's bounding box [3, 3]), and so
    # do we (the centre is not in pixel 3's area).
    b[3, 4], b[3, 3] = 0, 200
    res = object_colocalization(a, b, thresholds=49)
    assert res.objects0.centre_in_other == (False,)


# ----------------------------------------------------------------------------- properties


@st.composite
def _layouts(draw):
    shape = (24, 28)
    images = []
    for _ in range(2):
        image = np.zeros(shape, np.uint16)
        for _ in range(draw(st.integers(0, 3))):
            cy, cx = draw(st.integers(0, 23)), draw(st.integers(0, 27))
            r = draw(st.floats(0.5, 4.0))
            image[_ellipsoid(shape, (cy, cx), (r, r))] = draw(st.integers(1, 1000))
        images.append(image)
    spacing = (draw(st.floats(0.1, 3.0)), draw(st.floats(0.1, 3.0)))
    return images[0], images[1], spacing


def _quiet(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ColocalizeWarning)
        return object_colocalization(*args, **kwargs)


@settings(max_examples=40)
@given(layout=_layouts(), centre=st.sampled_from(["mass", "geometric"]))
def test_swapping_channels_swaps_the_results(layout, centre):
    a, b, spacing = layout
    forward = _quiet(a, b, thresholds=0, spacing=spacing, centre=centre, max_distance=2.0)
    backward = _quiet(b, a, thresholds=0, spacing=spacing, centre=centre, max_distance=2.0)
    _assert_objects_equal(forward.objects0, backward.objects1)
    _assert_objects_equal(forward.objects1, backward.objects0)


@settings(max_examples=40)
@given(
    layout=_layouts(),
    shift=st.tuples(st.integers(0, 9), st.integers(0, 9)),
    centre=st.sampled_from(["mass", "geometric"]),
)
def test_translation_moves_centres_and_keeps_everything_else(layout, shift, centre):
    a, b, spacing = layout
    canvas = (34, 38)
    moved = []
    for image in (a, b):
        out = np.zeros(canvas, image.dtype)
        out[shift[0] : shift[0] + 24, shift[1] : shift[1] + 28] = image
        moved.append(out)
    before = _quiet(a, b, thresholds=0, spacing=spacing, centre=centre)
    after = _quiet(*moved, thresholds=0, spacing=spacing, centre=centre)
    offset = np.multiply(shift, spacing)
    for x, y in ((before.objects0, after.objects0), (before.objects1, after.objects1)):
        for field in (
            "labels",
            "n_pixels",
            "overlap_fraction",
            "partner",
            "centre_in_other",
            "contains_other_centre",
            "n_objects",
            "fraction_overlapping",
        ):
            np.testing.assert_equal(getattr(y, field), getattr(x, field), err_msg=field)
        np.testing.assert_allclose(y.size, x.size, rtol=1e-12)
        np.testing.assert_allclose(y.nearest_distance, x.nearest_distance, rtol=1e-9, atol=1e-9)
        for field in ("centre_of_mass", "centroid"):
            np.testing.assert_allclose(
                np.reshape(getattr(y, field), (-1, 2)),
                np.reshape(getattr(x, field), (-1, 2)) + offset,
                rtol=1e-12,
                atol=1e-9,
            )


# ----------------------------------------------------------------------------- randomization


def _random_discs(rng, shape, n, radius, avoid=None):
    """Centres of n discs fully inside the image, at least 3 radii apart."""
    centres = []
    while len(centres) < n:
        c = rng.uniform(radius + 1, np.array(shape) - radius - 2)
        if all(np.hypot(*(c - d)) > 3 * radius for d in centres):
            centres.append(c)
    return np.array(centres)


def _paint(shape, centres, radius, value):
    image = np.zeros(shape, np.uint8)
    for c in centres:
        image[_ellipsoid(shape, c, (radius, radius))] = value
    return image


@pytest.mark.parametrize("randomize", ["shape", "centre"])
def test_randomization_test_clustered_vs_independent(randomize):
    shape = (96, 96)
    rng = np.random.default_rng(7)
    centres_a = _random_discs(rng, shape, 12, 2.5)
    a = _paint(shape, centres_a, 2.5, 200)
    clustered = _paint(shape, centres_a + np.array([0, 1.5]), 2.5, 150)
    independent = _paint(shape, _random_discs(rng, shape, 12, 2.5), 2.5, 150)
    mask = _ellipsoid(shape, (48, 48), (60, 60))  # the whole image but its corners
    n = 99
    close = object_colocalization(
        a, clustered, thresholds=100, mask=mask, randomizations=n, randomize=randomize, rng=0
    )
    far = object_colocalization(
        a, independent, thresholds=100, mask=mask, randomizations=n, randomize=randomize, rng=0
    )
    for test in (close.objects0.test, close.objects1.test):
        assert test.p_distance == pytest.approx(1 / (n + 1))
        assert test.p_centre == pytest.approx(1 / (n + 1))
        assert test.observed_mean_distance < test.random_mean_distance
    for test in (far.objects0.test, far.objects1.test):
        assert test.p_distance > 0.1
        assert test.n_randomizations == n
        assert test.randomize == randomize
        # the (k + 1) / (n + 1) convention, one-sided
        k = np.count_nonzero(np.array(test.random_mean_distances) <= test.observed_mean_distance)
        assert test.p_distance == (k + 1) / (n + 1)
        k = np.count_nonzero(
            np.array(test.random_centre_fractions) >= test.observed_centre_fraction
        )
        assert test.p_centre == (k + 1) / (n + 1)
        assert len(test.random_mean_distances) == n
    # the same seed gives the same test
    again = object_colocalization(
        a, independent, thresholds=100, mask=mask, randomizations=n, randomize=randomize, rng=0
    )
    assert again.objects0.test == far.objects0.test


def test_random_shapes_stay_inside_the_mask():
    shape = (40, 40)
    a = np.zeros(shape, np.uint8)
    a[5:8, 5:8] = 100
    b = np.zeros(shape, np.uint8)
    b[30:33, 30:33] = 100
    mask = np.zeros(shape, bool)
    mask[2:12, 2:12] = True
    mask[28:36, 28:36] = True
    # only b's 3 x 3 square moves inside its own 8 x 8 region or a's 10 x 10 one: a placement
    # in a's region puts b's centre at most 4.2 px from a's centre, never farther than 8 px
    res = object_colocalization(a, b, thresholds=50, mask=mask, randomizations=50, rng=2)
    distances = np.array(res.objects1.test.random_mean_distances)
    corner = np.hypot(11 - 6, 11 - 6)
    assert ((distances <= corner + 1e-9) | (distances >= np.hypot(22, 22) - np.hypot(5, 5))).all()


def test_shape_that_finds_no_place_gives_nan_and_a_warning():
    # The mask is a 4 x 4 square, filled by object 1, and one more pixel, holding object 2.
    # Once object 2 is placed inside the square (16 of its 17 places), object 1 fits nowhere.
    shape = (12, 12)
    labels = np.zeros(shape, np.int32)
    labels[1:5, 1:5] = 1
    labels[9, 9] = 2
    mask = labels > 0
    image = np.full(shape, 10, np.uint8)
    with pytest.warns(ColocalizeWarning, match="no free place"):
        res = object_colocalization(
            image, image, labels0=labels, labels1=labels, mask=mask, randomizations=20, rng=0
        )
    assert math.isnan(res.objects0.test.p_distance)
    assert math.isnan(res.objects0.test.p_centre)
    centre = object_colocalization(
        image,
        image,
        labels0=labels,
        labels1=labels,
        mask=mask,
        randomizations=20,
        rng=0,
        randomize="centre",
    )
    assert centre.objects0.test.p_centre <= 1.0


# ----------------------------------------------------------------------------- tables


def test_tables_one_row_per_object_and_per_image():
    a, b = _jacop_scene()
    res = object_colocalization(
        a,
        b,
        thresholds=49,
        spacing=(0.5, 0.2, 0.2),
        max_distance=0.5,
        randomizations=9,
        randomize="centre",
        rng=3,
    )
    objects = res.object_table()
    assert isinstance(objects, pd.DataFrame)
    assert len(objects) == res.objects0.n_objects + res.objects1.n_objects
    assert list(objects.columns[:4]) == ["channel", "label", "n_pixels", "size"]
    assert {"com_z", "com_y", "com_x", "centroid_z", "near", "overlapping"} <= set(objects)
    ch1 = objects[objects["channel"] == 1]
    np.testing.assert_allclose(ch1["nearest_distance"], res.objects1.nearest_distance)
    assert list(ch1["near"]) == [d <= 0.5 for d in res.objects1.nearest_distance]
    summary = res.summary_table()
    assert len(summary) == 1
    assert summary.loc[0, "p_distance0"] == res.objects0.test.p_distance
    assert summary.loc[0, "fraction_near1"] == res.objects1.fraction_near
    assert summary.loc[0, "randomizations"] == 9
    flat = object_colocalization(a[5], b[5], thresholds=49)
    assert "com_z" not in flat.object_table()
    assert "p_distance0" not in flat.summary_table()


# ----------------------------------------------------------------------------- CLI


@pytest.fixture
def stack_files(tmp_path):
    a, b = _jacop_scene()
    image = tmp_path / "cells.tif"
    colocalize.write_image(
        image, np.stack([a, b]), axes="CZYX", spacing=(1.0, 0.5, 0.2, 0.2), unit="um"
    )
    labels = tmp_path / "labels.tif"
    colocalize.write_image(labels, label_puncta(b, threshold=49).astype(np.uint16), axes="ZYX")
    mask = tmp_path / "mask.tif"
    colocalize.write_image(mask, np.ones(a.shape[1:], np.uint8), axes="YX")
    return image, labels, mask


def test_cli_round_trip_matches_the_api(stack_files, tmp_path):
    image, labels, mask = stack_files
    out_objects, out_summary = tmp_path / "objects.csv", tmp_path / "summary.csv"
    with inputs_unchanged(image, labels, mask):
        proc = run_cli(
            "objects",
            image,
            "--channels",
            "C0",
            "1",
            "--threshold",
            "49",
            "otsu",
            "--labels1",
            labels,
            "--mask",
            mask,
            "--max-distance",
            "0.5",
            "--randomizations",
            "19",
            "--seed",
            "4",
            "--randomize",
            "centre",
            "--out-objects",
            out_objects,
            "--out-summary",
            out_summary,
        )
    assert proc.returncode == 0, proc.stderr
    a, b = _jacop_scene()
    api = object_colocalization(
        a,
        b,
        thresholds=(49, "Otsu"),
        labels1=label_puncta(b, threshold=49),
        mask=np.ones(a.shape[1:]),
        spacing=(0.5, 0.2, 0.2),
        max_distance=0.5,
        randomizations=19,
        rng=4,
        randomize="centre",
    )
    objects = pd.read_csv(out_objects)
    expected = api.object_table()
    assert list(objects.columns) == ["image", "channel", "channel_name", *expected.columns[1:]]
    assert set(objects["image"]) == {"cells.tif"}
    assert list(objects["channel_name"]) == ["C0"] * 7 + ["C1"] * 5
    pd.testing.assert_frame_equal(objects[expected.columns], expected, check_dtype=False)
    summary = pd.read_csv(out_summary)
    assert summary.loc[0, "unit"] == "um"
    assert summary.loc[0, "p_distance0"] == api.objects0.test.p_distance
    assert summary.loc[0, "mean_distance1"] == pytest.approx(api.objects1.mean_distance)
    assert math.isnan(summary.loc[0, "threshold1"])


def test_cli_refuses_to_overwrite(stack_files, tmp_path):
    image, labels, _ = stack_files
    out = tmp_path / "summary.csv"
    out.write_text("keep me")
    with inputs_unchanged(image, labels, out):
        proc = run_cli("objects", image, "--threshold", "49", "--out-summary", out)
        assert_clean_error(proc, "--out-summary", "--overwrite")
        proc = run_cli(
            "objects",
            image,
            "--threshold",
            "49",
            "--out-objects",
            labels,
            "--overwrite",
            "--labels1",
            labels,
        )
        assert_clean_error(proc, "--out-objects", "input")
        proc = run_cli("objects", image, "--out-objects", image, "--overwrite")
        assert_clean_error(proc, "--out-objects", "input")
    proc = run_cli("objects", image, "--threshold", "49", "--out-summary", out, "--overwrite")
    assert proc.returncode == 0, proc.stderr
    assert pd.read_csv(out).loc[0, "n_objects0"] == 7  # no size filter: the 1-voxel object too


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (["--channels", "0", "5"], ["--channels", "5"]),
        (["--channels", "1", "1"], ["--channels", "same channel"]),
        (["--threshold", "Otsux"], ["--threshold", "Otsux"]),
        (["--threshold", "1", "2", "3"], ["--threshold"]),
        (["--threshold", "nan"], ["--threshold", "nan"]),
        (["--min-overlap", "2"], ["min_overlap", "2"]),
    ],
)
def test_cli_bad_arguments_give_one_line_errors(stack_files, args, mentions):
    image, _, _ = stack_files
    assert_clean_error(run_cli("objects", image, *args), *mentions)


def test_placed_shapes_are_translations_inside_the_mask_without_overlap():
    from colocalize._objects._puncta import _objects, _place_shapes, _Shapes

    shape = (40, 50)
    rng = np.random.default_rng(5)
    labels = label_puncta(rng.random(shape) > 0.8, threshold=0)  # ~100 irregular objects
    mask = _ellipsoid(shape, (20, 25), (19, 24))
    labels[~mask] = 0
    objects = _objects(labels, np.ones(shape))
    shapes = _Shapes.of(objects)
    for seed in range(5):
        moved = _place_shapes(
            shapes, objects.centroid, mask, np.flatnonzero(mask), np.random.default_rng(seed)
        )
        assert moved is not None
        shift = np.round(moved - objects.centroid)
        np.testing.assert_allclose(moved - objects.centroid, shift, atol=1e-9)  # whole pixels
        placed = np.zeros(shape, np.int64)
        for k in range(objects.ids.size):
            pixels = np.stack(objects.coords, axis=1)[objects.index == k] + shift[k].astype(int)
            assert ((pixels >= 0) & (pixels < shape)).all()
            np.add.at(placed, tuple(pixels.T), 1)
        assert placed.max() == 1  # no two moved objects share a pixel
        assert not placed[~mask].any()  # all inside the mask
        assert not np.array_equal(placed > 0, labels > 0)
