"""Fault tests of ``batch`` and ``report`` (issue 11): data loss, interrupted commits, locks,
orphaned workers, silently dropped or changed inputs, and arguments accepted that should not be.

Each case runs through the command line (a subprocess with a timeout and a memory cap) and the
API, with every input hashed before and after.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pandas as pd
import pytest

import colocalize
from _faults import assert_clean_error, inputs_unchanged, run_cli, snapshot
from colocalize._batch import _commit as _batch_commit
from colocalize._batch._synthetic import make_repository

PATTERN = "{organelle}/{time}min/series{series}/*.tif"
FIRST = "er/5min/series1/image0.tif"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pristine") / "data"
    make_repository(root, organelles=("er", "golgi"), times=(5,), series=(1, 2), shape=(32, 32))
    return root


@pytest.fixture
def root(pristine: Path, tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(pristine, target)
    return target


@pytest.fixture(scope="module")
def finished(pristine: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A committed batch folder (read-only: tests that change it work on a copy)."""
    out = tmp_path_factory.mktemp("finished") / "out"
    colocalize.batch(pristine, pattern=PATTERN, out=out, workers=1, progress=False)
    return out


@pytest.fixture
def batch_copy(finished: Path, tmp_path: Path) -> Path:
    target = tmp_path / "out"
    shutil.copytree(finished, target)
    return target


def _batch_argv(data: Path, *options: str | Path, workers: int = 1) -> list[str]:
    """The command line of ``colocalize batch data *options`` without progress (for Popen)."""
    return [
        sys.executable,
        "-m",
        "colocalize",
        "batch",
        str(data),
        *map(str, options),
        "--workers",
        str(workers),
        "--no-progress",
    ]


