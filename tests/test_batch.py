"""Batch analysis on a generated repository in the seed paper's layout."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tifffile
from hypothesis import given, settings
from hypothesis import strategies as st

import colocalize
from colocalize._batch._inputs import parse_pattern
from colocalize._batch._outputs import summarize
from colocalize._batch._synthetic import make_puncta_repository, make_repository
from colocalize._cli._main import main
from colocalize._output import write_atomic

PATTERN = "{organelle}/{time}min/series{series}/*.tif"
RG = ("red", "green")


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("repo")
    weights = make_repository(root, organelles=("er", "golgi"), times=(5, 30), series=(1, 2, 3))
    (root / "er" / "5min" / "series3" / "broken.tif").write_bytes(b"this is not a TIFF")
    return root, weights


@pytest.fixture
def repo_copy(repository: tuple[Path, dict], tmp_path: Path) -> Path:
    target = tmp_path / "repo"
    shutil.copytree(repository[0], target)
    return target


def _pairs(table: pd.DataFrame, pair: tuple[str, str] = RG) -> pd.DataFrame:
    return table[(table["channel0"] == pair[0]) & (table["channel1"] == pair[1])]


@pytest.fixture(scope="module")
def serial(repository: tuple[Path, dict], tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("serial")
    return colocalize.batch(repository[0], pattern=PATTERN, out=out, workers=1)


# ---------------------------------------------------------------- patterns


def test_parse_pattern_fields_and_globs() -> None:
    regex, fields = parse_pattern("{organelle}/**/{time}min/series{series}/*.tif")
    assert fields == ("organelle", "time", "series")
    m = regex.fullmatch("golgi/a/b/30min/series12/x y.tif")
    assert m is not None
    assert m.groupdict() == {"organelle": "golgi", "time": "30", "series": "12"}
    assert regex.fullmatch("golgi/30min/series1/x.tif") is not None
    assert regex.fullmatch("golgi/30min/series1/x.tiff") is None
    assert regex.fullmatch("golgi/30min/series1/sub/x.tif") is None


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("{a}/{a}.tif", "twice"),
        ("{path}/*.tif", "clashes"),
        ("{a/*.tif", "malformed"),
        ("/abs/{a}.tif", "relative"),
    ],
)
def test_parse_pattern_errors(pattern: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_pattern(pattern)


# ---------------------------------------------------------------- the main job


def test_summary_recovers_known_ordering(serial, repository) -> None:
    _, weights = repository
    summary = serial.read_summary()
    rg = _pairs(summary).set_index(["organelle", "time"])
    assert sorted(rg.index) == sorted(weights)
    assert (rg["n_images"] == 3).all()
    assert (rg["pearson_n"] == 3).all()
    by_weight = sorted(weights, key=weights.get)
    means = [rg.loc[key, "pearson_mean"] for key in by_weight]
    assert means == sorted(means)
    assert means[-1] - means[0] > 0.3
    # an independent pair has no such trend and stays near 0
    rb = _pairs(summary, ("red", "blue"))
    assert (rb["pearson_mean"].abs() < 0.25).all()
    # standard error = sd / sqrt(n) over the rows of the group
    table = serial.read_coefficients()
    group = _pairs(table)
    group = group[(group["organelle"] == "golgi") & (group["time"] == 30)]["pearson"]
    expected = group.std(ddof=1) / np.sqrt(group.size)
    assert rg.loc[("golgi", 30), "pearson_sem"] == pytest.approx(expected)


def test_table_layout_and_types(serial) -> None:
    table = serial.read_coefficients()
    assert serial.n_images == 13
    assert serial.n_rows == len(table) == 12 * 3
    assert list(table.columns[:5]) == ["path", "organelle", "time", "series", "threshold_source"]
    assert table["time"].dtype.kind == "i"  # "5" and "30" became numbers: 5 sorts before 30
    assert set(table["threshold_source"]) == {"none"}
    assert table["path"].str.endswith(".tif").all()
    # rows equal coefficient_table of the image itself
    row = table.iloc[0]
    image = colocalize.read_image(_root(serial) / row.path)
    direct = colocalize.coefficient_table(image)
    assert direct["pearson"].tolist() == pytest.approx(table["pearson"].iloc[:3].tolist())


def _root(result) -> Path:
    return Path(json.loads(result.provenance.read_text())["parameters"]["root"])


def test_errors_are_reported_and_never_stop_the_run(serial) -> None:
    errors = serial.read_errors()
    assert serial.n_failed == 1
    assert errors["path"].tolist() == ["er/5min/series3/broken.tif"]
    assert errors["threshold_source"].tolist() == [""]
    assert "broken.tif" in errors["error"].iloc[0]


def test_provenance_and_atomic_outputs(serial) -> None:
    prov = json.loads(serial.provenance.read_text())
    assert prov["version"] == colocalize.__version__
    assert prov["parameters"]["pattern"] == PATTERN
    assert prov["counts"]["n_images"] == 13
    files = {f["path"]: f for f in prov["files"]}
    first = "er/30min/series1/image0.tif"
    data = (_root(serial) / first).read_bytes()
    assert files[first]["sha256"] == hashlib.sha256(data).hexdigest()
    assert files[first]["size"] == len(data)
    leftovers = [p for p in serial.out.rglob("*.tmp")]
    assert leftovers == []
    assert serial.coefficients.stat().st_mode & 0o044  # readable like any file, not 0600
    if serial.parquet:
        parquet = pd.read_parquet(serial.parquet[0])
        assert len(parquet) == serial.n_rows


def test_rerun_resumes(repo_copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = colocalize.batch(repo_copy, pattern=PATTERN, out=out, workers=1)
    assert (first.n_computed, first.n_resumed, first.n_failed) == (13, 0, 1)
    second = colocalize.batch(repo_copy, pattern=PATTERN, out=out, workers=1)
    # every good image comes from .parts/; the broken one is retried
    assert (second.n_computed, second.n_resumed, second.n_failed) == (1, 12, 1)
    pd.testing.assert_frame_equal(first.read_coefficients(), second.read_coefficients())
    # a changed file is measured again
    changed = repo_copy / "golgi" / "30min" / "series2" / "image0.tif"
    stat = changed.stat()
    os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    third = colocalize.batch(repo_copy, pattern=PATTERN, out=out, workers=1)
    assert (third.n_computed, third.n_resumed) == (2, 11)
    # other parameters are a different batch: nothing is reused
    fourth = colocalize.batch(repo_copy, pattern=PATTERN, out=out, workers=1, method="Otsu")
    assert (fourth.n_computed, fourth.n_resumed) == (13, 0)
    no_resume = colocalize.batch(repo_copy, pattern=PATTERN, out=out, workers=1, resume=False)
    assert no_resume.n_resumed == 0


def test_write_atomic_keeps_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "x.csv"
    write_atomic(target, "old")

    def failing(tmp: str) -> None:
        Path(tmp).write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomic(target, writer=failing)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.csv"]


# ---------------------------------------------------------------- scale


def test_process_pool_matches_serial(repository, serial, tmp_path: Path) -> None:
    parallel = colocalize.batch(repository[0], pattern=PATTERN, out=tmp_path, workers=2)
    assert parallel.n_failed == 1
    pd.testing.assert_frame_equal(parallel.read_coefficients(), serial.read_coefficients())
    pd.testing.assert_frame_equal(parallel.read_summary(), serial.read_summary())


def test_dask_local_cluster_matches_serial(repository, serial, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_dask = colocalize.batch(repository[0], pattern=PATTERN, out=tmp_path, client=client)
    assert on_dask.n_failed == 1
    pd.testing.assert_frame_equal(on_dask.read_coefficients(), serial.read_coefficients())
    prov = json.loads(on_dask.provenance.read_text())
    assert prov["parameters"]["scheduler"] == "dask client"


def test_dask_scheduler_address(repository, serial, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        result = colocalize.batch(
            repository[0],
            pattern="golgi/{time}min/series{series}/*.tif",
            out=tmp_path,
            scheduler=cluster.scheduler_address,
        )
    expected = serial.read_coefficients()
    expected = expected[expected["organelle"] == "golgi"].reset_index(drop=True)
    expected = expected.drop(columns="organelle")
    pd.testing.assert_frame_equal(result.read_coefficients(), expected)


# ---------------------------------------------------------------- thresholds


def _manual_csv(root: Path, path: Path, value: float, *, skip: str | None = None) -> None:
    lines = ["image,channel,threshold"]
    for file in sorted(root.rglob("image*.tif")):
        rel = file.relative_to(root).as_posix()
        for channel in ("red", "green", "blue"):
            if rel == skip and channel == "green":
                continue
            lines.append(f"{file.relative_to(path.parent).as_posix()},{channel},{value}")
    path.write_text("\n".join(lines) + "\n")


def test_manual_thresholds_background_corrected(repository, tmp_path: Path) -> None:
    root, _ = repository
    csv = root.parent / f"manual-{tmp_path.name}.csv"
    skip = "golgi/5min/series1/image0.tif"
    _manual_csv(root, csv, 40, skip=skip)
    result = colocalize.batch(
        root, pattern=PATTERN, out=tmp_path, workers=1, thresholds=csv, method="costes"
    )
    table = result.read_coefficients()
    assert set(table["threshold_source"]) == {"manual", "costes"}
    manual = table[table["threshold_source"] == "manual"]
    assert (manual["background0"] == 40).all()
    assert manual["threshold0"].isna().all()
    # the manual rows are the coefficients of apply_threshold'ed channels (seed paper)
    row = _pairs(manual).iloc[0]
    image = colocalize.read_image(root / row["path"])
    corrected = np.stack([colocalize.apply_threshold(image.channel(c), 40) for c in RG])
    expected = colocalize.coefficients(corrected[0], corrected[1])
    assert row["pearson"] == pytest.approx(expected.pearson)
    assert row["m1"] == pytest.approx(expected.m1)
    # costes rows keep the intensities and report the thresholds
    costes = _pairs(table[table["threshold_source"] == "costes"])
    assert costes["threshold0"].notna().all()
    assert costes["background0"].isna().all()
    # the image without a green threshold: manual fails there, costes does not
    errors = result.read_errors()
    missing = errors[errors["path"] == skip]
    assert missing["threshold_source"].tolist() == ["manual"]
    assert "green" in missing["error"].iloc[0]
    assert ((table["path"] == skip) & (table["threshold_source"] == "costes")).sum() == 3


def test_manual_threshold_ranges_use_midpoint(repository, tmp_path: Path) -> None:
    root, _ = repository
    rel = "er/30min/series1/image0.tif"
    csv = tmp_path / "experts.csv"
    rows = [f"{root / rel},{c},30,50" for c in ("red", "green", "blue")]
    csv.write_text("image,channel,low,high\n" + "\n".join(rows) + "\n")
    result = colocalize.batch(
        root, pattern="er/30min/series1/*.tif", out=tmp_path / "o", workers=1, thresholds=csv
    )
    table = result.read_coefficients()
    assert (table["background0"] == 40).all()


def test_model_thresholds(repository, tmp_path: Path) -> None:
    root, _ = repository
    rng = np.random.default_rng(1)
    feats = np.sort(rng.uniform(0, 100, (30, 9)), axis=1)
    chans = np.array(["red", "green", "blue"] * 10)
    mid = 3 + 0.5 * feats[:, 8] + rng.normal(0, 1, 30)
    model = colocalize.ThresholdModel.fit(feats, chans, mid - 2, mid + 2)
    path = tmp_path / "model.json"
    model.save(path)
    result = colocalize.batch(
        root, pattern="golgi/**/*.tif", out=tmp_path / "o", workers=1, model=path
    )
    table = result.read_coefficients()
    assert set(table["threshold_source"]) == {"model"}
    row = table.iloc[0]
    image = colocalize.read_image(root / row["path"])
    deciles = colocalize.histogram_deciles(image.data, channel_axis=0)
    predicted = model.predict(deciles, list(image.channel_names))
    assert row["background0"] == pytest.approx(predicted[0])
    assert row["background1"] == pytest.approx(predicted[1])


# ---------------------------------------------------------------- image kinds and inputs


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("axes", ["CYX", "CZYX", "TCZYX"])
def test_every_layout_is_measured(tmp_path: Path, dtype, axes: str) -> None:
    rng = np.random.default_rng(0)
    sizes = {"T": 2, "C": 2, "Z": 3, "Y": 24, "X": 20}
    shape = tuple(sizes[a] for a in axes)
    data = (rng.random(shape) * 200).astype(dtype)
    (tmp_path / "in").mkdir()
    colocalize.write_image(tmp_path / "in" / "a.tif", data, axes=axes)
    result = colocalize.batch(tmp_path / "in", pattern="*.tif", out=tmp_path / "o", workers=1)
    table = result.read_coefficients()
    assert result.n_failed == 0
    assert len(table) == 1
    assert table["n_pixels"].iloc[0] == np.prod(shape) // 2
    c = axes.index("C")
    first, second = (np.take(data, i, axis=c).ravel().astype(float) for i in (0, 1))
    expected = np.corrcoef(first, second)[0, 1]
    assert table["pearson"].iloc[0] == pytest.approx(expected, rel=1e-9)


def test_rgb_and_single_channel(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    (tmp_path / "in").mkdir()
    rgb = rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "in" / "rgb.tif", rgb, photometric="rgb")
    tifffile.imwrite(tmp_path / "in" / "gray.tif", rgb[..., 0])
    result = colocalize.batch(tmp_path / "in", pattern="*.tif", out=tmp_path / "o", workers=1)
    table = result.read_coefficients()
    assert set(table["path"]) == {"rgb.tif"}
    assert len(table) == 3
    errors = result.read_errors()
    assert errors["path"].tolist() == ["gray.tif"]
    assert "no channel axis" in errors["error"].iloc[0]


def test_manifest_with_labels_and_mask_channel(repository, tmp_path: Path) -> None:
    root, _ = repository
    labels = np.zeros((64, 64), np.uint16)
    labels[:32], labels[32:] = 1, 2
    colocalize.write_image(tmp_path / "labels.tif", labels)
    manifest = tmp_path / "files.csv"
    manifest.write_text(
        "path,condition,labels\n"
        f"er/5min/series1/image0.tif,a,{tmp_path / 'labels.tif'}\n"
        f"golgi/30min/series1/image0.tif,b,{tmp_path / 'labels.tif'}\n"
    )
    result = colocalize.batch(
        root,
        manifest=manifest,
        out=tmp_path / "o",
        workers=1,
        channels=["red", "green"],
        mask_channel="blue",
    )
    table = result.read_coefficients()
    assert table["label"].tolist() == [1, 2, 1, 2]
    assert table["condition"].tolist() == ["a", "a", "b", "b"]
    assert (table["channel0"] == "red").all()
    # the blue channel's Otsu foreground is the mask: fewer pixels than the object
    assert (table["n_pixels"] < 32 * 64).all()
    summary = result.read_summary()
    assert summary["n_images"].tolist() == [1, 1]
    assert summary["pearson_n"].tolist() == [2, 2]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({}, ValueError, "exactly one of pattern"),
        ({"pattern": "*.png"}, ValueError, "no file"),
        ({"pattern": PATTERN, "method": "Otsoo"}, ValueError, "Otsoo"),
        ({"pattern": PATTERN, "group_by": ["organ"]}, ValueError, "organ"),
        ({"pattern": PATTERN, "model": 3}, TypeError, "ThresholdModel"),
        ({"pattern": PATTERN, "thresholds": "nowhere.csv"}, FileNotFoundError, "nowhere"),
        # 0 used to mean "the CPU count" silently
        ({"pattern": PATTERN, "workers": 0}, ValueError, "workers must be a positive.*got 0"),
        ({"pattern": PATTERN, "workers": 1.5}, ValueError, "got 1.5; use workers=1"),
    ],
)
def test_bad_arguments_name_the_fix(repository, tmp_path: Path, kwargs, error, message) -> None:
    with pytest.raises(error, match=message):
        colocalize.batch(repository[0], out=tmp_path, **{"workers": 1, **kwargs})


# ---------------------------------------------------------------- summary


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-1, 1), min_size=1, max_size=12))
def test_summarize_matches_numpy(values: list[float]) -> None:
    table = pd.DataFrame(
        {
            "path": [f"f{i}" for i in range(len(values))],
            "g": "x",
            "threshold_source": "none",
            "channel0": "a",
            "channel1": "b",
            "channel2": "",
            "pearson": values,
        }
    )
    row = summarize(table, group_by=["g"], coefficients=["pearson"]).iloc[0]
    assert row["pearson_mean"] == pytest.approx(np.mean(values), abs=1e-12)
    assert row["pearson_n"] == row["n_images"] == len(values)
    if len(values) > 1:
        sem = np.std(values, ddof=1) / np.sqrt(len(values))
        assert row["pearson_sem"] == pytest.approx(sem, abs=1e-12)
    else:
        assert np.isnan(row["pearson_sem"])


# ---------------------------------------------------------------- command line


def test_cli_batch(repository, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    code = main(
        [
            "batch",
            str(repository[0]),
            "--pattern",
            PATTERN,
            "--out",
            str(out),
            "--workers",
            "1",
            "--no-progress",
            "--method",
            "Otsu",
            "--channels",
            "red",
            "green",
        ]
    )
    text = capsys.readouterr().out
    assert code == 1  # one image failed
    assert "13 images" in text
    assert "1 failed" in text
    table = pd.read_csv(out / "coefficients.csv")
    assert set(table["threshold_source"]) == {"Otsu"}
    assert len(table) == 12
    with pytest.raises(SystemExit):  # --pattern or --manifest is required
        main(["batch", str(repository[0]), "--out", str(out)])


def test_progress_bar(repository, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tqdm")
    colocalize.batch(
        repository[0], pattern="er/5min/*/*.tif", out=tmp_path, workers=1, progress=True
    )
    err = capsys.readouterr().err
    assert "colocalize batch" in err
    assert "4/4" in err
    colocalize.batch(
        repository[0], pattern="er/5min/*/*.tif", out=tmp_path, workers=1, progress=False
    )
    assert capsys.readouterr().err == ""


class _KillsItsWorker:
    """A task whose unpickling ends the worker process at once (as an out-of-memory kill)."""

    def __init__(self, relpath: str) -> None:
        self.relpath = relpath

    def __reduce__(self):
        return (os._exit, (1,))


def test_a_dying_worker_is_reported_and_replaced(repository, tmp_path: Path) -> None:
    from colocalize._batch._execute import _execute_processes
    from colocalize._batch._worker import ImageTask

    good = ImageTask(
        path=str(repository[0] / "er/5min/series1/image0.tif"),
        relpath="good.tif",
        metadata=(),
        variants=(colocalize._batch._worker.Variant("none", "none"),),
    )
    tasks = [_KillsItsWorker("0.tif"), _KillsItsWorker("1.tif")]
    results = list(_execute_processes(tasks, 2))  # type: ignore[arg-type]
    assert sorted(r["relpath"] for r in results) == ["0.tif", "1.tif"]
    assert all("worker process died" in r["errors"][0][1] for r in results)
    # the image in flight with the culprit is measured again, alone, and succeeds
    after = list(_execute_processes([_KillsItsWorker("bad.tif"), good, good], 1))  # type: ignore[list-item]
    assert [r["relpath"] for r in after].count("good.tif") == 2
    by_path = {r["relpath"]: r for r in after}
    assert by_path["bad.tif"]["errors"]
    assert by_path["good.tif"]["errors"] == []
    assert len(by_path["good.tif"]["rows"]) == 3


def test_a_dying_worker_in_a_chunk_of_images_is_isolated(repository) -> None:
    """Images go to the pool a few per task: the culprit's companions are measured again."""
    from colocalize._batch._execute import _execute_processes
    from colocalize._batch._worker import ImageTask

    good = [
        ImageTask(
            path=str(repository[0] / "er/5min/series1/image0.tif"),
            relpath=f"good{i}.tif",
            metadata=(),
            variants=(colocalize._batch._worker.Variant("none", "none"),),
        )
        for i in range(8)
    ]
    tasks = [good[0], _KillsItsWorker("bad.tif"), *good[1:]]  # chunks of 2 on one worker
    results = list(_execute_processes(tasks, 1))  # type: ignore[arg-type]
    by_path = {r["relpath"]: r for r in results}
    assert len(results) == len(by_path) == 9
    assert "worker process died" in by_path["bad.tif"]["errors"][0][1]
    assert all(by_path[t.relpath]["errors"] == [] for t in good)
    assert all(len(by_path[t.relpath]["rows"]) == 3 for t in good)


