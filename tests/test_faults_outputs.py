"""Fault cases of issue 11 for the segmentation commands and ``demo``: outputs, ranges, labels.

Every command case runs in a subprocess with a timeout and a memory cap (``tests/_faults.py``)
and hashes its folder before and after, so a command that writes over an input, leaves a
half-written file or writes anything at all before refusing fails the test.
"""

from __future__ import annotations

import math
import re
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

import colocalize
from _faults import assert_clean_error, inputs_unchanged, run_cli, run_python
from colocalize import Image, read_image, write_image
from colocalize._cli._main import main
from conftest import require_module, skip_or_fail

require_module("skimage")

# a runaway (the segment-nuclei --radius 1e6 ran for minutes) hits this instead
RUNAWAY = {"timeout": 60.0, "memory_mb": 2048}
PRECIOUS = b"an earlier result the user wants to keep\n"


def _nuclei(shape=(40, 56)) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    image = np.full(shape, 10.0)
    for cy, cx in ((12, 12), (12, 40), (28, 26)):
        image = np.maximum(image, 10 + 150.0 * (np.hypot(yy - cy, xx - cx) < 6))
    return (image + np.random.default_rng(0).uniform(0, 5, shape)).astype(np.uint16)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """Small inputs of every command: an image, labels, a time-lapse and its nuclei."""
    nuclei = _nuclei()
    labels = (nuclei > 100).astype(np.uint16)
    labels[:, 30:] *= 2
    reporter = np.where(nuclei > 100, 80.0, 30.0)
    movie = np.stack([np.stack([nuclei, reporter])] * 2).astype(np.float32)
    paths = {
        "img": tmp_path / "img.tif",
        "labels": tmp_path / "labels.tif",
        "movie": tmp_path / "movie.tif",
        "nuclei": tmp_path / "nuclei.tif",
    }
    write_image(paths["img"], nuclei, spacing=(0.5, 0.5), unit="um")
    write_image(paths["labels"], labels)
    write_image(paths["movie"], Image(movie, axes="TCYX", channel_names=("H2B", "KTR")))
    write_image(paths["nuclei"], np.stack([labels, labels]), axes="TYX")
    return paths


# each command line, with {placeholders} for the files of the fixture
COMMANDS = {
    "segment-nuclei": ["segment-nuclei", "{img}"],
    "segment-cells": ["segment-cells", "{img}"],
    "cytoplasm-rings": ["cytoplasm-rings", "{labels}", "--outer", "2"],
    "translocation": [
        "translocation",
        "{movie}",
        "--nucleus-channel",
        "H2B",
        "--reporter-channel",
        "KTR",
        "--nuclei",
        "{nuclei}",
    ],
}
REQUIRED_OUT = {"segment-nuclei", "segment-cells", "cytoplasm-rings"}


def _args(command: str, files: dict[str, Path], outputs: dict[str, Path]) -> list[str]:
    args = [a.format(**{k: str(v) for k, v in files.items()}) for a in COMMANDS[command]]
    if command in REQUIRED_OUT and "--out" not in outputs:
        outputs = {"--out": files["img"].parent / "new_labels.tif", **outputs}
    for option, path in outputs.items():
        args += [option, str(path)]
    return args


def _temporaries(folder: Path) -> list[Path]:
    return sorted(folder.glob(".*.tmp"))


# --- data loss --------------------------------------------------------------------------------


@pytest.mark.parametrize("overwrite", [False, True])
@pytest.mark.parametrize(
    ("command", "option", "target"),
    [
        ("segment-nuclei", "--out", "img"),
        ("segment-nuclei", "--table", "img"),
        ("segment-cells", "--out", "img"),
        ("cytoplasm-rings", "--out", "labels"),
        ("translocation", "--out", "movie"),
        ("translocation", "--plot", "movie"),
        ("translocation", "--out", "nuclei"),
        ("translocation", "--plot", "nuclei"),
    ],
)
def test_an_output_that_is_an_input_is_refused_even_with_overwrite(
    files, tmp_path, command, option, target, overwrite
):
    args = _args(command, files, {option: files[target]}) + ["--overwrite"] * overwrite
    with inputs_unchanged(tmp_path):
        proc = run_cli(*args)
    assert_clean_error(proc, option, str(files[target]), "input")


def test_an_output_linked_to_the_input_is_refused(files, tmp_path):
    link = tmp_path / "link.tif"
    link.symlink_to(files["img"])
    with inputs_unchanged(tmp_path):
        proc = run_cli(*_args("segment-nuclei", files, {"--out": link}), "--overwrite")
    assert_clean_error(proc, "--out", "input")


