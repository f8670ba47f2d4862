"""The segment-nuclei, cytoplasm-rings and translocation commands."""

from __future__ import annotations

import numpy as np
import pandas as pd

import colocalize
from colocalize import Image, read_image, ring_mask, segment_nuclei, write_image
from colocalize._cli._main import main
from conftest import require_module

require_module("skimage")


def _nuclei_image(shape=(60, 90)):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    image = np.full(shape, 10.0)
    for cy, cx in ((20, 20), (20, 60), (42, 40)):
        image = np.maximum(image, 10 + 150.0 * (np.hypot(yy - cy, xx - cx) < 8))
    return (image + np.random.default_rng(0).uniform(0, 5, shape)).astype(np.uint16)


def test_segment_nuclei_writes_calibrated_labels_and_table(tmp_path, capsys):
    nuclei = _nuclei_image()
    other = (nuclei // 2).astype(np.uint16)
    path = tmp_path / "cells.tif"
    write_image(
        path,
        Image(
            np.stack([nuclei, other]),
            axes="CYX",
            spacing=(1.0, 0.5, 0.5),
            unit="um",
            channel_names=("DAPI", "GFP"),
        ),
    )
    out, table = tmp_path / "labels.tif", tmp_path / "objects.csv"
    assert (
        main(
            [
                "segment-nuclei",
                str(path),
                "--channel",
                "DAPI",
                "--out",
                str(out),
                "--table",
                str(table),
            ]
        )
        == 0
    )
    assert "3 nuclei in 1 frame(s)" in capsys.readouterr().out
    labels = read_image(out)
    assert labels.axes == "YX"
    assert labels.spacing == (0.5, 0.5)
    assert labels.unit == "um"
    expected = segment_nuclei(nuclei, spacing=(0.5, 0.5))
    np.testing.assert_array_equal(labels.data, expected)
    rows = pd.read_csv(table)
    assert rows.label.tolist() == [1, 2, 3]
    assert {"mean_DAPI", "mean_GFP", "area"} <= set(rows.columns)
    np.testing.assert_allclose(rows.area, np.bincount(expected.ravel())[1:] * 0.25)


def test_segment_nuclei_needs_a_channel_for_multichannel_images(tmp_path, capsys):
    path = tmp_path / "two.tif"
    write_image(path, np.stack([_nuclei_image()] * 2), axes="CYX")
    assert main(["segment-nuclei", str(path), "--out", str(tmp_path / "x.tif")]) == 2
    assert "choose one with --channel" in capsys.readouterr().err


def test_segment_cells_command(tmp_path, capsys):
    image = _nuclei_image()
    path, out = tmp_path / "cells.tif", tmp_path / "labels.tif"
    write_image(path, image, spacing=(0.25, 0.25), unit="um")
    assert main(["segment-cells", str(path), "--out", str(out), "--erosion", "1"]) == 0
    assert "3 cells" in capsys.readouterr().out
    expected = colocalize.segment_cells(image, spacing=(0.25, 0.25), erosion=1)
    np.testing.assert_array_equal(read_image(out).data, expected)


def test_cytoplasm_rings(tmp_path):
    labels = segment_nuclei(_nuclei_image())
    path, out = tmp_path / "labels.tif", tmp_path / "rings.tif"
    write_image(path, labels, spacing=(0.5, 0.5), unit="um")
    assert (
        main(["cytoplasm-rings", str(path), "--out", str(out), "--inner", "0.5", "--outer", "2"])
        == 0
    )
    rings = read_image(out)
    np.testing.assert_array_equal(
        rings.data, ring_mask(labels, inner=0.5, outer=2, spacing=(0.5, 0.5))
    )


def test_translocation_csv_and_plot(tmp_path):
    frames = []
    for t in range(3):
        nuclei = _nuclei_image().astype(float)
        reporter = np.where(nuclei > 100, 100.0 - 20 * t, 30.0 + 10 * t)
        frames.append([nuclei, reporter])
    path = tmp_path / "movie.tif"
    img = Image(np.asarray(frames, dtype=np.float32), axes="TCYX", channel_names=("H2B", "KTR"))
    write_image(path, img)
    out, fig = tmp_path / "table.csv", tmp_path / "ratio.png"
    assert (
        main(
            [
                "translocation",
                str(path),
                "--nucleus-channel",
                "H2B",
                "--reporter-channel",
                "KTR",
                "--inner",
                "1",
                "--outer",
                "4",
                "--out",
                str(out),
                "--plot",
                str(fig),
            ]
        )
        == 0
    )
    table = pd.read_csv(out)
    expected = colocalize.translocation(
        img, nucleus_channel=0, reporter_channel=1, inner=1, outer=4
    )
    pd.testing.assert_frame_equal(table, expected, check_dtype=False)
    assert fig.stat().st_size > 0
    ratio = table.groupby("frame").ratio.median().to_numpy()
    # segmented edges may take in a rim pixel of cytoplasm: a few per cent
    np.testing.assert_allclose(ratio, [30 / 100, 40 / 80, 50 / 60], rtol=0.05)