def test_pool_workers_use_one_blas_thread() -> None:
    """N workers on N cores: BLAS threads in each worker spun for a core while waiting (3-4x
    the CPU per image); the caller's own environment is left alone."""
    import subprocess
    import sys

    code = (
        "import os\n"
        "from colocalize._batch._execute import _pool\n"
        "if __name__ == '__main__':\n"
        "    with _pool(1) as pool:\n"
        "        seen = pool.submit(os.getenv, 'OPENBLAS_NUM_THREADS').result()\n"
        "    print(seen, os.getenv('OPENBLAS_NUM_THREADS'), os.getenv('MKL_NUM_THREADS'))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["1", "None", "None"]
    # a value the user set is kept
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "OPENBLAS_NUM_THREADS": "3"},
        check=False,
    )
    assert proc.stdout.split() == ["3", "3", "None"], proc.stderr


@pytest.mark.filterwarnings("ignore::colocalize.ColocalizeWarning")
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"triples": True, "thresholds": "otsu"},
        {"measures": ("pearson", "manders")},
        {"labels": np.repeat(np.arange(3), 96).reshape(12, 24), "triples": True},
        {"mask": np.zeros((12, 24), bool)},
    ],
    ids=["pairs", "triples", "measures", "labels", "empty mask"],
)
def test_worker_rows_equal_the_table_records(options) -> None:
    """Workers build their rows without the DataFrame, with the same values (and types)."""
    from colocalize._batch._worker import _full_row, _jsonable
    from colocalize._table import table_rows

    rng = np.random.default_rng(5)
    image = rng.integers(0, 300, (3, 12, 24), dtype=np.uint16)
    found = table_rows(image, channel_axis=0, **options)
    records = _jsonable(found.frame().to_dict(orient="records"))
    rows = _jsonable([_full_row(row, found.columns) for row in found.rows])
    assert json.dumps(rows) == json.dumps(records)
    assert [list(r) for r in rows] == [list(r) for r in records]  # column order


