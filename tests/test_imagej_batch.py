"""Coloc Batch run from real ImageJ macros (Debian's ij.jar), compared with ``colocalize.batch``;
failed images in the Log; bad input; the cookbook's headless batch macro.

Headless, parameters go through Python's option parser; under ``xvfb-run`` through ImageJ's
``GenericDialog`` (scripts/test.sh runs both).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import colocalize
from colocalize.imagej import from_results_table, get_table

pytestmark = pytest.mark.imagej_command

TABLE = "Batch summary"
TABLES = [TABLE]  # emptied before and after every test by the session fixture (conftest.py)


def run(gateway, options: str) -> str | None:
    """Run Coloc Batch from a macro; colocalize's error message, or None on success."""
    import jpype

    marker = gateway.IJ.runMacro(f'run("Coloc Batch...", "{options}"); return "finished";')
    error = jpype.JClass("colocalize.bridge.Dispatch").lastError()
    if error is None:
        assert str(marker) == "finished"
    return None if error is None else str(error)


def log_text(gateway, capfd) -> str:
    """The Log window's text and what ImageJ printed to standard output (its log without a
    Log window: headless, or no ImageJ main window)."""
    window = None if gateway.headless else gateway.IJ.getLog()
    return ("" if window is None else str(window)) + capfd.readouterr().out


@pytest.fixture
def repository(tmp_path) -> Path:
    """Two conditions of two three-channel images each, plus a file that is not an image."""
    root = tmp_path / "images"
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:32, :32]
    for condition, shift in (("ctrl", 0), ("drug", 3)):
        (root / condition).mkdir(parents=True)
        for series in (1, 2):
            base = np.exp(-((yy - 16) ** 2 + (xx - 12 - series) ** 2) / 40.0)
            channels = [
                base * 200 + rng.random((32, 32)) * 30,
                np.roll(base, shift, axis=1) * 150 + rng.random((32, 32)) * 30,
                rng.random((32, 32)) * 100,
            ]
            colocalize.write_image(
                root / condition / f"s{series}.tif", np.array(channels, np.uint8), axes="CYX"
            )
    (root / "ctrl" / "broken.tif").write_bytes(b"not a TIFF file")
    return root


def summary_table() -> pd.DataFrame:
    found = get_table(TABLE)
    assert found is not None, f"no table {TABLE!r}"
    return from_results_table(found)


def python_batch(repository: Path, tmp_path: Path, **options) -> colocalize.BatchResult:
    """``colocalize.batch`` of ``repository`` as Coloc Batch runs it (one process), into
    ``tmp_path/python``."""
    return colocalize.batch(
        repository, out=tmp_path / "python", workers=1, progress=False, **options
    )


def from_one(name: str) -> str:
    """The batch's name of an unnamed channel (C0, C1, ... from 0) as ImageJ counts it."""
    return f"C{int(name[1:]) + 1}"