def _batch(root: Path, out: Path, *extra: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return run_cli(
        "batch",
        root,
        "--pattern",
        PATTERN,
        "--out",
        out,
        "--workers",
        "1",
        "--no-progress",
        *extra,
        timeout=timeout,
    )


# ---------------------------------------------------------------- report: never over an input


@pytest.mark.parametrize("name", ["coefficients.csv", "summary.csv", "provenance.json"])
def test_report_never_writes_over_an_input(finished: Path, pristine: Path, name: str) -> None:
    with inputs_unchanged(finished, pristine):
        proc = run_cli("report", finished, "--output", finished / name, "--no-histograms")
        assert_clean_error(proc, "also an input", name)
        with pytest.raises(ValueError, match="also an input"):  # even with overwrite
            colocalize.write_report(
                finished, output=finished / name, overwrite=True, histograms=False
            )
        # an image of the batch is an input too
        with pytest.raises(ValueError, match="also an input"):
            colocalize.write_report(finished, output=pristine / FIRST, histograms=False)


def test_report_refuses_an_existing_file_unless_overwrite(batch_copy: Path, tmp_path: Path) -> None:
    mine = tmp_path / "notes.html"
    mine.write_text("my own notes")
    with inputs_unchanged(mine):
        proc = run_cli("report", batch_copy, "--output", mine, "--no-histograms")
        assert_clean_error(proc, "already exists", "--overwrite")
        with pytest.raises(ValueError, match="already exists"):
            colocalize.write_report(batch_copy, output=mine, histograms=False)
    proc = run_cli("report", batch_copy, "--output", mine, "--overwrite", "--no-histograms")
    assert proc.returncode == 0, proc.stderr
    assert mine.read_text().startswith("<!DOCTYPE html>")
    # the default report.html is the report's own file: written again without --overwrite
    for _ in range(2):
        colocalize.write_report(batch_copy, histograms=False)
    assert [p.name for p in batch_copy.glob("*.tmp")] == []


@pytest.mark.parametrize(
    ("option", "value"),
    [("--nbins", "0"), ("--nbins", "-4"), ("--nbins", "1000000"), ("--max-images", "0")],
)
def test_report_bad_histogram_options(finished: Path, option: str, value: str) -> None:
    with inputs_unchanged(finished):
        proc = run_cli("report", finished, option, value, timeout=60, memory_mb=1024)
        assert_clean_error(proc, option.lstrip("-").replace("-", "_"), value)
        kwargs = {option.lstrip("-").replace("-", "_"): int(value)}
        with pytest.raises(ValueError, match=option.lstrip("-").replace("-", "_")):
            colocalize.write_report(finished, output=finished.parent / "r.html", **kwargs)
    assert not (finished.parent / "r.html").exists()


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize(
    ("name", "damage"),
    [
        ("provenance.json", lambda p: p.write_text('{"package": "colocalize", "para')),
        ("provenance.json", lambda p: p.write_text("[]")),
        ("coefficients.csv", lambda p: p.write_text("")),
        ("coefficients.csv", _truncate),
        ("summary.csv", _truncate),
    ],
)
def test_report_names_a_damaged_file(batch_copy: Path, name: str, damage) -> None:
    damage(batch_copy / name)
    with inputs_unchanged(batch_copy):
        proc = run_cli("report", batch_copy, "--output", batch_copy.parent / "r.html")
        assert_clean_error(proc, name)
        with pytest.raises(ValueError, match=name):
            colocalize.write_report(batch_copy, output=batch_copy.parent / "r.html")
    assert not (batch_copy.parent / "r.html").exists()


# ---------------------------------------------------------------- batch: the output folder


def test_out_equal_to_the_data_root_is_refused(root: Path) -> None:
    with inputs_unchanged(root):
        proc = _batch(root, root)
        assert_clean_error(proc, "data folder", str(root))
        with pytest.raises(ValueError, match="data folder"):
            colocalize.batch(root, pattern=PATTERN, out=root, workers=1)
        # a folder of the data, which the pattern matches ({organelle} = er), is refused too
        with pytest.raises(ValueError, match="holds the input"):
            colocalize.batch(root, pattern=PATTERN, out=root / "er", workers=1)
    # the folder above the data is not among the images: fine
    assert colocalize.batch(root, pattern=PATTERN, out=root.parent, workers=1).n_images == 4


def test_out_where_the_pattern_takes_images_is_refused(root: Path, tmp_path: Path) -> None:
    loose = "{organelle}/**/*"
    with inputs_unchanged(root):
        proc = run_cli(
            "batch", root, "--pattern", loose, "--out", root / "results", "--workers", "1"
        )
        assert_clean_error(proc, "results", "pattern")
        with pytest.raises(ValueError, match="pattern"):
            colocalize.batch(root, pattern=loose, out=root / "results", workers=1)
        # a manifest listing files inside --out: outputs and data would share the folder
        manifest = tmp_path / "files.csv"
        manifest.write_text(f"path\n{FIRST}\n")
        proc = run_cli(
            "batch", root, "--manifest", manifest, "--out", root / "er", "--workers", "1"
        )
        assert_clean_error(proc, "holds the input")
    # a results folder beside the data folders, out of the pattern's reach, is fine
    result = colocalize.batch(root, pattern=PATTERN, out=root / "results", workers=1)
    assert result.n_images == 4


# ---------------------------------------------------------------- batch: commit as a unit


def _state(out: Path) -> dict[str, str]:
    """SHA-256 of each output in ``out``, by name."""
    names = (*_batch_commit.OUTPUT_NAMES, _batch_commit.OUTPUTS)
    paths = {out / n for n in names}
    return {Path(k).name: v for k, v in snapshot(out).items() if Path(k) in paths}


class _Injected(Exception):
    pass


def _fail_at(step: int):
    """A wrapper that lets ``step`` calls through, then raises (a kill at that point)."""
    calls = {"n": 0}

    def wrap(real):
        def inner(*args, **kwargs):
            if calls["n"] == step:
                raise _Injected(f"injected failure at step {step}")
            calls["n"] += 1
            return real(*args, **kwargs)

        return inner

    return wrap, calls


def test_outputs_are_committed_as_a_unit(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_out = tmp_path / "old"
    old = colocalize.batch(root, pattern=PATTERN, out=old_out, workers=1)
    old_state = _state(old_out)
    (root / FIRST).unlink()  # the new run has other tables (and resumes the other images)
    expected = old.read_coefficients()
    expected = expected[expected["path"] != FIRST].reset_index(drop=True)
    outcomes = set()
    # a failure at every write into the staging folder and at every rename, one at a time
    for target in ("write_atomic", "_rename"):
        for step in range(20):
            out = tmp_path / f"run-{target}-{step}"
            shutil.copytree(old_out, out)
            wrap, calls = _fail_at(step)
            with monkeypatch.context() as m:
                m.setattr(_batch_commit, target, wrap(getattr(_batch_commit, target)))
                try:
                    with pytest.warns(colocalize.ColocalizeWarning, match="deleted"):
                        colocalize.batch(root, pattern=PATTERN, out=out, workers=1)
                except _Injected:
                    pass
                else:
                    assert calls["n"] == step
                    break
            # no output is half-written or foreign: each is the old run's or the staged run's
            journal = out / _batch_commit.STAGING / _batch_commit.OUTPUTS
            staged = json.loads(journal.read_text()) if journal.is_file() else None
            for name, digest in _state(out).items():
                assert digest in (old_state.get(name), (staged or {}).get("files", {}).get(name))
            if staged is not None:  # the readers refuse a mixture ...
                with pytest.raises(ValueError, match="interrupted commit"):
                    _batch_commit.check_outputs(out)
                if "interrupted" not in outcomes:  # once through the command line
                    proc = run_cli(
                        "report", out, "--no-histograms", "--output", tmp_path / "r.html"
                    )
                    assert_clean_error(proc, "interrupted", "rerun")
                outcomes.add("interrupted")
            else:  # ... or the folder is exactly one run: the old one
                assert _batch_commit.check_outputs(out)["run_id"] == old.run_id
                assert _state(out) == old_state
                outcomes.add("old")
            # the next run completes the interrupted commit (or keeps the old run), then commits
            with warnings.catch_warnings():  # the old run still lists the deleted image
                warnings.simplefilter("ignore", colocalize.ColocalizeWarning)
                rerun = colocalize.batch(root, pattern=PATTERN, out=out, workers=1)
            prov = json.loads(rerun.provenance.read_text())
            if staged is not None:
                assert staged["run_id"] in prov["repaired"]
            assert _batch_commit.check_outputs(out)["run_id"] == rerun.run_id
            pd.testing.assert_frame_equal(rerun.read_coefficients(), expected)
            assert not (out / _batch_commit.STAGING).exists()
            assert [p.name for p in out.rglob("*.tmp")] == []
        else:
            pytest.fail(f"{target}: more steps than expected")
    assert outcomes == {"old", "interrupted"}


def test_leftovers_of_a_killed_run_are_removed(root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = colocalize.batch(root, pattern=PATTERN, out=out, workers=1)
    # what a kill -9 leaves: temporaries of the final writes and of a part, a half staging
    for name in (".summary.csv.x1y2z3.tmp", ".coefficients.csv.abcdef.tmp"):
        (out / name).write_text("half")
    (out / ".parts" / ".0123-4567.json.q1w2e3.tmp").write_text("{")
    (out / _batch_commit.STAGING).mkdir()
    (out / _batch_commit.STAGING / "summary.csv").write_text("half")
    proc = _batch(root, out)
    assert proc.returncode == 0, proc.stderr
    leftovers = sorted(p.name for p in out.rglob("*") if p.name.endswith(".tmp"))
    assert leftovers == []
    assert not (out / _batch_commit.STAGING).exists()
    assert _batch_commit.check_outputs(out)["run_id"] != first.run_id


# ---------------------------------------------------------------- batch: one run per folder


def _lock(out: Path, pid: int) -> dict:
    holder = {"pid": pid, "host": socket.gethostname(), "started": "2026-01-02T03:04:05+00:00"}
    out.mkdir(exist_ok=True)
    (out / _batch_commit.LOCK).write_text(json.dumps(holder))
    return holder


def test_a_second_batch_on_the_same_out_fails_fast(root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    colocalize.batch(root, pattern=PATTERN, out=out, workers=1)
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _lock(out, holder.pid)
        with inputs_unchanged(out, root):
            start = time.perf_counter()
            proc = _batch(root, out)
            assert_clean_error(proc, "another batch", str(holder.pid), "2026-01-02T03:04:05")
            with pytest.raises(BlockingIOError, match=f"PID {holder.pid}"):
                colocalize.batch(root, pattern=PATTERN, out=out, workers=1)
            assert time.perf_counter() - start < 30
    finally:
        holder.kill()
        holder.wait()
    # the holder is dead now: its lock is stale and taken over
    result = colocalize.batch(root, pattern=PATTERN, out=out, workers=1)
    assert result.n_images == 4
    assert not (out / _batch_commit.LOCK).exists()


def test_wait_queues_behind_the_running_batch(root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(2)"])
    threading.Thread(target=holder.wait, daemon=True).start()  # reaped when it ends
    try:
        _lock(out, holder.pid)
        start = time.perf_counter()
        proc = _batch(root, out, "--wait")
        waited = time.perf_counter() - start
    finally:
        holder.kill()
        holder.wait()
    assert proc.returncode == 0, proc.stderr
    assert waited > 1.0
    assert (out / "coefficients.csv").is_file()
    assert not (out / _batch_commit.LOCK).exists()


def _blocking_batch(tmp_path: Path, out: Path) -> tuple[subprocess.Popen, Path]:
    """A batch whose one input is a FIFO: it holds ``out`` until the FIFO is written."""
    data = tmp_path / "fifo-data"
    data.mkdir()
    fifo = data / "a.tif"
    os.mkfifo(fifo)
    manifest = tmp_path / "fifo.csv"
    manifest.write_text("path\na.tif\n")
    proc = subprocess.Popen(
        _batch_argv(data, "--manifest", manifest, "--out", out),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return proc, fifo


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs (POSIX)")
def test_two_real_batches_on_one_folder(root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first, fifo = _blocking_batch(tmp_path, out)
    writer = waiting = None
    try:
        deadline = time.monotonic() + 60
        while writer is None:  # the first batch holds the lock once it reads its FIFO
            try:
                writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                assert time.monotonic() < deadline, "the first batch never started"
                time.sleep(0.1)
        # with our writer open and no data, the first batch waits in read()
        proc = _batch(root, out)
        assert_clean_error(proc, "another batch", f"PID {first.pid}")
        # another data folder than the first batch's: replacing its results needs --overwrite
        waiting = subprocess.Popen(
            _batch_argv(root, "--pattern", PATTERN, "--out", out, "--wait", "--overwrite"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(1.0)
        assert waiting.poll() is None  # queued behind the first
        # let the first batch go on: it reads an empty FIFO, then (opening the path again) a
        # file that is not a TIFF, reports it and commits
        junk = tmp_path / "junk"
        junk.write_bytes(b"not a TIFF")
        os.replace(junk, fifo)
        os.close(writer)
        writer = None
        assert first.wait(timeout=60) == 1
        stdout, stderr = waiting.communicate(timeout=120)
        assert waiting.returncode == 0, stderr
        assert "4 images" in stdout
    finally:
        if writer is not None:
            os.close(writer)
        for process in (first, waiting):
            if process is not None:
                process.kill()
                process.communicate()
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["parameters"]["root"] == str(root.resolve())
    assert not (out / _batch_commit.LOCK).exists()


# ---------------------------------------------------------------- batch: no orphaned workers


def _children(pid: int) -> set[int]:
    """Every descendant of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        kids = {p for p, pp in parents.items() if pp == parent and p not in found}
        found |= kids
        todo += kids
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
def test_killing_the_batch_ends_its_workers(tmp_path: Path) -> None:
    # two inputs that block their readers (FIFOs): the workers stay busy until the batch dies
    data = tmp_path / "data"
    data.mkdir()
    for name in ("a.tif", "b.tif"):
        os.mkfifo(data / name)
    manifest = tmp_path / "files.csv"
    manifest.write_text("path\na.tif\nb.tif\n")
    main = subprocess.Popen(
        _batch_argv(data, "--manifest", manifest, "--out", tmp_path / "out", workers=2),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    writers: list[int] = []
    family: set[int] = set()
    try:
        deadline = time.monotonic() + 60
        for name in ("a.tif", "b.tif"):  # a FIFO opens for writing once a worker reads it
            while True:
                try:
                    writers.append(os.open(data / name, os.O_WRONLY | os.O_NONBLOCK))
                    break
                except OSError:
                    assert time.monotonic() < deadline, "the workers never started"
                    assert main.poll() is None, "the batch ended early"
                    time.sleep(0.1)
        family = _children(main.pid)
        assert len(family) >= 2  # the workers (and the fork server, the resource tracker)
        main.kill()
        main.wait()
        deadline = time.monotonic() + 10
        while any(_running(p) for p in family) and time.monotonic() < deadline:
            time.sleep(0.1)
        alive = [p for p in family if _running(p)]
        assert alive == [], f"processes left running after the batch was killed: {alive}"
    finally:  # never leave a process behind, even when the test fails
        for pid in family | _children(main.pid) | {main.pid}:
            with contextlib.suppress(OSError):
                os.kill(pid, 9)
        for fd in writers:
            os.close(fd)


# ---------------------------------------------------------------- batch: inputs gone or changed


def test_a_deleted_input_is_reported(root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    colocalize.batch(root, pattern=PATTERN, out=out, workers=1)
    (root / FIRST).unlink()
    deleted = re.escape(f"{FIRST} (deleted)")
    with inputs_unchanged(root), pytest.warns(colocalize.ColocalizeWarning, match=deleted):
        result = colocalize.batch(root, pattern=PATTERN, out=out, workers=1)
    assert result.removed == (FIRST,)
    prov = json.loads(result.provenance.read_text())
    assert prov["removed"] == [{"path": FIRST, "reason": "deleted"}]
    report = colocalize.write_report(out, histograms=False).read_text()
    assert f"{FIRST} (deleted)" in report
    # through the command line, on a fresh output folder
    cli_out = tmp_path / "cli"
    shutil.copytree(root, tmp_path / "again")
    assert _batch(tmp_path / "again", cli_out).returncode == 0
    (tmp_path / "again" / "golgi/5min/series2/image0.tif").unlink()
    proc = _batch(tmp_path / "again", cli_out)
    assert proc.returncode == 0, proc.stderr
    assert "warning" in proc.stderr
    assert "golgi/5min/series2/image0.tif (deleted)" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_verify_remeasures_a_file_changed_behind_its_mtime(root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    old = colocalize.batch(root, pattern=PATTERN, out=out, workers=1).read_coefficients()
    path = root / FIRST
    before = path.stat()
    image = colocalize.read_image(path)
    flipped = image.data.copy()
    flipped[1] = image.data[1, ::-1, :]  # same size, green no longer over red
    colocalize.write_image(path, flipped, axes="CYX", channel_names=list(image.channel_names))
    if path.stat().st_size != before.st_size:
        pytest.skip("the rewritten file has another size")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    with inputs_unchanged(root):
        trusting = colocalize.batch(root, pattern=PATTERN, out=out, workers=1)
        assert trusting.n_resumed == 4  # size and time alone cannot see the change
        verified = colocalize.batch(root, pattern=PATTERN, out=out, workers=1, verify=True)
        assert (verified.n_computed, verified.n_resumed) == (1, 3)
        proc = _batch(root, out, "--verify")
        assert proc.returncode == 0, proc.stderr
        assert "0 measured" in proc.stdout
        assert "4 resumed" in proc.stdout
    table = verified.read_coefficients()
    row = table[table["path"] == FIRST].iloc[0]
    expected = colocalize.coefficients(flipped[0], flipped[1])
    assert row["pearson"] == pytest.approx(expected.pearson, abs=1e-12)
    assert old[old["path"] == FIRST].iloc[0]["pearson"] != pytest.approx(row["pearson"])


# ---------------------------------------------------------------- batch: arguments


def test_unknown_replicate_field_is_refused(root: Path, tmp_path: Path) -> None:
    with inputs_unchanged(root):
        proc = _batch(root, tmp_path / "out", "--replicate", "foo")
        assert_clean_error(proc, "foo", "organelle", "series")
        with pytest.raises(ValueError, match=r"'foo'.*organelle"):
            colocalize.batch(root, pattern=PATTERN, out=tmp_path / "o", replicate="foo")
    assert not (tmp_path / "out").exists()


def test_unknown_mask_method_is_refused_up_front(root: Path, tmp_path: Path) -> None:
    with inputs_unchanged(root):
        proc = _batch(root, tmp_path / "out", "--mask-channel", "blue", "--mask-method", "Foo")
        assert_clean_error(proc, "mask_method", "Foo", "Otsu")
        with pytest.raises(ValueError, match=r"mask_method.*Foo"):
            colocalize.batch(
                root, pattern=PATTERN, out=tmp_path / "o", mask_channel="blue", mask_method="Foo"
            )
    assert not (tmp_path / "out").exists()


def _thresholds(path: Path, rows: list[str], header: str = "image,channel,threshold") -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


@pytest.mark.parametrize(
    ("header", "rows", "line", "message"),
    [
        ("image,channel,low,high", [f"{FIRST},red,10,20", f"{FIRST},green,30,20"], 3, "low 30"),
        ("image,channel,threshold", [f"{FIRST},red,10", f"{FIRST},red,12"], 3, "second"),
    ],
)
def test_bad_manual_threshold_rows_name_file_and_line(
    root: Path, tmp_path: Path, header: str, rows: list[str], line: int, message: str
) -> None:
    csv = _thresholds(root.parent / "manual.csv", rows, header)
    with inputs_unchanged(root, csv):
        proc = _batch(root, tmp_path / "out", "--thresholds", csv)
        assert_clean_error(proc, f"manual.csv:{line}", message)
        with pytest.raises(ValueError, match=f"manual.csv:{line}: .*{message}"):
            colocalize.batch(root, pattern=PATTERN, out=tmp_path / "o", thresholds=csv)


def test_negative_manual_threshold_of_an_unsigned_image(root: Path, tmp_path: Path) -> None:
    rows = [f"{FIRST},red,10", f"{FIRST},green,-5", f"{FIRST},blue,10"]
    csv = _thresholds(root.parent / "manual.csv", rows)
    with inputs_unchanged(root, csv):
        proc = _batch(root, tmp_path / "out", "--thresholds", csv)
        assert proc.returncode == 1, proc.stderr  # that image's manual source failed
        errors = pd.read_csv(tmp_path / "out" / "errors.csv", keep_default_na=False)
        result = colocalize.batch(
            root, pattern=PATTERN, out=tmp_path / "o", thresholds=csv, workers=1
        )
    for table in (errors, result.read_errors()):
        row = table[table["path"] == FIRST]
        assert row["threshold_source"].tolist() == ["manual"]
        text = row["error"].iloc[0]
        for part in ("manual.csv:3", "negative", "uint8"):
            assert part in text


@pytest.mark.slow
def test_object_tables_are_committed_with_the_others(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run killed at any rename of its commit never leaves object tables of another run."""
    old_out = tmp_path / "old"
    colocalize.batch(root, pattern=PATTERN, out=old_out, workers=1, objects=True)
    old_state = _state(old_out)
    assert {"objects.csv", "objects_summary.csv", "objects_conditions.csv"} <= set(old_state)
    clean = colocalize.batch(
        root, pattern=PATTERN, out=tmp_path / "clean", workers=1, objects=True, max_distance=3.0
    )
    for step in range(20):
        out = tmp_path / f"run-{step}"
        shutil.copytree(old_out, out)
        wrap, _ = _fail_at(step)
        with monkeypatch.context() as m:
            m.setattr(_batch_commit, "_rename", wrap(_batch_commit._rename))
            try:
                colocalize.batch(
                    root, pattern=PATTERN, out=out, workers=1, objects=True, max_distance=3.0
                )
            except _Injected:
                pass
            else:
                break
        journal = json.loads((out / _batch_commit.STAGING / _batch_commit.OUTPUTS).read_text())
        for name, digest in _state(out).items():
            assert digest in (old_state.get(name), journal["files"].get(name))
        with pytest.raises(ValueError, match="interrupted commit"):
            _batch_commit.check_outputs(out)
        rerun = colocalize.batch(
            root, pattern=PATTERN, out=out, workers=1, objects=True, max_distance=3.0
        )
        assert rerun.n_resumed == rerun.n_images  # the parts survived the kill
        for name in ("objects.csv", "objects_summary.csv", "objects_conditions.csv"):
            assert (out / name).read_bytes() == (clean.out / name).read_bytes()
    else:
        pytest.fail("more renames than expected")
    assert step > 3  # the three object tables are among the renames


# ---------------------------------------------------------------- out of another experiment


def test_results_of_another_root_are_never_replaced_without_overwrite(
    root: Path, batch_copy: Path, tmp_path: Path
) -> None:
    # batch_copy holds the committed results of `pristine`; a batch of another folder into it
    # replaced them and exited 0 (found walking through issue 13 as a user)
    other = tmp_path / "other"
    shutil.copytree(root, other)
    before = snapshot(batch_copy)
    proc = _batch(other, batch_copy)
    assert_clean_error(proc, "holds the results of a batch of", "--overwrite")
    assert snapshot(batch_copy) == before
    with pytest.raises(ValueError, match="holds the results of a batch of"):
        colocalize.batch(other, pattern=PATTERN, out=batch_copy, workers=1, progress=False)
    assert snapshot(batch_copy) == before
    proc = _batch(other, batch_copy, "--overwrite")
    assert proc.returncode == 0, proc.stderr
    provenance = json.loads((batch_copy / "provenance.json").read_text())
    assert provenance["parameters"]["root"] == str(other.resolve())
    # the same root is updated as before (resume), with no flag
    proc = _batch(other, batch_copy)
    assert proc.returncode == 0, proc.stderr