# ---------------------------------------------------------------- objects

PUNCTA = "{condition}/series{series}.tif"


@pytest.fixture(scope="module")
def puncta(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, float]]:
    root = tmp_path_factory.mktemp("puncta")
    return root, make_puncta_repository(root)


def test_objects_known_answer(puncta, tmp_path: Path) -> None:
    root, distance = puncta
    result = colocalize.batch(
        root,
        pattern=PUNCTA,
        out=tmp_path,
        workers=1,
        objects=True,
        max_distance=2.0,
        randomizations=9,
        seed=3,
    )
    assert result.n_failed == 0
    objects = result.read_objects()
    # 4 x 4 discs per channel, both channels, 2 images per condition
    assert len(objects) == 2 * 16 * 2 * 2
    assert set(objects.columns[:7]) == {
        "path",
        "condition",
        "series",
        "threshold_source",
        "channel0",
        "channel1",
        "channel",
    }
    assert (objects["n_pixels"] == 29).all()  # a disc of radius 3
    for condition, expected in distance.items():
        rows = objects[objects["condition"] == condition]
        np.testing.assert_allclose(rows["nearest_distance"], expected, atol=1e-9)
        assert (rows["overlapping"] == (condition == "together")).all()
        assert (rows["near"] == (condition == "together")).all()
    per_image = result.read_objects_summary().set_index("path")
    assert len(per_image) == 4
    assert (per_image["threshold_source"] == "Otsu").all()  # no source: Otsu
    assert (per_image[["n_objects0", "n_objects1"]] == 16).all(axis=None)
    together = per_image[per_image["condition"] == "together"]
    apart = per_image[per_image["condition"] == "apart"]
    assert (together["fraction_overlapping0"] == 1.0).all()
    assert (apart["fraction_overlapping0"] == 0.0).all()
    # every centre in the other channel's objects: no random placement does as well
    np.testing.assert_allclose(together[["p_centre0", "p_centre1"]], 1 / 10)
    np.testing.assert_allclose(apart[["p_centre0", "p_centre1"]], 1.0)
    conditions = result.read_objects_conditions().set_index("condition")
    assert (conditions["n_images"] == 2).all()
    assert conditions.loc["apart", "mean_distance0_mean"] == pytest.approx(distance["apart"])
    assert conditions.loc["together", "fraction_near1_mean"] == 1.0
    assert conditions.loc["together", "fraction_near1_n"] == 2
    assert conditions.loc["apart", "mean_distance0_sem"] == pytest.approx(0.0, abs=1e-12)