@pytest.mark.parametrize(
    ("command", "option", "name"),
    [
        ("segment-nuclei", "--out", "old.tif"),
        ("segment-nuclei", "--table", "old.csv"),
        ("segment-cells", "--out", "old.tif"),
        ("cytoplasm-rings", "--out", "old.tif"),
        ("translocation", "--out", "old.csv"),
        ("translocation", "--plot", "old.png"),
    ],
)
def test_an_existing_output_is_kept_unless_overwrite(files, tmp_path, command, option, name):
    old = tmp_path / name
    old.write_bytes(PRECIOUS)
    args = _args(command, files, {option: old})
    # refused before anything is written: no other output appears either
    with inputs_unchanged(tmp_path):
        proc = run_cli(*args)
    assert_clean_error(proc, option, str(old), "--overwrite")
    proc = run_cli(*args, "--overwrite")
    assert proc.returncode == 0, proc.stderr
    assert old.read_bytes() != PRECIOUS
    assert old.stat().st_size > 0
    assert _temporaries(tmp_path) == []
    if name.endswith(".tif"):
        assert read_image(old).data.max() > 0


@pytest.mark.parametrize("overwrite", [False, True])
@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("segment-nuclei", ("--out", "--table")),
        ("translocation", ("--out", "--plot")),
    ],
)
def test_two_outputs_on_one_file_are_refused(files, tmp_path, command, options, overwrite):
    same = tmp_path / "same.out"
    args = _args(command, files, dict.fromkeys(options, same)) + ["--overwrite"] * overwrite
    with inputs_unchanged(tmp_path):
        proc = run_cli(*args)
    assert_clean_error(proc, *options, str(same))


@pytest.mark.parametrize(
    ("command", "option", "name", "computes"),
    [
        ("segment-nuclei", "--out", "old.tif", "segment_nuclei"),
        ("segment-nuclei", "--table", "old.csv", "segment_nuclei"),
        ("segment-cells", "--out", "old.tif", "segment_cells"),
        ("cytoplasm-rings", "--out", "old.tif", "ring_mask"),
        ("translocation", "--out", "old.csv", "translocation"),
        ("translocation", "--plot", "old.png", "translocation"),
        ("translocation", "--plot", "new.unknown-format", "translocation"),
    ],
)
def test_outputs_are_checked_before_any_computation(
    files, tmp_path, monkeypatch, capsys, command, option, name, computes
):
    target = tmp_path / name
    if name.startswith("old"):
        target.write_bytes(PRECIOUS)

    def computed(*args, **kwargs):
        raise AssertionError(f"{computes} ran before the outputs were checked")

    monkeypatch.setattr(colocalize, computes, computed)
    with inputs_unchanged(tmp_path):
        assert main(_args(command, files, {option: target})) == 2
    assert option in capsys.readouterr().err


def _failing_write(path, *args, **kwargs):
    """A write that dies half-way (full disk, killed process): a partial file, then an error."""
    Path(path).write_bytes(b"partial")
    raise OSError(28, "No space left on device")


def test_a_failed_label_write_keeps_the_previous_file(files, tmp_path, monkeypatch, capsys):
    import tifffile

    old = tmp_path / "old.tif"
    old.write_bytes(PRECIOUS)
    monkeypatch.setattr(tifffile, "imwrite", _failing_write)
    args = [*_args("segment-nuclei", files, {"--out": old}), "--overwrite"]
    assert main(args) == 2
    assert "No space left" in capsys.readouterr().err
    assert old.read_bytes() == PRECIOUS
    assert _temporaries(tmp_path) == []


def test_a_failed_plot_write_keeps_the_previous_file(files, tmp_path, monkeypatch, capsys):
    require_module("matplotlib")
    from matplotlib.figure import Figure

    old, table = tmp_path / "old.png", tmp_path / "table.csv"
    old.write_bytes(PRECIOUS)
    monkeypatch.setattr(Figure, "savefig", lambda self, path, **kw: _failing_write(path))
    args = [*_args("translocation", files, {"--out": table, "--plot": old}), "--overwrite"]
    assert main(args) == 2
    assert "No space left" in capsys.readouterr().err
    assert old.read_bytes() == PRECIOUS
    assert _temporaries(tmp_path) == []


@pytest.fixture
def sample():
    require_module("matplotlib")
    try:
        colocalize.data.neuron_4ch()
    except ModuleNotFoundError as exc:
        skip_or_fail(str(exc))


