"""Van Steensel's CCF and Li's ICA from the command line, in batch and as an ImageJ command:
the numbers equal the Python API's (``van_steensel_ccf``, ``li_ica``) on the same pixels."""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import ndimage

import colocalize
from _faults import assert_clean_error, inputs_unchanged, run_cli
from colocalize import Image
from colocalize._cli._main import main
from conftest import skip_or_fail


def _pair(shape=(48, 64), shift=2, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """Blurred noise and the same moved ``shift`` pixels along x, plus noise (uint16)."""
    rng = np.random.default_rng(seed)
    base = ndimage.gaussian_filter(rng.random(shape), 2)
    a = (base * 3000 + rng.random(shape) * 300).astype(np.uint16)
    b = (np.roll(base, shift, axis=-1) * 2000 + rng.random(shape) * 300).astype(np.uint16)
    return a, b


def quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", colocalize.ColocalizeWarning)
        return function(*args, **kwargs)


@pytest.fixture
def two(tmp_path) -> tuple[Path, np.ndarray, np.ndarray]:
    a, b = _pair()
    path = tmp_path / "two.tif"
    image = Image(np.stack([a, b]), axes="CYX", spacing=(1.0, 0.1, 0.1), unit="um")
    colocalize.write_image(path, image)
    return path, a, b


def _printed(text: str) -> dict[str, str]:
    return dict(line.split("\t") for line in text.strip().splitlines())


# ---------------------------------------------------------------------------------------------
# command line


def test_ccf_command_prints_and_writes_the_api_numbers(two, tmp_path, capsys):
    path, a, b = two
    table, plot = tmp_path / "ccf.csv", tmp_path / "ccf.png"
    mask = np.zeros(a.shape, np.uint8)
    mask[5:40, 4:60] = 1
    colocalize.write_image(tmp_path / "mask.tif", mask)
    args = [str(path), "--mask", str(tmp_path / "mask.tif"), "--max-shift", "8"]
    with inputs_unchanged(path, tmp_path / "mask.tif"):
        assert main(["ccf", *args, "--table", str(table), "--plot", str(plot)]) == 0
    expected = colocalize.van_steensel_ccf(
        a, b, mask=mask != 0, max_shift=8, spacing=(0.1, 0.1), unit="um"
    )
    printed = _printed(capsys.readouterr().out)
    for name in ("r_max", "dx_max", "fwhm", "fwhm_calibrated", "fit_c"):
        assert float(printed[name]) == pytest.approx(getattr(expected, name), rel=1e-5)
    assert printed["unit"] == "um"
    rows = pd.read_csv(table)
    assert list(rows.columns) == ["dx", "shift (um)", "r", "n_pairs", "fit"]
    np.testing.assert_array_equal(rows["dx"], expected.dx)
    np.testing.assert_allclose(rows["shift (um)"], expected.shift, rtol=1e-15)
    np.testing.assert_allclose(rows["r"], expected.r, rtol=1e-15, atol=1e-15)  # r crosses 0
    np.testing.assert_array_equal(rows["n_pairs"], expected.n_pairs)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_ica_command_writes_one_row_per_pixel(two, tmp_path, capsys):
    path, a, b = two
    table, plot = tmp_path / "ica.csv", tmp_path / "ica.png"
    args = ["ica", str(path), "--channels", "1", "0", "--table", str(table), "--plot", str(plot)]
    assert main(args) == 0
    expected = colocalize.li_ica(b, a)
    printed = _printed(capsys.readouterr().out)
    assert float(printed["icq"]) == pytest.approx(expected.icq, rel=1e-6)
    assert int(printed["n_pixels"]) == a.size
    rows = pd.read_csv(table)
    # products are ~0 for pixels near the means
    np.testing.assert_allclose(rows["product"], expected.product, rtol=1e-15, atol=1e-12)
    np.testing.assert_array_equal(rows["intensity0"], b.ravel())
    np.testing.assert_array_equal(rows["intensity1"], a.ravel())
    assert plot.stat().st_size > 0


@pytest.mark.parametrize("command", ["ccf", "ica"])
def test_an_existing_output_is_refused_unless_overwrite(two, tmp_path, command):
    path, _, _ = two
    table = tmp_path / "out.csv"
    table.write_text("keep me")
    proc = run_cli(command, path, "--table", table)
    assert_clean_error(proc, "--table", "--overwrite")
    assert table.read_text() == "keep me"
    assert run_cli(command, path, "--table", table, "--overwrite").returncode == 0
    assert table.read_text() != "keep me"


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (["ccf", "--channels", "1", "1"], ["--channels", "same channel"]),
        (["ccf", "--channels", "0", "5"], ["--channels"]),
        (["ccf", "--max-shift", "0"], ["--max-shift", "0", "63"]),
        (["ccf", "--max-shift", "64"], ["--max-shift", "64", "63"]),
        (["ica", "--nbins", "0"], ["--nbins", "0"]),
    ],
)
def test_bad_arguments_are_one_line_errors(two, args, mentions):
    path, _, _ = two
    with inputs_unchanged(path):
        proc = run_cli(args[0], path, *args[1:])
    assert_clean_error(proc, *mentions)