def test_objects_follow_the_threshold_sources(puncta, tmp_path: Path) -> None:
    root, _ = puncta
    csv = tmp_path / "manual.csv"
    rows = [f"{f.relative_to(root).as_posix()},{c},150" for f in root.rglob("*.tif") for c in "ab"]
    csv.write_text("image,channel,threshold\n" + "\n".join(rows) + "\n")
    result = colocalize.batch(
        root,
        pattern=PUNCTA,
        out=tmp_path / "out",
        workers=1,
        objects=True,
        thresholds=csv,
        method=["Li", "costes"],
        object_pairs=[("b", 0)],
    )
    summary = result.read_objects_summary()
    # costes is a regression threshold of a pair, not a foreground: no objects from it
    assert sorted(set(summary["threshold_source"])) == ["Li", "manual"]
    assert (summary[summary["threshold_source"] == "manual"]["threshold0"] == 150).all()
    assert set(zip(summary["channel0"], summary["channel1"])) == {("b", "a")}
    own = colocalize.batch(
        root,
        pattern=PUNCTA,
        out=tmp_path / "own",
        workers=1,
        objects=True,
        method="Li",
        object_method="Huang",
    )
    assert set(own.read_objects_summary()["threshold_source"]) == {"Huang"}


def test_objects_resume_and_rerun_when_options_change(puncta, tmp_path: Path) -> None:
    root, _ = puncta
    out = tmp_path / "out"
    first = colocalize.batch(
        root, pattern=PUNCTA, out=out, workers=1, objects=True, randomizations=4
    )
    tables = {p.name: p.read_bytes() for p in (first.objects, first.objects_summary)}
    again = colocalize.batch(
        root, pattern=PUNCTA, out=out, workers=1, objects=True, randomizations=4
    )
    assert (again.n_resumed, again.n_computed) == (4, 0)
    # p-values seeded per image: resumed and measured rows are the same bytes
    assert {p.name: p.read_bytes() for p in (again.objects, again.objects_summary)} == tables
    changed = colocalize.batch(
        root, pattern=PUNCTA, out=out, workers=1, objects=True, randomizations=4, max_distance=1.0
    )
    assert (changed.n_resumed, changed.n_computed) == (0, 4)
    assert (changed.read_objects()["near"].notna()).all()
    # a run without objects removes the object tables of the previous one
    plain = colocalize.batch(root, pattern=PUNCTA, out=out, workers=1)
    assert plain.objects is None
    assert not (out / "objects.csv").exists()
    with pytest.raises(ValueError, match="objects=True"):
        plain.read_objects()


