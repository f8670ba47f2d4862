"""Tests for colocalize.Image, read_image and write_image (colocalize._io)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import tifffile
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from colocalize import Image, read_image, write_image
from colocalize._image import normalize_unit

# ------------------------------------------------------------------------------------ Image


def test_image_defaults():
    img = Image(np.zeros((2, 3, 4), np.uint8), axes="CYX")
    assert img.spacing == (1.0, 1.0, 1.0)
    assert img.unit == "pixel"
    assert not img.calibrated
    assert img.channel_names == ("C0", "C1")
    assert img.n_channels == 2
    assert img.spatial_axes == "YX"
    assert img.shape == (2, 3, 4)


def test_image_without_channel_axis_has_one_channel():
    data = np.arange(24, dtype=np.uint16).reshape(2, 3, 4)
    img = Image(data, axes="ZYX", spacing=(0.5, 0.1, 0.2), unit="µm")
    assert img.channel_names == ()
    assert img.n_channels == 1
    assert img.channel(0) is data
    assert img.spatial_spacing == (0.5, 0.1, 0.2)
    with pytest.raises(IndexError, match="out of range"):
        img.channel(1)


def test_image_channel_by_index_and_name():
    data = np.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5)
    img = Image(data, axes="TCYX", channel_names=("a", "b", "c"))
    np.testing.assert_array_equal(img.channel(1), data[:, 1])
    np.testing.assert_array_equal(img.channel("c"), data[:, 2])
    np.testing.assert_array_equal(img.channel(-1), data[:, 2])
    assert img.spatial_spacing == (1.0, 1.0)
    with pytest.raises(KeyError, match="no channel named 'd'"):
        img.channel("d")


def test_image_is_frozen_and_does_not_copy():
    data = np.zeros((3, 4))
    img = Image(data, axes="YX")
    assert img.data is data
    with pytest.raises(AttributeError):
        img.unit = "um"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("shape", "axes", "kwargs", "match"),
    [
        ((3, 4), "ZYX", {}, "one letter per dimension"),
        ((3, 4, 5), "YXZ", {}, "in that order"),
        ((3, 4, 5), "ZZX", {}, "in that order"),
        ((2, 3, 4, 5), "ZCYX", {}, "in that order"),
        ((3, 4, 5), "YXC", {}, "in that order"),
        ((3, 4, 5), "QYX", {}, "in that order"),
        ((3, 4), "YX", {"spacing": (1.0,)}, "one value per axis"),
        ((3, 4), "YX", {"spacing": (0.0, 1.0)}, "positive, finite"),
        ((3, 4), "YX", {"spacing": (np.nan, 1.0)}, "positive, finite"),
        ((2, 3, 4), "CYX", {"spacing": (2.0, 1.0, 1.0)}, "channel axis C"),
        ((2, 3, 4), "CYX", {"channel_names": ("a",)}, "one name per channel"),
        ((3, 4), "YX", {"channel_names": ("a",)}, "0 channel"),
    ],
)
def test_image_rejects_bad_metadata(shape, axes, kwargs, match):
    with pytest.raises(ValueError, match=match):
        Image(np.zeros(shape), axes=axes, **kwargs)


@pytest.mark.parametrize("data", [[[1, 2], [3, 4]], np.zeros((2, 2), complex)])
def test_image_rejects_non_real_arrays(data):
    with pytest.raises(TypeError, match="Image data must be"):
        Image(data, axes="YX")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("um", "um"),
        ("µm", "um"),
        ("μm", "um"),
        ("\\u00B5m", "um"),
        ("micron", "um"),
        ("Microns", "um"),
        ("micrometre", "um"),
        (" nm ", "nm"),
        ("pixels", "pixel"),
        ("", "pixel"),
        ("furlong", "furlong"),
    ],
)
def test_normalize_unit(text, expected):
    assert normalize_unit(text) == expected
    assert Image(np.zeros((2, 2)), axes="YX", unit=text).unit == expected


# ------------------------------------------------------------------------------- round trip

LAYOUTS = {
    "YX": (7, 9),
    "ZYX": (3, 7, 9),
    "CYX": (2, 7, 9),
    "TYX": (3, 7, 9),
    "CZYX": (2, 3, 7, 9),
    "TZYX": (2, 3, 7, 9),
    "TCYX": (3, 2, 7, 9),
    "TCZYX": (2, 3, 4, 7, 9),
}


def _random(shape, dtype, rng):
    if dtype == np.bool_:
        return rng.random(shape) > 0.5
    if np.issubdtype(dtype, np.integer):
        return rng.integers(0, np.iinfo(dtype).max, shape, endpoint=True).astype(dtype)
    return (rng.standard_normal(shape) * 1000).astype(dtype)


def _spacing_for(axes):
    values = {"T": 2.5, "C": 1.0, "Z": 0.75, "Y": 0.1241, "X": 0.2}
    return tuple(values[a] for a in axes)


@pytest.mark.parametrize("axes", list(LAYOUTS))
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.bool_])
def test_round_trip(tmp_path, axes, dtype):
    rng = np.random.default_rng(len(axes))
    data = _random(LAYOUTS[axes], dtype, rng)
    n_c = data.shape[axes.index("C")] if "C" in axes else 0
    names = tuple(f"dye {i}" for i in range(n_c))
    path = tmp_path / "x.tif"
    write_image(
        path, data, axes=axes, spacing=_spacing_for(axes), unit="micron", channel_names=names
    )
    img = read_image(path)
    assert img.axes == axes
    assert img.spacing == pytest.approx(_spacing_for(axes), rel=1e-12)
    assert img.unit == "um"
    assert img.channel_names == names
    assert img.name == "x"
    if dtype == np.bool_:
        assert img.data.dtype == np.uint8
        assert set(np.unique(img.data)) <= {0, 255}
        np.testing.assert_array_equal(img.data > 0, data)
    else:
        assert img.data.dtype == dtype
        np.testing.assert_array_equal(img.data, data)


@pytest.mark.parametrize("axes", ["YX", "CZYX", "TCZYX"])
def test_round_trip_of_image_object(tmp_path, axes):
    data = np.arange(np.prod(LAYOUTS[axes]), dtype=np.uint16).reshape(LAYOUTS[axes])
    img = Image(data, axes=axes, spacing=_spacing_for(axes), unit="nm")
    write_image(tmp_path / "o.tif", img)
    back = read_image(tmp_path / "o.tif")
    np.testing.assert_array_equal(back.data, img.data)
    assert (back.axes, back.spacing, back.unit, back.channel_names) == (
        img.axes,
        pytest.approx(img.spacing),
        img.unit,
        img.channel_names,
    )
    # Keyword arguments replace the Image's metadata.
    write_image(tmp_path / "p.tif", img, unit="um", spacing=(0.3,) * len(img.spatial_axes))
    back = read_image(tmp_path / "p.tif")
    assert back.unit == "um"
    assert back.spatial_spacing == pytest.approx((0.3,) * len(img.spatial_axes))


@pytest.mark.parametrize(
    ("shape", "axes"), [((1, 5), "YX"), ((5, 1), "YX"), ((3, 1, 4), "ZYX"), ((2, 4, 1), "CYX")]
)
def test_round_trip_of_one_pixel_wide_images(tmp_path, shape, axes):
    data = np.arange(np.prod(shape), dtype=np.uint16).reshape(shape)
    write_image(tmp_path / "thin.tif", data, axes=axes)
    img = read_image(tmp_path / "thin.tif")
    assert img.axes == axes
    np.testing.assert_array_equal(img.data, data)


def test_uncalibrated_round_trip(tmp_path):
    data = np.ones((3, 4, 5), np.uint8)
    write_image(tmp_path / "u.tif", data)
    img = read_image(tmp_path / "u.tif")
    assert img.axes == "ZYX"
    assert img.unit == "pixel"
    assert img.spacing == (1.0, 1.0, 1.0)


def test_spacing_per_spatial_axis(tmp_path):
    data = np.ones((2, 3, 4, 5), np.uint8)
    write_image(tmp_path / "s.tif", data, axes="CZYX", spacing=(0.5, 0.2, 0.1), unit="um")
    assert read_image(tmp_path / "s.tif").spacing == pytest.approx((1.0, 0.5, 0.2, 0.1))
    with pytest.raises(ValueError, match="one value per axis"):
        write_image(tmp_path / "s.tif", data, axes="CZYX", spacing=(0.5, 0.2))


@settings(max_examples=25, deadline=None)
@given(
    data=hnp.arrays(
        np.float32,
        hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=6),
        elements=st.floats(-(2.0**100), 2.0**100, width=32),
    ),
    pixel=st.floats(1e-4, 1e4),
    z=st.floats(1e-4, 1e4),
)
def test_round_trip_property(tmp_path_factory, data, pixel, z):
    path = tmp_path_factory.mktemp("h") / "h.tif"
    spacing = (z, pixel, pixel)[3 - data.ndim :]
    write_image(path, data, spacing=spacing, unit="um")
    img = read_image(path)
    if data.ndim == 3 and data.shape[0] == 1:  # a single z plane is read back as a 2-D image
        data, spacing = data[0], spacing[1:]
    np.testing.assert_array_equal(img.data, data)
    assert img.spacing == pytest.approx(spacing, rel=1e-9)


# ---------------------------------------------------------------------- dtype conversions


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.uint32, np.uint64])
def test_labels_fitting_uint16_are_written_as_uint16(tmp_path, dtype):
    labels = np.array([[0, 1, 2], [3, 100, 127]], dtype=dtype)
    write_image(tmp_path / "l.tif", labels)
    img = read_image(tmp_path / "l.tif")
    assert img.data.dtype == np.uint16
    np.testing.assert_array_equal(img.data, labels)


@pytest.mark.parametrize("values", [[0, 65536, 2**24], [-5, 0, 7], [-(2**24), 3, 2**24]])
def test_other_integers_are_written_as_exact_float32(tmp_path, values):
    labels = np.array([values], dtype=np.int64)
    write_image(tmp_path / "l.tif", labels)
    img = read_image(tmp_path / "l.tif")
    assert img.data.dtype == np.float32
    np.testing.assert_array_equal(img.data.astype(np.int64), labels)


def test_integers_beyond_float32_precision_raise(tmp_path):
    labels = np.array([[0, 2**24 + 1]], dtype=np.int64)
    with pytest.raises(ValueError, match="relabel"):
        write_image(tmp_path / "l.tif", labels)
    assert not (tmp_path / "l.tif").exists()


def test_float64_is_rounded_to_float32(tmp_path):
    data = np.random.default_rng(1).random((4, 5)) * 1e5
    write_image(tmp_path / "f.tif", data)
    img = read_image(tmp_path / "f.tif")
    assert img.data.dtype == np.float32
    np.testing.assert_array_equal(img.data, data.astype(np.float32))
    np.testing.assert_allclose(img.data, data, rtol=2.0**-24)


def test_float64_beyond_float32_range_raises(tmp_path):
    with pytest.raises(ValueError, match="float32 range"):
        write_image(tmp_path / "f.tif", np.array([[1.0, 1e39]]))


def test_write_does_not_modify_input(tmp_path):
    mask = np.array([[True, False], [False, True]])
    before = mask.copy()
    write_image(tmp_path / "m.tif", mask)
    np.testing.assert_array_equal(mask, before)


def test_write_needs_axes_for_4d(tmp_path):
    with pytest.raises(ValueError, match="pass axes for a 4-D array"):
        write_image(tmp_path / "a.tif", np.zeros((2, 2, 3, 3), np.uint8))


def test_write_rejects_conflicting_axes(tmp_path):
    img = Image(np.zeros((2, 3, 3), np.uint8), axes="CYX")
    with pytest.raises(ValueError, match="differs from the Image's axes"):
        write_image(tmp_path / "a.tif", img, axes="ZYX")


# ------------------------------------------------------------------------ reading layouts


def test_plain_multipage_tiff_is_a_z_stack(tmp_path):
    data = np.arange(3 * 4 * 5, dtype=np.uint16).reshape(3, 4, 5)
    tifffile.imwrite(tmp_path / "p.tif", data, photometric="minisblack")
    img = read_image(tmp_path / "p.tif")
    assert img.axes == "ZYX"
    np.testing.assert_array_equal(img.data, data)
    assert img.unit == "pixel"


@pytest.mark.parametrize("n_samples", [3, 4])
def test_rgb_tiff_becomes_channels(tmp_path, n_samples):
    rgb = np.random.default_rng(0).integers(0, 255, (5, 6, n_samples), dtype=np.uint8)
    extras = {"extrasamples": ["unassalpha"]} if n_samples == 4 else {}
    tifffile.imwrite(tmp_path / "rgb.tif", rgb, photometric="rgb", **extras)
    img = read_image(tmp_path / "rgb.tif")
    assert img.axes == "CYX"
    assert img.channel_names == ("red", "green", "blue", "alpha")[:n_samples]
    np.testing.assert_array_equal(img.data, np.moveaxis(rgb, -1, 0))


def test_palette_tiff_returns_indices_not_colours(tmp_path):
    indices = np.arange(20, dtype=np.uint8).reshape(4, 5)
    colormap = np.zeros((3, 256), np.uint16)
    colormap[1] = np.arange(256)[::-1] * 257  # green is the reversed index
    tifffile.imwrite(tmp_path / "pal.tif", indices, photometric="palette", colormap=colormap)
    img = read_image(tmp_path / "pal.tif")
    assert img.axes == "YX"
    np.testing.assert_array_equal(img.data, indices)


@pytest.mark.parametrize(
    ("unit_code", "resolution", "expected_spacing", "expected_unit"),
    [
        ("CENTIMETER", (10000.0, 5000.0), (2e-4, 1e-4), "cm"),
        ("INCH", (300.0, 300.0), (1 / 300, 1 / 300), "inch"),
        ("INCH", (72.0, 72.0), (1.0, 1.0), "pixel"),  # ImageJ: 72 dpi means uncalibrated
        ("NONE", (4.0, 4.0), (1.0, 1.0), "pixel"),
    ],
)
def test_plain_tiff_resolution_tags(
    tmp_path, unit_code, resolution, expected_spacing, expected_unit
):
    tifffile.imwrite(
        tmp_path / "r.tif",
        np.zeros((3, 4), np.uint8),
        resolution=resolution,
        resolutionunit=unit_code,
    )
    img = read_image(tmp_path / "r.tif")
    assert img.unit == expected_unit
    assert img.spacing == pytest.approx(expected_spacing)


def test_ome_tiff_calibration_channels_and_order(tmp_path):
    data = np.random.default_rng(2).integers(0, 4000, (2, 3, 4, 5, 6), dtype=np.uint16)
    metadata = {
        "axes": "TCZYX",
        "PhysicalSizeX": 0.2,
        "PhysicalSizeXUnit": "µm",
        "PhysicalSizeY": 0.25,
        "PhysicalSizeYUnit": "µm",
        "PhysicalSizeZ": 500.0,
        "PhysicalSizeZUnit": "nm",  # converted to the unit of X
        "TimeIncrement": 1.5,
        "TimeIncrementUnit": "min",
        "Channel": {"Name": ["GFP", "RFP", "DAPI"]},
    }
    tifffile.imwrite(tmp_path / "o.ome.tif", data, ome=True, metadata=metadata)
    img = read_image(tmp_path / "o.ome.tif")
    assert img.name == "o"
    assert img.axes == "TCZYX"
    np.testing.assert_array_equal(img.data, data)
    assert img.spacing == pytest.approx((90.0, 1.0, 0.5, 0.25, 0.2))
    assert img.unit == "um"
    assert img.channel_names == ("GFP", "RFP", "DAPI")


def test_ome_tiff_other_dimension_order_is_transposed(tmp_path):
    data = np.random.default_rng(3).random((3, 2, 4, 5)).astype(np.float32)  # Z C Y X
    tifffile.imwrite(
        tmp_path / "o.ome.tif",
        data,
        ome=True,
        metadata={"axes": "ZCYX", "PhysicalSizeX": 2.0, "PhysicalSizeY": 2.0},
    )
    img = read_image(tmp_path / "o.ome.tif")
    assert img.axes == "CZYX"
    np.testing.assert_array_equal(img.data, np.moveaxis(data, 1, 0))
    assert img.spacing == pytest.approx((1.0, 1.0, 2.0, 2.0))
    assert img.unit == "um"  # OME's default unit
    assert img.channel_names == ("C0", "C1")


def test_ome_multi_series(tmp_path):
    path = tmp_path / "m.ome.tif"
    with tifffile.TiffWriter(path, ome=True) as tif:
        tif.write(
            np.zeros((4, 5), np.uint8),
            metadata={"axes": "YX", "PhysicalSizeX": 0.1, "PhysicalSizeY": 0.1},
        )
        tif.write(
            np.ones((2, 4, 5), np.uint8),
            metadata={"axes": "CYX", "PhysicalSizeX": 0.3, "PhysicalSizeY": 0.3},
        )
    second = read_image(path, series=1)
    assert second.axes == "CYX"
    assert second.spacing == pytest.approx((1.0, 0.3, 0.3))
    assert int(second.data.max()) == 1
    assert read_image(path).spacing == pytest.approx((0.1, 0.1))
    with pytest.raises(ValueError, match=r"series=2 is out of range.*2 image series"):
        read_image(path, series=2)


def test_imagej_hyperstack_written_by_tifffile(tmp_path):
    data = np.random.default_rng(4).integers(0, 255, (2, 3, 2, 4, 5), dtype=np.uint8)  # TZCYX
    tifffile.imwrite(
        tmp_path / "h.tif",
        data,
        imagej=True,
        resolution=(4.0, 4.0),
        metadata={
            "axes": "TZCYX",
            "unit": "\\u00B5m",
            "spacing": 0.8,
            "finterval": 30.0,
            "Labels": ["ch A", "ch B"] * 6,
        },
    )
    img = read_image(tmp_path / "h.tif")
    assert img.axes == "TCZYX"
    np.testing.assert_array_equal(img.data, np.swapaxes(data, 1, 2))
    assert img.spacing == pytest.approx((30.0, 1.0, 0.8, 0.25, 0.25))
    assert img.unit == "um"
    assert img.channel_names == ("ch A", "ch B")


# ------------------------------------------------------------------------------------ errors


def test_missing_file(tmp_path):
    path = tmp_path / "nope.tif"
    with pytest.raises(FileNotFoundError, match=r"nope.tif"):
        read_image(path)


@pytest.mark.parametrize(
    ("content", "found"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(32), "PNG image"),
        (b"", "empty"),
        (b"hello, world, this is text", "not a TIFF header"),
    ],
)
def test_not_a_tiff(tmp_path, content, found):
    path = tmp_path / "fake.tif"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=f"fake.tif.*{found}"):
        read_image(path)


def test_directory(tmp_path):
    with pytest.raises(ValueError, match="is a directory"):
        read_image(tmp_path)


def test_complex_pixels_are_unsupported(tmp_path):
    tifffile.imwrite(tmp_path / "c.tif", np.zeros((3, 4), np.complex64))
    with pytest.raises(ValueError, match=r"c.tif.*complex64"):
        read_image(tmp_path / "c.tif")


def test_unknown_extra_dimensions_are_unsupported(tmp_path):
    data = np.zeros((2, 3, 4, 5), np.uint8)
    tifffile.imwrite(tmp_path / "q.tif", data, photometric="minisblack")  # no axes stored
    with pytest.raises(ValueError, match=r"q.tif.*meaning is not stored.*shape"):
        read_image(tmp_path / "q.tif")


def test_six_dimensions_are_unsupported(tmp_path):
    tifffile.imwrite(
        tmp_path / "six.tif",
        np.zeros((2, 2, 2, 2, 3, 4), np.uint8),
        photometric="minisblack",
        metadata={"axes": "TCZAYX"},
    )
    with pytest.raises(ValueError, match=r"six.tif.*layout colocalize does not support"):
        read_image(tmp_path / "six.tif")


def test_planar_rgb_tiff_becomes_channels(tmp_path):
    # tifffile stores a plain (3, M, N) array as an RGB image with separate planes by default.
    data = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)
    tifffile.imwrite(tmp_path / "planar.tif", data, photometric="rgb", planarconfig="separate")
    img = read_image(tmp_path / "planar.tif")
    assert img.axes == "CYX"
    assert img.channel_names == ("red", "green", "blue")
    np.testing.assert_array_equal(img.data, data)


def test_lzw_without_imagecodecs_says_how_to_install(tmp_path):
    path = tmp_path / "lzw.tif"
    tifffile.imwrite(path, np.arange(64, dtype=np.uint8).reshape(8, 8), compression="lzw")
    np.testing.assert_array_equal(read_image(path).data.ravel(), np.arange(64))
    code = (
        "import sys; sys.modules['imagecodecs'] = None\n"
        "from colocalize import read_image\n"
        f"read_image({str(path)!r})\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert run.returncode != 0
    assert "pip install imagecodecs" in run.stderr
    assert "colocalize[io]" in run.stderr
    assert "lzw.tif" in run.stderr


# --------------------------------------------------------------- Coloc 2's reference images


COLOC2_FILES = [
    "colocsample1b-green.tif",
    "colocsample1b-red.tif",
    "colocsample1b-mask.tif",
    "greenZstack.tif",
    "mandersA.tiff",
    "mandersI.tiff",
    "syntheticNegCh1.tif",
]


def test_coloc2_palette_tiff_raw_values(coloc2_dir):
    img = read_image(coloc2_dir / "colocsample1b-green.tif")
    assert img.axes == "ZYX"
    assert img.shape == (33, 152, 172)
    assert img.data.dtype == np.uint8
    assert float(img.data.mean()) == pytest.approx(11.749085, abs=5e-7)
    assert img.unit == "um"
    assert img.spacing == pytest.approx((0.64609375, 0.3282152540665049, 0.3282152540665049))


def _ij_stack(imp) -> np.ndarray:
    """All planes of an ImageJ image as a (n_planes, height, width) array of its pixel values."""
    stack = imp.getStack()
    height, width = imp.getHeight(), imp.getWidth()
    planes = []
    for n in range(1, stack.getSize() + 1):
        ip = stack.getProcessor(n)
        flat = np.asarray(ip.convertToFloatProcessor().getPixels(), dtype=np.float64)
        planes.append(flat.reshape(height, width))
    return np.stack(planes)


@pytest.mark.parametrize("name", COLOC2_FILES)
def test_coloc2_files_match_imagej(coloc2_dir, ij, name):
    img = read_image(coloc2_dir / name)
    imp = ij.JClass("ij.IJ").openImage(str(coloc2_dir / name))
    cal = imp.getCalibration()
    expected = _ij_stack(imp).reshape(img.shape)
    np.testing.assert_array_equal(img.data.astype(np.float64), expected)
    assert img.unit == normalize_unit(str(cal.getUnit()))
    assert img.spatial_spacing[-2:] == pytest.approx((cal.pixelHeight, cal.pixelWidth))
    if "Z" in img.axes:
        assert img.spatial_spacing[0] == pytest.approx(cal.pixelDepth)


# ------------------------------------------------------------------ what ImageJ makes of it


@pytest.mark.parametrize("axes", ["YX", "ZYX", "CYX", "CZYX", "TCZYX", "TYX"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.bool_])
def test_imagej_reads_written_calibration(tmp_path, ij, axes, dtype):
    rng = np.random.default_rng(5)
    data = _random(LAYOUTS[axes], dtype, rng)
    sizes = dict(zip("TCZYX", (1,) * 5, strict=True))
    sizes.update(zip(axes, data.shape, strict=True))
    n_c = sizes["C"]
    names = tuple(f"chan{i}" for i in range(n_c)) if "C" in axes else ()
    path = tmp_path / "ij.tif"
    write_image(path, data, axes=axes, spacing=_spacing_for(axes), unit="um", channel_names=names)
    imp = ij.JClass("ij.IJ").openImage(str(path))
    assert imp is not None
    cal = imp.getCalibration()
    assert str(cal.getUnit()) == "µm"
    assert cal.pixelWidth == pytest.approx(0.2)
    assert cal.pixelHeight == pytest.approx(0.1241)
    if "Z" in axes:
        assert cal.pixelDepth == pytest.approx(0.75)
    if "T" in axes:
        assert cal.frameInterval == pytest.approx(2.5)
    assert (imp.getNChannels(), imp.getNSlices(), imp.getNFrames()) == (
        sizes["C"],
        sizes["Z"],
        sizes["T"],
    )
    assert imp.getBitDepth() == {np.uint16: 16, np.float32: 32}.get(dtype, 8)
    # Every plane where ImageJ's hyperstack index puts it.
    expected = np.broadcast_to(
        data.reshape([sizes[a] for a in "TCZYX"])
        if dtype != np.bool_
        else (data.reshape([sizes[a] for a in "TCZYX"]).astype(np.uint8) * 255),
        [sizes[a] for a in "TCZYX"],
    )
    stack = imp.getStack()
    for t in range(sizes["T"]):
        for c in range(sizes["C"]):
            for z in range(sizes["Z"]):
                index = imp.getStackIndex(c + 1, z + 1, t + 1)
                ip = stack.getProcessor(index).convertToFloatProcessor()
                plane = np.asarray(ip.getPixels(), dtype=np.float64).reshape(expected.shape[-2:])
                np.testing.assert_array_equal(plane, expected[t, c, z])
                if names:
                    assert str(stack.getSliceLabel(index)) == names[c]


@pytest.mark.parametrize("bit_depth", [8, 16, 32])
def test_reads_hyperstack_saved_by_imagej(tmp_path, ij, bit_depth):
    n_c, n_z, n_t, height, width = 2, 3, 2, 5, 6
    imp = ij.JClass("ij.IJ").createImage(
        "stack", f"{bit_depth}-bit black", width, height, n_c, n_z, n_t
    )
    expected = np.zeros((n_t, n_c, n_z, height, width))
    rng = np.random.default_rng(bit_depth)
    stack = imp.getStack()
    for t in range(n_t):
        for c in range(n_c):
            for z in range(n_z):
                index = imp.getStackIndex(c + 1, z + 1, t + 1)
                stack.setSliceLabel(["GFP", "mCherry"][c], index)
                ip = stack.getProcessor(index)
                values = rng.integers(0, 250, (height, width)).astype(float)
                if bit_depth == 32:
                    values += 0.25
                for y in range(height):
                    for x in range(width):
                        ip.setf(x, y, float(values[y, x]))
                expected[t, c, z] = values
    cal = imp.getCalibration()
    cal.pixelWidth, cal.pixelHeight, cal.pixelDepth = 0.3, 0.35, 0.7
    cal.frameInterval = 4.0
    cal.setUnit("micron")
    path = tmp_path / "imagej.tif"
    assert ij.JClass("ij.IJ").saveAsTiff(imp, str(path))
    img = read_image(path)
    assert img.axes == "TCZYX"
    np.testing.assert_array_equal(img.data, expected)
    assert img.spacing == pytest.approx((4.0, 1.0, 0.7, 0.35, 0.3))
    assert img.unit == "um"
    assert img.channel_names == ("GFP", "mCherry")