@pytest.mark.slow  # the whole demo once (about 3 s, more on a busy machine)
def test_demo_keeps_earlier_results_unless_overwrite(sample, tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    old = out / "coefficients.csv"
    old.write_bytes(PRECIOUS)
    with inputs_unchanged(tmp_path):
        proc = run_cli("demo", "--out", out)
    assert_clean_error(proc, "--out", str(old), "--overwrite")
    proc = run_cli("demo", "--out", out, "--overwrite")
    assert proc.returncode == 0, proc.stderr
    assert old.read_bytes() != PRECIOUS
    assert len(list(out.glob("histogram_*.png"))) == 6
    assert _temporaries(out) == []


def test_demo_out_must_be_a_folder(sample, tmp_path):
    out = tmp_path / "results"
    out.write_bytes(PRECIOUS)
    with inputs_unchanged(tmp_path):
        proc = run_cli("demo", "--out", out, "--overwrite")
    assert_clean_error(proc, "--out", str(out), "folder")


# --- runaway resources ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "option"),
    [
        ("segment-nuclei", "--radius"),
        ("segment-nuclei", "--smoothing"),
        ("segment-cells", "--width"),
        ("segment-cells", "--block-size"),
        ("segment-cells", "--log-sigma"),
        ("segment-cells", "--erosion"),
    ],
)
def test_lengths_far_beyond_the_image_are_refused_up_front(files, tmp_path, command, option):
    with inputs_unchanged(tmp_path):
        proc = run_cli(*_args(command, files, {}), option, "1e6", **RUNAWAY)
    # the image is 56 pixels of 0.5 um across at most: 28 um
    assert_clean_error(proc, option.lstrip("-").replace("-", "_"), "1e+06", "28")


@pytest.mark.parametrize(
    ("call", "name", "limit"),
    [
        ("segment_nuclei(image, radius=1e6)", "radius", "56"),
        ("segment_nuclei(image, smoothing=1e6)", "smoothing", "56"),
        ("segment_nuclei(image, spacing=1e-6, radius=1)", "radius", "5.6e-05"),
        ("segment_cells(image, width=1e6)", "width", "56"),
        ("segment_cells(image, block_size=1e6)", "block_size", "56"),
        ("segment_cells(image, log_sigma=1e6)", "log_sigma", "56"),
        ("segment_cells(image, erosion=1e6)", "erosion", "56"),
        ("segment_cells(image, smoothing=1e6)", "smoothing", "56"),
        (
            "translocation(movie, nucleus_channel=0, reporter_channel=1, time_axis=0, "
            "channel_axis=1, segment_options={'radius': 1e6})",
            "radius",
            "56",
        ),
    ],
)
def test_api_lengths_far_beyond_the_image_raise_a_value_error(call, name, limit):
    code = textwrap.dedent(
        f"""
        import numpy as np
        from colocalize import segment_cells, segment_nuclei, translocation
        image = np.zeros((40, 56))
        image[10:20, 10:20] = 100.0
        movie = np.stack([np.stack([image, image])] * 2)
        try:
            {call}
        except ValueError as exc:
            print("ValueError:", exc)
        """
    )
    proc = run_python(code, **RUNAWAY)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ValueError:"), proc.stdout
    assert f"{name}=" in proc.stdout
    assert limit in proc.stdout  # the allowed range, from the image's size


@pytest.mark.parametrize("shape", [(12, 30), (1, 9, 11), (3, 20, 7)])
def test_filter_footprints_stay_within_the_image_size_with_the_same_result(shape):
    from scipy import ndimage as ndi

    from colocalize._objects._segment import _ellipsoid

    radii = [30.0, 25.0, 6.0][-len(shape) :]  # longer than the image along some axes
    cut = _ellipsoid(radii, shape)
    assert all(k <= 2 * max(n - 1, 1) + 1 for k, n in zip(cut.shape, shape, strict=True))
    # the footprint of the old code, every offset within the radii
    half = [int(r) for r in radii]
    grids = np.ogrid[tuple(slice(-h, h + 1) for h in half)]
    full = sum((g / r) ** 2 for g, r in zip(grids, radii, strict=True)) <= 1.0
    image = np.random.default_rng(3).random(shape)
    np.testing.assert_array_equal(
        ndi.maximum_filter(image, footprint=cut, mode="nearest"),
        ndi.maximum_filter(image, footprint=full, mode="nearest"),
    )
    mask = image > 0.1
    np.testing.assert_array_equal(
        ndi.binary_erosion(mask, structure=cut), ndi.binary_erosion(mask, structure=full)
    )