def test_objects_workers_match_serial(puncta, tmp_path: Path) -> None:
    root, _ = puncta
    options = {"objects": True, "randomizations": 3, "seed": 1}
    serial = colocalize.batch(root, pattern=PUNCTA, out=tmp_path / "1", workers=1, **options)
    parallel = colocalize.batch(root, pattern=PUNCTA, out=tmp_path / "2", workers=2, **options)
    for name in ("objects.csv", "objects_summary.csv", "objects_conditions.csv"):
        assert (tmp_path / "1" / name).read_bytes() == (tmp_path / "2" / name).read_bytes()
    assert serial.n_computed == parallel.n_computed == 4


def test_object_failures_go_to_errors(puncta, tmp_path: Path) -> None:
    root, _ = puncta
    result = colocalize.batch(
        root, pattern=PUNCTA, out=tmp_path, workers=1, objects=True, object_pairs=[("a", "c")]
    )
    assert result.n_failed == 4
    errors = result.read_errors()
    assert errors["error"].str.contains("objects: ValueError: .*'c'.*names \\['a', 'b'\\]").all()
    assert len(result.read_coefficients()) == 4  # the coefficients are still measured
    assert result.read_objects().empty


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"object_pairs": ["ab"]}, "object_pairs must be pairs"),
        ({"object_method": "Otsoo"}, "Otsoo"),
        ({"min_overlap": 1.0}, "min_overlap must be a fraction in \\[0, 1\\), got 1.0"),
        ({"max_distance": -1}, "max_distance must be a number >= 0.*got -1"),
        ({"randomizations": 2.5}, "randomizations must be an integer >= 0, got 2.5"),
        ({"seed": -1}, "seed must be an integer >= 0, got -1"),
    ],
)
def test_object_options_checked_up_front(puncta, tmp_path: Path, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        colocalize.batch(puncta[0], pattern=PUNCTA, out=tmp_path / "out", objects=True, **kwargs)
    assert not (tmp_path / "out").exists()


def test_cli_batch_objects(puncta, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = puncta[0]
    code = main(
        [
            "batch",
            str(root),
            "--pattern",
            PUNCTA,
            "--out",
            str(tmp_path),
            "--workers",
            "1",
            "--objects",
            "--object-pairs",
            "b:a",
            "--max-distance",
            "12",
            "--min-overlap",
            "0.5",
        ]
    )
    assert code == 0
    assert "objects.csv, objects_summary.csv, objects_conditions.csv" in capsys.readouterr().out
    summary = pd.read_csv(tmp_path / "objects_summary.csv")
    assert (summary["channel0"] == "b").all()
    assert (summary["fraction_near0"] == 1.0).all()  # 8 sqrt 2 < 12
    assert (summary["min_overlap"] == 0.5).all()
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "batch",
                str(root),
                "--pattern",
                PUNCTA,
                "--out",
                str(tmp_path / "x"),
                "--objects",
                "--object-pairs",
                "a-b",
            ]
        )
    assert exit_info.value.code == 2
    assert "joined by ':'" in capsys.readouterr().err


