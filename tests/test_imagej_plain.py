"""ImageJ launched the normal way, with no Python inside it: ``java -jar ij.jar -ijpath DIR
-batch job.ijm`` after ``colocalize install-fiji DIR``. The shim starts a Python worker (the
Python recorded by install-fiji) and the macro's numbers, saved with ``saveAs("Results", ...)``,
equal the Python API's on the same images.

Plain ImageJ 1.53t cannot build its menus with ``java.awt.headless=true``, so these launches need
a display: the tests are marked ``gui`` (scripts/test.sh runs them under xvfb-run) and wrap the
launch in ``xvfb-run -a`` themselves when no display is set. One ImageJ launch runs many
commands, to keep the suite fast.
"""

from __future__ import annotations

import csv
import math
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

import colocalize
from _imagej_helpers import time_lapse as _time_lapse
from colocalize import Image

pytestmark = pytest.mark.gui

IJ_JAR = Path("/usr/share/java/ij.jar")
LAUNCH_TIMEOUT = 120.0


def _missing() -> str | None:
    if shutil.which("java") is None:
        return "java not found: apt-get install default-jdk-headless"
    if not IJ_JAR.is_file():
        return "ImageJ 1.x not found: apt-get install libij-java"
    if not os.environ.get("DISPLAY") and shutil.which("xvfb-run") is None:
        return "no display and no xvfb-run: apt-get install xvfb"
    return None


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Path:
    """A plain ImageJ folder with colocalize installed by ``colocalize install-fiji``."""
    reason = _missing()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("ImageJ")  # empty: install-fiji creates plugins/
    done = subprocess.run(
        [sys.executable, "-m", "colocalize", "install-fiji", str(folder)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    recorded = (folder / "plugins" / "colocalize-python.txt").read_text().strip()
    assert recorded == sys.executable
    return folder


def launch(
    app: Path, macro: str, folder: Path, *, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``macro`` in a plain ImageJ (``-batch``) from ``app``; the macro's argument is
    ``folder`` (with a trailing slash)."""
    job = folder / "job.ijm"
    job.write_text(macro)
    command = ["java", "-jar", str(IJ_JAR), "-ijpath", str(app), "-batch", str(job), f"{folder}/"]
    return run_with_display(command, env=env, cwd=folder)


def run_with_display(
    command: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = LAUNCH_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` with a display (``xvfb-run -a`` when none is set) in its own process
    group, all of which is killed on timeout (xvfb-run alone would leave ImageJ running)."""
    if not os.environ.get("DISPLAY"):
        command = ["xvfb-run", "-a", *command]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise
    return subprocess.CompletedProcess(command, process.returncode, out, err)


def read_results(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


def quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", colocalize.ColocalizeWarning)
        return function(*args, **kwargs)


def _pair(seed: int = 0, shape=(96, 80)) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    base = ndimage.gaussian_filter(rng.random(shape), 2)
    a = (base * 3000 + rng.random(shape) * 300).astype(np.uint16)
    b = (np.roll(base, 1, axis=-1) * 1500 + rng.random(shape) * 300).astype(np.uint16)
    return a, b


def _spots(shape=(64, 64), shift=3, seed=0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    spots = np.zeros(shape)
    spots[tuple(rng.integers(8, min(shape) - 8, (2, 30)))] = 1
    a = (ndimage.gaussian_filter(spots, 1.5) * 4000).astype(np.uint16)
    b = (ndimage.gaussian_filter(np.roll(spots, shift, axis=-1), 1.5) * 4000).astype(np.uint16)
    return a, b


def _nuclei(shape=(80, 80)) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    image = np.zeros(shape)
    for cy, cx in ((20, 20), (20, 58), (58, 30), (60, 62)):
        image += ((yy - cy) ** 2 + (xx - cx) ** 2 < 8**2) * 1000.0
    noise = np.random.default_rng(1).random(shape) * 50
    return (ndimage.gaussian_filter(image, 1) + noise).astype(np.uint16)


MACRO = r"""
dir = getArgument();
setBatchMode(true);
run("Set Measurements...", "decimal=9");
open(dir + "A.tif");
open(dir + "B.tif");
open(dir + "cells.tif");
open(dir + "mask.tif");
open(dir + "SA.tif");
open(dir + "SB.tif");
open(dir + "nuclei.tif");
open(dir + "two.tif");
open(dir + "ktr.tif");
open(dir + "ktr_nuclei.tif");
function step(name, command, options) {
    run("Clear Results");
    run(command, options);
    saveAs("Results", dir + name + ".csv");
    print("done " + name);
}
step("coefficients", "Coloc Coefficients...", "image_1=A.tif image_2=B.tif threshold=Costes");
step("manual_mask", "Coloc Coefficients...", "image_1=A.tif image_2=B.tif mask=mask.tif "
    + "threshold=Manual threshold_1=1200 threshold_2=700 colocalized_pixel_mask");
selectImage("Colocalized pixels of A.tif and B.tif");
saveAs("Tiff", dir + "out_coloc.tif");
step("channels", "Coloc Coefficients...",
    "image_1=cells.tif image_2=cells.tif channel_1=2 channel_2=1 threshold=Otsu");
step("threshold", "Coloc Auto Threshold...", "image=A.tif method=Li dark_background");
step("costes", "Coloc Costes Significance...",
    "image_1=A.tif image_2=B.tif psf_size=3 randomizations=20 seed=42 histogram");
selectImage("Costes significance of A.tif and B.tif");
print("plot: " + getTitle());
Plot.getValues(x, y);
bars = "";
for (i = 0; i < x.length; i++) bars = bars + d2s(x[i], 9) + "," + d2s(y[i], 0) + "\n";
File.saveString(bars, dir + "costes_bars.csv");
saveAs("Tiff", dir + "out_costes_plot.tif");
step("ccc", "Coloc Cross Correlation...",
    "image_1=SA.tif image_2=SB.tif confidence significant_digits=0");
step("nuclei", "Coloc Segment Nuclei...", "image=nuclei.tif channel=1 method=Otsu");
selectImage("Nuclei of nuclei.tif");
saveAs("Tiff", dir + "out_labels.tif");
run("Coloc Cytoplasm Rings...", "labels=out_labels.tif inner=0.2 outer=1");
selectImage("Rings of out_labels.tif");
saveAs("Tiff", dir + "out_rings.tif");
step("learned", "Coloc Learned Threshold...",
    "image=two.tif model=[" + dir + "model.json] apply_threshold rescale");
selectImage("two.tif (learned threshold)");
saveAs("Tiff", dir + "out_learned.tif");
step("translocation", "Coloc Translocation...",
    "image=ktr.tif nucleus_channel=1 reporter_channel=2 nuclei=ktr_nuclei.tif inner=0.5 outer=2");
step("batch", "Coloc Batch...", "folder=[" + dir + "batch] pattern=[{condition}/*.tif] "
    + "output=[" + dir + "batch-out] threshold=Otsu");
print("all done");
"""


@pytest.fixture(scope="module")
def session(app, tmp_path_factory):
    """One plain ImageJ launch running every image command; returns (folder, process, inputs)."""
    folder = tmp_path_factory.mktemp("plain")
    a, b = _pair()
    spacing = (0.1, 0.1)
    colocalize.write_image(folder / "A.tif", Image(a, axes="YX", spacing=spacing, unit="um"))
    colocalize.write_image(folder / "B.tif", Image(b, axes="YX", spacing=spacing, unit="um"))
    cells = np.stack(_pair(seed=5))
    colocalize.write_image(folder / "cells.tif", Image(cells, axes="CYX", spacing=(1.0, 0.2, 0.2)))
    mask = np.zeros(a.shape, np.uint8)
    mask[10:70, 15:60] = 255
    colocalize.write_image(folder / "mask.tif", mask)
    sa, sb = _spots()
    colocalize.write_image(folder / "SA.tif", Image(sa, axes="YX", spacing=(0.05, 0.05), unit="um"))
    colocalize.write_image(folder / "SB.tif", Image(sb, axes="YX", spacing=(0.05, 0.05), unit="um"))
    nuclei = _nuclei()
    colocalize.write_image(
        folder / "nuclei.tif", Image(nuclei, axes="YX", spacing=(0.1, 0.1), unit="um")
    )
    # learned threshold: a model and a two-channel image
    rng = np.random.default_rng(0)
    features = np.sort(rng.uniform(0, 100, (40, 9)), axis=1)
    midpoint = 3 + 0.5 * features[:, 8] + rng.normal(0, 1, 40)
    labels = np.array(["0", "1"] * 20)
    model = colocalize.ThresholdModel.fit(features, labels, midpoint - 2, midpoint + 2)
    model.save(folder / "model.json")
    two = (rng.random((2, 32, 32)) * 200).astype(np.uint8)
    colocalize.write_image(
        folder / "two.tif", Image(two, axes="CYX", spacing=(1.0, 0.2, 0.2), unit="um")
    )
    # translocation: a calibrated time-lapse and its nuclei
    ktr, ktr_nuclei = _time_lapse()
    colocalize.write_image(
        folder / "ktr.tif", Image(ktr, axes="TCYX", spacing=(30.0, 1.0, 0.5, 0.5), unit="um")
    )
    colocalize.write_image(
        folder / "ktr_nuclei.tif",
        Image(ktr_nuclei, axes="TYX", spacing=(30.0, 0.5, 0.5), unit="um"),
    )
    # batch: two conditions of two-channel images
    for condition, seed in (("control", 1), ("treated", 2)):
        (folder / "batch" / condition).mkdir(parents=True)
        for k in range(2):
            colocalize.write_image(
                folder / "batch" / condition / f"cell{k}.tif",
                Image(np.stack(_pair(seed=10 * seed + k, shape=(40, 44))), axes="CYX"),
            )
    inputs = {
        str(p.relative_to(folder)): p.read_bytes()
        for p in [*folder.rglob("*.tif"), folder / "model.json"]
    }
    done = launch(app, MACRO, folder)
    data = {
        "a": a,
        "b": b,
        "cells": cells,
        "mask": mask != 0,
        "sa": sa,
        "sb": sb,
        "nuclei": nuclei,
        "model": model,
        "two": two,
        "ktr": ktr,
        "ktr_nuclei": ktr_nuclei,
    }
    return folder, done, inputs, data


def _assert_equal(row: dict[str, str], result, *, atol: float = 2e-9) -> None:
    """Saved numbers (9 decimals) equal the Python API's."""
    for name, value in vars(result).items():
        if not isinstance(value, float | int) or isinstance(value, bool):
            continue
        saved = float(row[name]) if row[name] not in ("", "NaN") else math.nan
        if math.isnan(value):
            assert math.isnan(saved), name
        else:
            assert saved == pytest.approx(value, rel=1e-9, abs=atol), name


def test_the_macro_runs_every_command_with_a_python_worker(session):
    folder, done, inputs, _ = session
    log = done.stdout + done.stderr
    assert "all done" in done.stdout, log
    assert "Traceback" not in log
    # no command wrote over its inputs
    assert {p: (folder / p).read_bytes() for p in inputs} == inputs
    assert "Coloc" not in done.stdout.replace("Coloc Batch: ", "")  # no error lines


def test_coefficients_equal_the_python_api(session):
    folder, _, _, data = session
    rows = read_results(folder / "coefficients.csv")
    assert len(rows) == 1
    assert (rows[0]["Image 1"], rows[0]["Image 2"]) == ("A.tif", "B.tif")
    _assert_equal(
        rows[0], quiet(colocalize.coefficients, data["a"], data["b"], thresholds="costes")
    )


def test_manual_thresholds_mask_image_and_colocalized_pixels(session):
    folder, _, _, data = session
    a, b, mask = data["a"], data["b"], data["mask"]
    expected = quiet(colocalize.coefficients, a, b, mask=mask, thresholds=(1200.0, 700.0))
    _assert_equal(read_results(folder / "manual_mask.csv")[0], expected)
    coloc = colocalize.read_image(folder / "out_coloc.tif")
    np.testing.assert_array_equal(coloc.data != 0, (a > 1200) & (b > 700) & mask)
    assert coloc.spacing == (0.1, 0.1)
    assert coloc.unit == "um"


def test_channels_of_a_hyperstack(session):
    folder, _, _, data = session
    cells = data["cells"]
    row = read_results(folder / "channels.csv")[0]
    assert (row["Image 1"], row["Image 2"]) == ("cells.tif (C2)", "cells.tif (C1)")
    _assert_equal(row, quiet(colocalize.coefficients, cells[1], cells[0], thresholds="Otsu"))


def test_auto_threshold_and_costes_significance(session):
    folder, _, _, data = session
    row = read_results(folder / "threshold.csv")[0]
    assert float(row["Threshold"]) == colocalize.threshold(data["a"], "Li")
    expected = quiet(colocalize.costes_significance, data["a"], data["b"], psf=3, n=20, rng=42)
    row = read_results(folder / "costes.csv")[0]
    # the table names each p-value by the direction it tests
    row["p_value"] = row.pop("P(r_rand < r_obs) normal")
    row["p_value_empirical"] = row.pop("p(r_rand >= r_obs) permutation")
    _assert_equal(row, expected)


def test_costes_significance_opens_the_histogram_plot(session):
    """The plot window of a plain launch: its title, its bars (the histogram of the randomized
    r), and the axis labels and legend ImageJ saved with it (its TIFF's plot data)."""
    import tifffile

    folder, done, _, data = session
    assert "plot: Costes significance of A.tif and B.tif" in done.stdout
    expected = quiet(colocalize.costes_significance, data["a"], data["b"], psf=3, n=20, rng=42)
    counts, edges = expected.histogram()
    bars = np.loadtxt(folder / "costes_bars.csv", delimiter=",", ndmin=2)
    np.testing.assert_allclose(bars[:, 0], (edges[:-1] + edges[1:]) / 2, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(bars[:, 1], counts)
    with tifffile.TiffFile(folder / "out_costes_plot.tif") as tif:
        plot = tif.imagej_metadata["Plot"]  # ImageJ's serialized ij.gui.Plot
    for text in (
        "Pearson's r (randomized: grey bars; observed: red line)",
        "Randomizations (count)",
        "randomized r (n = 20)",
        f"observed r = {expected.observed:.4g}",
    ):
        assert text.encode() in plot, text


def test_cross_correlation(session):
    folder, _, _, data = session
    rows = read_results(folder / "ccc.csv")
    values = {r["Measure"]: float(r["Value"]) for r in rows}
    expected = quiet(
        colocalize.cross_correlation, data["sa"], data["sb"], spacing=(0.05, 0.05), unit="um"
    )
    assert values["Mean (um)"] == pytest.approx(expected.mean, rel=1e-8, abs=2e-9)
    assert values["StDev (um)"] == pytest.approx(expected.sigma, rel=1e-8, abs=2e-9)
    assert values["Confidence"] == pytest.approx(expected.confidence, rel=1e-8, abs=2e-9)


def test_segment_nuclei_and_rings(session):
    folder, _, _, data = session
    expected = colocalize.segment_nuclei(data["nuclei"], spacing=(0.1, 0.1), method="Otsu")
    labels = colocalize.read_image(folder / "out_labels.tif")
    np.testing.assert_array_equal(labels.data, expected)
    assert len(read_results(folder / "nuclei.csv")) == int(expected.max()) == 4
    rings = colocalize.read_image(folder / "out_rings.tif")
    np.testing.assert_array_equal(
        rings.data, colocalize.ring_mask(expected, inner=0.2, outer=1.0, spacing=(0.1, 0.1))
    )


def test_learned_threshold(session):
    folder, _, _, data = session
    model, two = data["model"], data["two"]
    levels = model.predict_image(two, channel_axis=0, channels=["0", "1"])
    rows = read_results(folder / "learned.csv")
    assert [float(r["Threshold"]) for r in rows] == pytest.approx(list(levels), abs=2e-9)
    out = colocalize.read_image(folder / "out_learned.tif")
    for c in range(2):
        np.testing.assert_array_equal(out.data[c], colocalize.apply_threshold(two[c], levels[c]))
    assert out.spacing == (1.0, 0.2, 0.2)


def test_translocation(session):
    folder, _, _, data = session
    image = Image(data["ktr"], axes="TCYX", spacing=(30.0, 1.0, 0.5, 0.5), unit="um")
    expected = colocalize.translocation(
        image,
        nucleus_channel=0,
        reporter_channel=1,
        nuclei=data["ktr_nuclei"],
        inner=0.5,
        outer=2.0,
    )
    rows = read_results(folder / "translocation.csv")
    assert len(rows) == len(expected)
    assert [float(r["ratio"]) for r in rows] == pytest.approx(
        expected["ratio"].tolist(), rel=1e-8, abs=2e-9
    )
    assert [float(r["time"]) for r in rows] == (expected["frame"] * 30.0).tolist()


def test_batch(session, tmp_path):
    folder, _, _, _ = session
    expected = colocalize.batch(
        folder / "batch",
        out=tmp_path / "out",
        pattern="{condition}/*.tif",
        method="Otsu",
        progress=False,
        workers=1,
    ).read_summary()
    rows = read_results(folder / "batch.csv")
    assert [r["condition"] for r in rows] == expected["condition"].tolist()
    assert [float(r["pearson_mean"]) for r in rows] == pytest.approx(
        expected["pearson_mean"].tolist(), rel=1e-8, abs=2e-9
    )
    assert (folder / "batch-out" / "summary.csv").is_file()


def test_the_cookbook_batch_macro_runs_as_a_plain_batch_job(app, tmp_path):
    """docs/macros.md's batch_coloc.ijm in a plain ImageJ -batch launch (no Python inside)."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "macros.md").read_text()
    start = text.index("```ijm\n// batch_coloc.ijm")
    macro = text[start + len("```ijm\n") : text.index("```", start + 6)]
    pairs = {}
    for k, name in enumerate(["cellA", "cellB"]):
        pairs[name] = _pair(seed=30 + k)
        colocalize.write_image(tmp_path / f"{name}_green.tif", pairs[name][0])
        colocalize.write_image(tmp_path / f"{name}_red.tif", pairs[name][1])
    done = launch(app, macro, tmp_path)
    assert "wrote" in done.stdout, done.stdout + done.stderr
    lines = (tmp_path / "coloc.csv").read_text().splitlines()
    assert len(lines) == 3
    for line in lines[1:]:
        name, *values = line.split(",")
        expected = quiet(colocalize.coefficients, *pairs[name], thresholds="costes")
        fields = ["pearson", "m1", "m2", "tm1", "tm2", "threshold0", "threshold1"]
        for field, value in zip(fields, values):
            assert float(value) == pytest.approx(getattr(expected, field), abs=1e-8), field


GUI_MACRO = r"""
dir = getArgument();
run("Set Measurements...", "decimal=9");
open(dir + "A.tif");
open(dir + "B.tif");
run("Coloc Coefficients...");
Table.save(dir + "dialog.csv", "Colocalization coefficients");
"""


def test_the_dialog_of_a_plain_imagej_window_runs_the_command(app, tmp_path):
    """ImageJ started the normal way (a window, no Python inside): a macro without options opens
    the command's dialog; a real mouse click on OK runs it through the worker and the named
    table shows the Python API's numbers; a screenshot shows the result."""
    if not os.environ.get("DISPLAY"):
        pytest.skip("needs a display: scripts/test.sh runs it under xvfb-run")
    for tool in ("xdotool", "import"):
        if shutil.which(tool) is None:
            message = f"{tool} is missing: apt-get install xdotool imagemagick"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
    a, b = _pair(seed=8)
    colocalize.write_image(tmp_path / "A.tif", a)
    colocalize.write_image(tmp_path / "B.tif", b)
    (tmp_path / "gui.ijm").write_text(GUI_MACRO)
    command = ["java", "-jar", str(IJ_JAR), "-ijpath", str(app), "-macro"]
    process = subprocess.Popen(
        [*command, str(tmp_path / "gui.ijm"), f"{tmp_path}/"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        found = subprocess.run(
            ["xdotool", "search", "--sync", "--name", "^Coloc Coefficients$"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        window = found.stdout.split()[0]
        time.sleep(1.0)  # let the dialog lay itself out
        geometry = subprocess.run(
            ["xdotool", "getwindowgeometry", "--shell", window],
            capture_output=True,
            text=True,
            timeout=20,
        ).stdout
        g = dict(line.split("=") for line in geometry.split())
        x = int(g["X"]) + int(g["WIDTH"]) - 35  # the OK button, bottom right
        y = int(g["Y"]) + int(g["HEIGHT"]) - 22
        subprocess.run(
            ["xdotool", "mousemove", str(x), str(y), "click", "1"], check=True, timeout=20
        )
        saved = tmp_path / "dialog.csv"
        deadline = time.monotonic() + 60
        while not saved.is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(0.5)
        subprocess.run(["import", "-window", "root", str(tmp_path / "dialog.png")], timeout=30)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
    rows = read_results(saved)
    assert len(rows) == 1
    # the dialog's defaults: image 1 is the current image, image 2 the other one; Costes
    assert (rows[0]["Image 1"], rows[0]["Image 2"]) == ("B.tif", "A.tif")
    expected = quiet(colocalize.coefficients, b, a, thresholds="costes")
    for name in ("pearson", "m1", "m2", "tm1", "tm2", "threshold0", "threshold1"):
        assert float(rows[0][name]) == pytest.approx(getattr(expected, name), abs=2e-9), name
    assert (tmp_path / "dialog.png").stat().st_size > 0