def assert_summary_matches(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """The ImageJ table has the rows of summary.csv, channels counted from 1 (C1, C2, ...)."""
    assert len(got) == len(expected) > 0
    assert "channel2" not in got  # pairs only: the empty triple column is left out
    for column in expected.columns.drop("channel2"):
        if column in ("channel0", "channel1"):
            assert got[column].tolist() == [from_one(c) for c in expected[column]]
        elif expected[column].dtype.kind in "if":
            np.testing.assert_allclose(
                got[column].to_numpy(float),
                expected[column].to_numpy(float),
                rtol=1e-12,
                atol=1e-12,  # pearson_below and the like can be ~0
                err_msg=column,
            )
        else:
            assert got[column].astype(str).tolist() == expected[column].astype(str).tolist()


def test_batch_matches_python_api_reports_failures_and_writes_a_report(
    session, repository, tmp_path, capfd
):
    out = tmp_path / "out"
    options = (
        f"folder=[{repository}] pattern=[{{condition}}/*.tif] output=[{out}] threshold=Costes "
        f"channels=[1, 2] html_report"
    )
    capfd.readouterr()
    assert run(session, options) is None
    expected = python_batch(
        repository,
        tmp_path,
        pattern="{condition}/*.tif",
        method="costes",
        channels=["0", "1"],
    )
    assert expected.n_failed == 1
    got = summary_table()
    assert_summary_matches(got, expected.read_summary())
    assert sorted(set(got["condition"])) == ["ctrl", "drug"]
    assert set(got["threshold_source"]) == {"costes"}
    pd.testing.assert_frame_equal(pd.read_csv(out / "summary.csv"), pd.read_csv(expected.summary))
    log = log_text(session, capfd)
    assert "Coloc Batch: 5 image(s): 5 measured, 0 taken from an earlier run, 1 failed" in log
    assert "Coloc Batch: failed: ctrl/broken.tif: " in log
    assert f"Coloc Batch: report: {out / 'report.html'}" in log
    assert (out / "report.html").is_file()


def test_batch_thresholds_mask_channel_default_output_and_resume(
    session, repository, tmp_path, capfd
):
    (repository / "ctrl" / "broken.tif").unlink()
    options = f"folder=[{repository}] threshold=Otsu mask_channel=3 mask_method=Li resume"
    assert run(session, options) is None
    out = repository / "colocalize-batch"  # the default output folder, left out of the batch
    expected = python_batch(
        repository,
        tmp_path,
        pattern="**/*.tif",
        method="Otsu",
        channels=["0", "1"],
        mask_channel="2",
        mask_method="Li",
    )
    assert_summary_matches(summary_table(), expected.read_summary())
    # the mask channel (3) is never paired with the others: one pair, counted from 1
    assert summary_table()[["channel0", "channel1"]].drop_duplicates().values.tolist() == [
        ["C1", "C2"]
    ]
    assert set(pd.read_csv(out / "summary.csv")["channel1"]) == {"C1"}  # Python's count
    assert (out / "coefficients.csv").is_file()
    assert not (out / "report.html").exists()  # html_report left out of the options: off

    capfd.readouterr()
    assert run(session, options) is None
    log = log_text(session, capfd)
    assert "4 image(s): 0 measured, 4 taken from an earlier run, 0 failed" in log


def test_batch_refuses_to_pair_the_mask_channel(session, repository, tmp_path):
    options = f"folder=[{repository}] output=[{tmp_path / 'out'}] channels=[1,3] mask_channel=3"
    error = run(session, options)
    assert error is not None
    assert "channels= includes the mask channel 3" in error
    assert not (tmp_path / "out").exists()


def test_batch_with_manual_thresholds_csv(session, repository, tmp_path):
    (repository / "ctrl" / "broken.tif").unlink()
    csv = tmp_path / "thresholds.csv"
    rows = [
        {"image": f"{c}/s{s}.tif", "channel": k, "threshold": 20 + 5 * k + s}
        for c in ("ctrl", "drug")
        for s in (1, 2)
        for k in range(3)
    ]
    pd.DataFrame(rows).to_csv(csv, index=False)
    options = (
        f"folder=[{repository}] pattern=[{{condition}}/*.tif] output=[{tmp_path / 'out'}] "
        f"threshold=Manual thresholds_csv=[{csv}]"
    )
    assert run(session, options) is None
    expected = python_batch(
        repository,
        tmp_path,
        pattern="{condition}/*.tif",
        thresholds=csv,
    )
    got = summary_table()
    assert set(got["threshold_source"]) == {"manual"}
    assert_summary_matches(got, expected.read_summary())


def test_batch_with_a_learned_threshold_model(session, repository, tmp_path):
    (repository / "ctrl" / "broken.tif").unlink()
    rng = np.random.default_rng(1)
    features = np.sort(rng.uniform(0, 100, (60, 9)), axis=1)
    names = np.array(["C0", "C1", "C2"] * 20)  # batch predicts from the files' channel names
    midpoint = 5 + 0.3 * features[:, 8] + rng.normal(0, 1, 60)
    model = tmp_path / "model.json"
    colocalize.ThresholdModel.fit(features, names, midpoint - 2, midpoint + 2).save(model)
    options = (
        f"folder=[{repository}] pattern=[{{condition}}/*.tif] output=[{tmp_path / 'out'}] "
        f"threshold=Model model=[{model}] channels=[1,2]"
    )
    assert run(session, options) is None
    expected = python_batch(
        repository,
        tmp_path,
        pattern="{condition}/*.tif",
        model=model,
        channels=["0", "1"],
    )
    got = summary_table()
    assert set(got["threshold_source"]) == {"model"}
    assert_summary_matches(got, expected.read_summary())


def test_batch_refuses_bad_input_with_one_line(session, repository, tmp_path):
    error = run(session, "threshold=None")
    assert error == (
        "Coloc Batch: folder= is empty; choose the folder of images (folder=[/path/to/images])"
    )
    error = run(session, f"folder=[{tmp_path / 'absent'}] output=[{tmp_path / 'o'}]")
    assert error is not None
    assert "does not exist" in error
    error = run(session, f"folder=[{repository}] threshold=Manual")
    assert error is not None
    assert "threshold=Manual needs thresholds_csv=" in error
    error = run(session, f"folder=[{repository}] threshold=Model")
    assert error is not None
    assert "threshold=Model needs model=" in error
    error = run(session, f"folder=[{repository}] channels=[0,1]")
    assert error is not None
    assert "channel numbers start at 1" in error
    assert get_table(TABLE) is None or int(get_table(TABLE).size()) == 0


def test_the_cookbook_coloc_batch_macro_runs_headless(ij, repository):
    docs = Path(__file__).resolve().parents[1] / "docs" / "macros.md"
    text = docs.read_text()
    start = text.index("```ijm\n// coloc_batch.ijm")
    macro = text[start + len("```ijm\n") : text.index("```", start + 6)]
    path = repository.parent / "coloc_batch.ijm"
    path.write_text(macro)
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "colocalize",
            "imagej",
            "--headless",
            "--macro",
            str(path),
            "--arg",
            str(repository),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    summary = pd.read_csv(repository / "colocalize-batch" / "summary.csv")
    for _, row in summary.iterrows():
        line = (
            f"{row['condition']} {from_one(row['channel0'])}-{from_one(row['channel1'])}: "
            f"pearson {row['pearson_mean']:.4f} +/- {row['pearson_sem']:.4f} "
            f"(n={row['n_images']})"
        )
        assert line in done.stdout
    assert "failed: ctrl/broken.tif" in done.stdout
    assert (repository / "colocalize-batch" / "report.html").is_file()