@pytest.mark.slow
def test_scheduler_on_a_local_process_cluster(puncta, tmp_path: Path) -> None:
    """``--scheduler`` on a LocalCluster of 2 worker processes writes the local run's outputs."""
    distributed = pytest.importorskip("distributed")
    root, _ = puncta
    args = [
        "batch",
        str(root),
        "--pattern",
        PUNCTA,
        "--method",
        "Otsu",
        "Li",
        "--objects",
        "--randomizations",
        "3",
        "--no-progress",
    ]
    assert main([*args, "--out", str(tmp_path / "local"), "--workers", "2"]) == 0
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        code = main(
            [*args, "--out", str(tmp_path / "dask"), "--scheduler", cluster.scheduler_address]
        )
    assert code == 0
    record = json.loads((tmp_path / "local" / "outputs.json").read_text())
    names = [n for n in record["files"] if n != "provenance.json"]
    assert {"objects.csv", "coefficients.csv", "objects_conditions.csv"} <= set(names)
    for name in names:
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
    prov = json.loads((tmp_path / "dask" / "provenance.json").read_text())
    assert prov["parameters"]["scheduler"] == cluster.scheduler_address


def test_pool_workers_reuse_freed_arrays(tmp_path: Path) -> None:
    """A fresh worker used to fault every page of every array in again (~2300 faults/image)."""
    import resource

    from colocalize._batch._execute import _pool
    from colocalize._batch._worker import ImageTask, Variant, process_images

    image = np.random.default_rng(0).integers(0, 255, (3, 512, 512), dtype=np.uint8)
    colocalize.write_image(tmp_path / "x.tif", image, axes="CYX")
    task = ImageTask(
        path=str(tmp_path / "x.tif"),
        relpath="x.tif",
        metadata=(),
        variants=(Variant("Otsu", "method", method="Otsu"),),
    )
    pool = _pool(1)
    try:
        assert not pool.submit(process_images, [task] * 3).result()[0]["errors"]
        before = pool.submit(resource.getrusage, resource.RUSAGE_SELF).result().ru_minflt
        pool.submit(process_images, [task] * 5).result()
        after = pool.submit(resource.getrusage, resource.RUSAGE_SELF).result().ru_minflt
    finally:
        pool.shutdown()
    assert (after - before) / 5 < 800