@pytest.mark.parametrize("command", ["ccf", "ica"])
def test_no_command_writes_over_its_input(two, command):
    path, _, _ = two
    with inputs_unchanged(path):
        proc = run_cli(command, path, "--plot", path, "--overwrite")
    assert_clean_error(proc, "--plot")


# ---------------------------------------------------------------------------------------------
# batch


def test_batch_ccf_tables_equal_the_api(tmp_path):
    root = tmp_path / "data"
    pairs = {}
    for condition, seed in (("control", 1), ("treated", 2)):
        (root / condition).mkdir(parents=True)
        a, b = _pair(shape=(32, 40), shift=seed, seed=seed)
        pairs[f"{condition}/cell.tif"] = (a, b)
        colocalize.write_image(
            root / condition / "cell.tif",
            Image(np.stack([a, b]), axes="CYX", spacing=(1.0, 0.2, 0.2), unit="um"),
        )
    out = tmp_path / "out"
    result = colocalize.batch(
        root,
        out=out,
        pattern="{condition}/*.tif",
        ccf=True,
        ccf_max_shift=6,
        workers=1,
        progress=False,
    )
    assert result.ccf == out / "ccf.csv"
    assert result.ccf_summary == out / "ccf_summary.csv"
    listed = json.loads((out / "outputs.json").read_text())
    assert {"ccf.csv", "ccf_summary.csv"} <= set(json.dumps(listed).split('"'))
    curves = pd.read_csv(result.ccf)
    summary = pd.read_csv(result.ccf_summary)
    assert len(summary) == 2
    assert len(curves) == 2 * 13
    for path, (a, b) in pairs.items():
        expected = quiet(colocalize.van_steensel_ccf, a, b, max_shift=6, spacing=0.2)
        rows = curves[curves["path"] == path]
        np.testing.assert_array_equal(rows["dx"], expected.dx)
        np.testing.assert_allclose(rows["shift"], expected.shift, rtol=1e-15)
        np.testing.assert_allclose(rows["r"], expected.r, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(rows["fit"], expected.fit, rtol=1e-12, atol=1e-12)
        row = summary[summary["path"] == path].iloc[0]
        assert (row["channel0"], row["channel1"]) == ("C0", "C1")
        for name in ("r_max", "dx_max", "r_min", "dx_min", "fwhm", "fwhm_calibrated", "fit_c"):
            assert row[name] == pytest.approx(getattr(expected, name), rel=1e-12), name
    # a rerun without --ccf commits a set without the CCF tables
    again = colocalize.batch(root, out=out, pattern="{condition}/*.tif", workers=1, progress=False)
    assert again.ccf is None
    assert not (out / "ccf.csv").exists()


def test_batch_cli_ccf_and_its_refusal(tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    colocalize.write_image(root / "c.tif", Image(np.stack(_pair(shape=(24, 30))), axes="CYX"))
    proc = run_cli(
        "batch",
        root,
        "--pattern",
        "*.tif",
        "--out",
        tmp_path / "o",
        "--ccf",
        "--ccf-max-shift",
        "0",
        "--no-progress",
    )
    assert_clean_error(proc, "ccf_max_shift", "0")
    assert not (tmp_path / "o").exists()
    proc = run_cli(
        "batch",
        root,
        "--pattern",
        "*.tif",
        "--out",
        tmp_path / "o",
        "--ccf",
        "--ccf-max-shift",
        "40",
        "--no-progress",
        "--workers",
        "1",
    )
    # wider than the image: that image's error, the rest of the batch stands
    errors = pd.read_csv(tmp_path / "o" / "errors.csv")
    assert errors["threshold_source"].tolist() == ["ccf"]
    assert "max_shift" in errors["error"].iloc[0]
    assert proc.returncode == 1
    assert "1 failed" in proc.stdout


# ---------------------------------------------------------------------------------------------
# ImageJ, in-process: plot axis titles and tables


@pytest.mark.imagej_command
def test_imagej_command_plots_and_tables_in_process(session):
    import jpype

    from colocalize.imagej import from_results_table, get_table, to_imageplus

    a, b = _pair()
    to_imageplus(Image(a, axes="YX", spacing=(0.1, 0.1), unit="um"), title="A").show()
    to_imageplus(Image(b, axes="YX", spacing=(0.1, 0.1), unit="um"), title="B").show()
    session.IJ.runMacro('run("Coloc CCF and ICA...", "image_1=A image_2=B max_shift=10 ccf ica");')
    assert jpype.JClass("colocalize.bridge.Dispatch").lastError() is None
    ccf = quiet(colocalize.van_steensel_ccf, a, b, max_shift=10, spacing=0.1, unit="um")
    ica = colocalize.li_ica(a, b)
    row = from_results_table(get_table("CCF and ICA results")).iloc[-1]
    for name in ("r_max", "dx_max", "fwhm", "fwhm_calibrated", "fit_c", "icq", "mean0"):
        value = getattr(ccf, name, None)
        value = getattr(ica, name) if value is None else value
        assert row[name] == pytest.approx(value, rel=1e-12), name
    per_shift = from_results_table(get_table("Van Steensel's CCF"))
    np.testing.assert_allclose(per_shift["r"], ccf.r, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(per_shift["shift (um)"], ccf.shift, rtol=1e-12)
    window_manager = jpype.JClass("ij.WindowManager")
    key = jpype.JClass("ij.gui.Plot").PROPERTY_KEY

    def plot(title):
        imp = window_manager.getImage(title)
        assert imp is not None, title
        return imp.getProperty(key)

    ccf_plot = plot("Van Steensel's CCF of A and B")
    assert str(ccf_plot.getLabel("x")) == "dx (pixels; 1 pixel = 0.1 um)"
    assert str(ccf_plot.getLabel("y")) == "Pearson's r (A against shifted B)"
    for name in ("A", "B"):
        ica_plot = plot(f"Li's ICA of {name}")
        assert str(ica_plot.getLabel("x")) == "(A - mean)(B - mean)"
        assert str(ica_plot.getLabel("y")) == f"{name} (intensity, grey values)"


@pytest.mark.imagej_command
def test_imagej_command_needs_ccf_or_ica(session):
    import jpype

    from colocalize.imagej import to_imageplus

    a, b = _pair()
    to_imageplus(a, title="A").show()
    to_imageplus(b, title="B").show()
    session.IJ.runMacro('run("Coloc CCF and ICA...", "image_1=A image_2=B");')
    error = jpype.JClass("colocalize.bridge.Dispatch").lastError()
    assert error is not None
    assert "ccf" in str(error)
    assert "ica" in str(error)


# ---------------------------------------------------------------------------------------------
# ImageJ, plain launch (java -jar ij.jar -batch) with a Python worker

PLAIN_MACRO = r"""
dir = getArgument();
run("Set Measurements...", "decimal=9");
open(dir + "A.tif");
open(dir + "B.tif");
run("Coloc CCF and ICA...", "image_1=A.tif image_2=B.tif max_shift=10 ccf ica");
saveAs("Results", dir + "results.csv");
titles = getList("image.titles");
s = "";
for (i = 0; i < titles.length; i++) s = s + titles[i] + "\n";
File.saveString(s, dir + "titles.txt");
selectImage("Van Steensel's CCF of A.tif and B.tif");
Plot.getValues(x, y);
s = "";
for (i = 0; i < x.length; i++) s = s + d2s(x[i], 9) + "," + d2s(y[i], 9) + "\n";
File.saveString(s, dir + "ccf_plot.csv");
print("done");
"""


@pytest.mark.gui
def test_plain_imagej_shows_the_plots_and_the_api_numbers(tmp_path):
    from test_imagej_plain import IJ_JAR, _missing, launch

    reason = _missing()
    if reason is not None:
        skip_or_fail(reason)
    app = tmp_path / "ImageJ"
    app.mkdir()
    assert main(["install-fiji", str(app)]) == 0
    a, b = _pair()
    for name, data in (("A", a), ("B", b)):
        image = Image(data, axes="YX", spacing=(0.1, 0.1), unit="um")
        colocalize.write_image(tmp_path / f"{name}.tif", image)
    assert IJ_JAR.is_file()
    done = launch(app, PLAIN_MACRO, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "done" in done.stdout + done.stderr
    titles = (tmp_path / "titles.txt").read_text().splitlines()
    assert {
        "Van Steensel's CCF of A.tif and B.tif",
        "Li's ICA of A.tif",
        "Li's ICA of B.tif",
    } <= set(titles)
    ccf = quiet(colocalize.van_steensel_ccf, a, b, max_shift=10, spacing=0.1, unit="um")
    ica = colocalize.li_ica(a, b)
    with (tmp_path / "results.csv").open(newline="") as file:
        row = list(csv.DictReader(file))[-1]
    assert row["unit"] == "um"
    for name in ("r_max", "dx_max", "shift_max", "r_min", "fwhm", "fwhm_calibrated", "fit_c"):
        value = ccf.dx_max * ccf.pixel_size if name == "shift_max" else getattr(ccf, name)
        assert float(row[name]) == pytest.approx(value, rel=1e-8, abs=2e-9), name
    assert float(row["icq"]) == pytest.approx(ica.icq, abs=2e-9)
    plotted = np.loadtxt(tmp_path / "ccf_plot.csv", delimiter=",")
    np.testing.assert_array_equal(plotted[:, 0], ccf.dx)
    np.testing.assert_allclose(plotted[:, 1], ccf.r, atol=2e-9)