def test_lengths_up_to_the_image_side_are_accepted():
    image = _nuclei().astype(float)
    extent = max(image.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", colocalize.ColocalizeWarning)
        labels = colocalize.segment_nuclei(image, radius=extent, smoothing=extent)
        cells = colocalize.segment_cells(
            image, width=extent, block_size=extent, log_sigma=extent, erosion=extent
        )
    assert labels.shape == image.shape
    assert cells.shape == image.shape


# --- arguments accepted that should not be ----------------------------------------------------


@pytest.mark.parametrize("command", ["segment-nuclei"])
def test_min_radius_above_max_radius_is_refused(files, tmp_path, command):
    with inputs_unchanged(tmp_path):
        proc = run_cli(*_args(command, files, {}), "--min-radius", "10", "--max-radius", "2")
    assert_clean_error(proc, "min_radius", "max_radius", "10", "2")


@pytest.mark.parametrize("function", ["segment_nuclei", "segment_cells"])
def test_api_min_radius_above_max_radius_is_refused(function):
    with pytest.raises(ValueError, match=r"min_radius=10.* max_radius=2"):
        getattr(colocalize, function)(_nuclei(), min_radius=10, max_radius=2)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_segment_cells_offset_must_be_finite(files, tmp_path, value):
    with inputs_unchanged(tmp_path):
        proc = run_cli(*_args("segment-cells", files, {}), f"--offset={value}")
    assert_clean_error(proc, "offset", value)
    with pytest.raises(ValueError, match="offset"):
        colocalize.segment_cells(_nuclei(), offset=float(value))


@pytest.mark.parametrize(
    ("inner", "outer"), [(5.0, 2.0), (-1.0, 2.0), (math.nan, 2.0), (0.0, math.inf)]
)
def test_translocation_checks_ring_distances_before_anything_else(monkeypatch, inner, outer):
    image = np.zeros((2, 2, 20, 20))

    def computed(*args, **kwargs):
        raise AssertionError("segmented before the ring distances were checked")

    monkeypatch.setattr(colocalize._objects._translocation, "segment_nuclei", computed)
    with pytest.raises(ValueError, match="inner < outer"):
        colocalize.translocation(
            image, nucleus_channel=0, reporter_channel=1, time_axis=0, channel_axis=1,
            inner=inner, outer=outer,
        )  # fmt: skip
    # with no nucleus anywhere the distances used to be accepted silently
    with pytest.raises(ValueError, match="inner < outer"):
        colocalize.translocation(
            image, nucleus_channel=0, reporter_channel=1, time_axis=0, channel_axis=1,
            nuclei=np.zeros((2, 20, 20), int), inner=inner, outer=outer,
        )  # fmt: skip


# --- label images without objects, negative or not integer ------------------------------------


def _label_file(tmp_path: Path, kind: str, frames: int | None) -> Path:
    labels = np.zeros((40, 56))
    if kind == "negative":
        labels[5:9, 5:9] = -1
    elif kind == "fractional":
        labels[5:9, 5:9] = 1.5
    data = labels if frames is None else np.stack([labels] * frames)
    path = tmp_path / f"{kind}.tif"
    write_image(path, data.astype(np.float32), axes="TYX" if frames else "YX")
    return path


@pytest.mark.parametrize(
    ("kind", "mention"),
    [("zero", "no objects"), ("negative", "negative"), ("fractional", "integer")],
)
def test_cytoplasm_rings_refuses_labels_without_objects(tmp_path, kind, mention):
    path = _label_file(tmp_path, kind, None)
    with inputs_unchanged(tmp_path):
        proc = run_cli("cytoplasm-rings", path, "--out", tmp_path / "rings.tif", "--outer", "2")
    assert_clean_error(proc, str(path), mention)


@pytest.mark.parametrize(
    ("kind", "mention"),
    [("zero", "no objects"), ("negative", "negative"), ("fractional", "integer")],
)
def test_translocation_refuses_nuclei_without_objects(files, tmp_path, kind, mention):
    path = _label_file(tmp_path, kind, 2)
    files = {**files, "nuclei": path}
    with inputs_unchanged(tmp_path):
        proc = run_cli(*_args("translocation", files, {"--out": tmp_path / "t.csv"}))
    assert_clean_error(proc, "--nuclei", str(path), mention)


@pytest.mark.parametrize(("value", "shown"), [(1.5, "1.5"), (1e30, "1e+30"), (-(2.0**63), "e+18")])
def test_float_labels_that_are_not_exact_integers_are_refused(value, shown):
    labels = np.zeros((6, 6))
    labels[1:3, 1:3] = value
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no raw numpy warning on the way either
        with pytest.raises(TypeError, match=f"integer label image.*{re.escape(shown)}"):
            colocalize.ring_mask(labels, outer=2)