def test_dask_task_failure_reports_each_image(
    repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Images go to Dask in chunks: a chunk that fails names every one of its images."""
    distributed = pytest.importorskip("distributed")
    from colocalize._batch import _execute

    def lost(chunk):
        raise RuntimeError(f"worker lost with {len(chunk)} images")

    monkeypatch.setattr(_execute, "process_images", lost)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        result = colocalize.batch(repository[0], pattern=PATTERN, out=tmp_path, client=client)
    errors = result.read_errors()
    assert result.n_failed == result.n_images == len(errors) == 13
    assert errors["error"].str.match(r"RuntimeError: worker lost with [1-8] images").all()
    assert result.read_coefficients().empty


def test_measures_subset_in_batch_equals_the_full_run(tmp_path: Path) -> None:
    """batch(measures=...) keeps the asked groups identical and leaves the others NaN."""
    root = tmp_path / "data"
    make_repository(root, series=(1,), shape=(48, 48))
    full = colocalize.batch(root, pattern=PATTERN, out=tmp_path / "full", method="Otsu", workers=1)
    part = colocalize.batch(
        root,
        pattern=PATTERN,
        out=tmp_path / "part",
        method="Otsu",
        workers=1,
        measures=("pearson", "manders"),
    )
    a, b = pd.read_csv(full.coefficients), pd.read_csv(part.coefficients)
    assert len(a) == len(b) > 0
    np.testing.assert_allclose(b["pearson"], a["pearson"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(b["m1"], a["m1"], rtol=1e-12, atol=1e-15)
    assert b["kendall_tau"].isna().all()
    assert b["icq"].isna().all()
    with pytest.raises(ValueError, match="measures"):
        colocalize.batch(root, pattern=PATTERN, out=tmp_path / "bad", measures=("tau",))
    assert not (tmp_path / "bad" / "coefficients.csv").exists()


def test_costes_method_in_batch_equals_the_api(tmp_path: Path) -> None:
    """batch(method="costes", costes_method="jacop") gives each image JACoP's Costes thresholds."""
    root = tmp_path / "data"
    make_repository(root, organelles=("er",), times=(5,), series=(1,), shape=(48, 48))
    result = colocalize.batch(
        root,
        pattern=PATTERN,
        out=tmp_path / "out",
        method="costes",
        costes_method="jacop",
        channels=("red", "green"),
        workers=1,
    )
    row = pd.read_csv(result.coefficients).iloc[0]
    image = colocalize.read_image(root / row["path"])
    expected = colocalize.costes_threshold(image.channel(0), image.channel(1), method="jacop")
    assert (row["threshold0"], row["threshold1"]) == (expected.threshold0, expected.threshold1)
    with pytest.raises(ValueError, match="costes_method"):
        colocalize.batch(root, pattern=PATTERN, out=tmp_path / "bad", costes_method="fast")


# ---------------------------------------------------------------- layout


def test_removed_inputs_warning_points_at_the_caller(repository, tmp_path: Path) -> None:
    root, _ = repository
    out = tmp_path / "out"
    colocalize.batch(root, pattern=PATTERN, out=out, workers=1)
    with pytest.warns(colocalize.ColocalizeWarning, match="no longer selected") as caught:
        colocalize.batch(root, pattern="er/{time}min/series{series}/*.tif", out=out, workers=1)
    assert [Path(w.filename).name for w in caught] == [Path(__file__).name]


def test_batch_package_never_imports_plot() -> None:
    # _batch/ computes (the histograms' data too); plot/ draws it and writes the report: an
    # import of plot from _batch would run back up the layers (issue 16)
    import ast

    folder = Path(colocalize.__file__).parent / "_batch"
    found = []
    for file in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            else:
                continue
            found += [f"{file.name}: {m}" for m in modules if m.startswith("colocalize.plot")]
    assert len(list(folder.glob("*.py"))) > 5
    assert found == []


def test_summary_covers_every_pair_coefficient(repository, tmp_path: Path) -> None:
    # the summary left out the thresholded overlap (toverlap, tk1, tk2) that the table carries
    from colocalize._coefficients import MEASURES

    result = colocalize.batch(
        repository[0],
        pattern="er/5min/series{series}/*.tif",
        out=tmp_path,
        method="Otsu",
        workers=1,
    )
    table, summary = result.read_coefficients(), result.read_summary()
    for name in (field for group in MEASURES.values() for field in group):
        assert name in table.columns
        assert f"{name}_mean" in summary.columns, name
    assert table["toverlap"].notna().all()
    assert summary["toverlap_mean"].tolist() == pytest.approx(
        table.groupby(["channel0", "channel1"], sort=False)["toverlap"].mean().tolist()
    )
