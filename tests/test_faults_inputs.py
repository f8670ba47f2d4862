"""Fault tests for reading images, thresholds, CCC and the threshold model (issue 11).

Each case runs through the command line (a subprocess with a timeout and a memory cap, so an
attempted huge allocation fails fast instead of swapping) and through the API; every input file
is hashed before and after.
"""

from __future__ import annotations

import json
import struct
import textwrap
from pathlib import Path

import numpy as np
import pytest
import tifffile

import colocalize
from _faults import assert_clean_error, inputs_unchanged, run_cli, run_python
from colocalize import ThresholdModel, read_image, threshold, write_image

MEMORY_MB = 1500  # far below the 149 GiB and 32 GiB the faulty cases tried to allocate
HUGE_SHAPE = (2, 200000, 200000)  # uint16: 149 GiB


def _image(rng: np.random.Generator, shape=(2, 48, 48)) -> np.ndarray:
    return rng.integers(0, 4000, shape, dtype=np.uint16)


def truncated_tiff(folder: Path) -> Path:
    """A deflate-compressed TIFF cut in the middle of its pixel data."""
    whole = folder / "whole.tif"
    tifffile.imwrite(whole, _image(np.random.default_rng(0)), compression="zlib")
    data = whole.read_bytes()
    path = folder / "truncated.tif"
    path.write_bytes(data[: len(data) // 2])
    whole.unlink()
    return path


def corrupt_ome_tiff(folder: Path) -> Path:
    """An OME-TIFF whose XML lost the SizeX attribute of its Pixels element."""
    good = folder / "good.ome.tif"
    tifffile.imwrite(good, _image(np.random.default_rng(1)), metadata={"axes": "CYX"})
    data = good.read_bytes()
    assert b'SizeX="48"' in data
    path = folder / "corrupt.ome.tif"
    path.write_bytes(data.replace(b'SizeX="48"', b'SizeQ="48"'))
    good.unlink()
    return path


def truncated_ome_tiff(folder: Path) -> Path:
    """A 2-channel OME-TIFF cut after its first plane (tifffile then reads one plane)."""
    whole = folder / "whole.ome.tif"
    tifffile.imwrite(whole, _image(np.random.default_rng(2)), metadata={"axes": "CYX"})
    data = whole.read_bytes()
    path = folder / "cut.ome.tif"
    path.write_bytes(data[: int(len(data) * 0.6)])
    whole.unlink()
    return path


def missing_plane_ome_tiff(folder: Path) -> Path:
    """An OME-TIFF declaring 3 channels with 2 stored (tifffile fills the third with zeros)."""
    good = folder / "good.ome.tif"
    tifffile.imwrite(good, _image(np.random.default_rng(3)), metadata={"axes": "CYX"})
    data = good.read_bytes()
    assert b'SizeC="2"' in data
    path = folder / "missing.ome.tif"
    path.write_bytes(data.replace(b'SizeC="2"', b'SizeC="3"'))
    good.unlink()
    return path


def huge_tiff(folder: Path) -> Path:
    """A file of a few hundred bytes whose tags declare 2 x 200000 x 200000 uint16 pixels."""
    small = folder / "small.tif"
    tifffile.imwrite(small, np.zeros((2, 8, 8), np.uint16))
    with tifffile.TiffFile(small) as tif:
        offsets = [
            page.tags[name].valueoffset
            for page in tif.pages
            for name in ("ImageWidth", "ImageLength", "RowsPerStrip")
        ]
    data = bytearray(small.read_bytes())
    for offset in offsets:  # LONG tags in a little-endian classic TIFF
        data[offset : offset + 4] = struct.pack("<I", HUGE_SHAPE[1])
    path = folder / "huge.tif"
    path.write_bytes(bytes(data))
    small.unlink()
    return path


BAD_FILES = {
    "truncated": (truncated_tiff, "truncated"),
    "truncated-ome": (truncated_ome_tiff, "truncated"),
    "missing-plane": (missing_plane_ome_tiff, "missing"),
    "corrupt-ome": (corrupt_ome_tiff, "SizeX"),
    "huge": (huge_tiff, "memory"),
}


# ------------------------------------------------------------------------- damaged TIFF files


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_damaged_tiff_gives_a_one_line_error(kind, tmp_path):
    make, what = BAD_FILES[kind]
    path = make(tmp_path)
    with inputs_unchanged(tmp_path):
        proc = run_cli("threshold", path, memory_mb=MEMORY_MB, timeout=60)
        err = assert_clean_error(proc, path.name, what)
        assert len(err.splitlines()) == 1, err
        code = f"""
            from colocalize import read_image
            try:
                read_image({str(path)!r})
            except ValueError as exc:
                print(exc)
            """
        api = run_python(textwrap.dedent(code), memory_mb=MEMORY_MB, timeout=60)
    assert api.returncode == 0, api.stderr
    assert path.name in api.stdout
    assert what.lower() in api.stdout.lower()


@pytest.mark.parametrize(
    "command",
    [
        ["coefficients", "{image}"],
        ["ccc", "{image}", "{image}"],
        ["threshold-model", "predict", "{model}", "{image}"],
    ],
    ids=["coefficients", "ccc", "threshold-model"],
)
def test_every_reader_refuses_a_huge_declared_image(command, tmp_path):
    image = huge_tiff(tmp_path)
    model = tmp_path / "model.json"
    _small_model().save(model)
    args = [a.format(image=image, model=model) for a in command]
    with inputs_unchanged(tmp_path):
        proc = run_cli(*args, memory_mb=MEMORY_MB, timeout=60)
    assert_clean_error(proc, image.name, "149 GiB", "memory")


def test_memory_check_uses_the_available_memory(tmp_path, monkeypatch):
    from colocalize import _io

    path = tmp_path / "a.tif"
    write_image(path, np.zeros((64, 64), np.uint16))  # 8 KiB of pixels
    monkeypatch.setattr(_io, "available_memory", lambda: 4096)
    with pytest.raises(ValueError, match=r"a\.tif.*uint16 pixels.*memory available"):
        read_image(path)
    monkeypatch.setattr(_io, "available_memory", lambda: None)  # unknown: no check
    assert read_image(path).shape == (64, 64)
    monkeypatch.undo()
    assert colocalize._io.available_memory() > 0


# ------------------------------------------------------------------------- threshold ranges


def _write_raw(path: Path, data: np.ndarray) -> Path:
    tifffile.imwrite(path, data)  # any dtype, unlike write_image (ImageJ types only)
    return path


def test_full_histogram_on_uint32_is_refused_before_allocating(tmp_path):
    data = np.array([[0, 5, 2**32 - 1, 70000]], np.uint32)
    path = _write_raw(tmp_path / "u32.tif", data)
    with inputs_unchanged(tmp_path):
        proc = run_cli("threshold", path, "--full-histogram", memory_mb=MEMORY_MB, timeout=60)
    assert_clean_error(proc, "--full-histogram", "65536")
    code = """
        import numpy as np
        from colocalize import threshold
        try:
            threshold(np.array([[0, 5, 2**32 - 1]], np.uint32), "Otsu", full_histogram=True)
        except ValueError as exc:
            print(exc)
        """
    api = run_python(textwrap.dedent(code), memory_mb=MEMORY_MB, timeout=60)
    assert api.returncode == 0, api.stderr
    assert "full_histogram" in api.stdout


def test_full_histogram_within_16_bits_of_any_integer_type():
    rng = np.random.default_rng(3)
    small = rng.integers(0, 3000, (20, 20)).astype(np.uint16)
    expected = threshold(small, "Li", full_histogram=True)
    for dtype in (np.int32, np.int64, np.uint32):
        shifted = small.astype(dtype) + dtype(100000)
        assert threshold(shifted, "Li", full_histogram=True) == expected + 100000


@pytest.mark.parametrize(
    "data",
    [
        np.array([[-(2**62), 0, 2**62, 5]], np.int64),
        np.array([[2**64 - 1, 2**64 - 1000, 2**64 - 10**6, 2**63]], np.uint64),
    ],
    ids=["int64", "uint64"],
)
def test_64_bit_integers_beyond_float_precision_are_refused(data, tmp_path):
    path = _write_raw(tmp_path / "big.tif", data)
    with inputs_unchanged(tmp_path):
        proc = run_cli("threshold", path, memory_mb=MEMORY_MB, timeout=60)
    assert_clean_error(proc, "image", str(int(data.min())), "2**40")
    with pytest.raises(ValueError, match=r"image holds .*64 values.*2\*\*40"):
        threshold(data, "Otsu")
    with pytest.raises(ValueError, match=r"2\*\*40"):
        colocalize.threshold_per_slice(data[None], "Otsu")


@pytest.mark.parametrize("seed", range(3))
def test_64_bit_integers_within_range_move_with_an_offset(seed):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 60000, (30, 30)).astype(np.uint16)
    for dark in (True, False):
        for method in ("Otsu", "Default", "Triangle", "Mean"):
            expected = threshold(image, method, dark_background=dark)
            assert threshold(image.astype(np.uint64), method, dark_background=dark) == expected
            for offset in (2**40 - 2**16, -(2**40)):
                shifted = image.astype(np.int64) + offset
                t = threshold(shifted, method, dark_background=dark)
                assert t == expected + offset, (method, dark, offset)
    with pytest.raises(ValueError, match=r"2\*\*40"):
        threshold(image.astype(np.int64) + 2**40, "Otsu")


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(37, 41), (3, 19, 23)])
def test_binning_in_blocks_gives_the_same_thresholds(dtype, shape, monkeypatch):
    # the 256-bin histogram is built block by block so its temporaries stay small
    from colocalize._threshold import _auto as _threshold

    rng = np.random.default_rng(13)
    values = rng.gamma(2.0, 900.0, shape)
    image = (values % 256 if dtype == np.uint8 else values).astype(dtype)
    cases = [(m, dark) for m in ("Otsu", "Li", "Triangle") for dark in (True, False)]
    whole = [threshold(image, m, dark_background=dark) for m, dark in cases]
    monkeypatch.setattr(_threshold, "_BLOCK", 97)  # many blocks, the last one partial
    assert [threshold(image, m, dark_background=dark) for m, dark in cases] == whole


# ------------------------------------------------------------------------- method names


def test_method_names_in_any_case_everywhere(tmp_path):
    rng = np.random.default_rng(5)
    data = _image(rng, (48, 48))
    path = tmp_path / "img.tif"
    write_image(path, data)
    with inputs_unchanged(tmp_path):
        proc = run_cli("threshold", path, "--method", "otsu", timeout=60)
        assert proc.returncode == 0, proc.stderr
        lower = proc.stdout.splitlines()[1].split("\t")
        proc = run_cli("threshold", path, "--method", "Otsu", timeout=60)
        canonical = proc.stdout.splitlines()[1].split("\t")
        assert lower == canonical
        assert lower[2] == "Otsu"
        bad = run_cli("threshold", path, "--method", "otsu2", timeout=60)
    err = assert_clean_error(bad, "--method", "otsu2", "Otsu", "MaxEntropy")
    assert len(err.splitlines()) == 1
    from colocalize._threshold._auto import resolve_method

    assert resolve_method("mAxEnTrOpY") == "MaxEntropy"
    assert threshold(data, "TRIANGLE") == threshold(data, "Triangle")
    np.testing.assert_array_equal(
        colocalize.apply_threshold(data, "otsu"),
        colocalize.apply_threshold(data, threshold(data, "Otsu")),
    )
    with pytest.raises(ValueError, match=r"t must be one of .*Otsu.*got 'nope'"):
        colocalize.apply_threshold(data, "nope")
    with pytest.raises(ValueError, match="--mask-method must be one of"):
        resolve_method("Foo", name="--mask-method")


# ------------------------------------------------------------------------- CCC ranges


def test_ccc_refuses_too_many_gaussians_up_front(tmp_path):
    rng = np.random.default_rng(6)
    a = rng.random((16, 16)).astype(np.float32)
    with pytest.raises(ValueError, match=r"n_gaussians must be from 1 to 10, got 50"):
        colocalize.cross_correlation(a, a, n_gaussians=50)
    with pytest.raises(ValueError, match=r"n_gaussians must be from 1 to 10, got 0"):
        colocalize.cross_correlation(a, a, n_gaussians=0)
    with pytest.raises(ValueError, match="workers must be a non-zero integer"):
        colocalize.cross_correlation(a, a, workers=0)
    with pytest.raises(ValueError, match="workers must be a non-zero integer"):
        colocalize.cross_correlation_profile(a, a, workers=1.5)  # type: ignore[arg-type]
    write_image(tmp_path / "a.tif", rng.random((64, 64)).astype(np.float32))
    with inputs_unchanged(tmp_path):
        proc = run_cli(
            "ccc", tmp_path / "a.tif", tmp_path / "a.tif", "--n-gaussians", "50", timeout=30
        )
    assert_clean_error(proc, "n_gaussians", "50", "1 to 10")


# ------------------------------------------------------------------------- threshold model JSON


def _small_model() -> ThresholdModel:
    rng = np.random.default_rng(7)
    feats = np.sort(rng.uniform(0, 100, (30, 9)), axis=1)
    mid = 5 + 0.8 * feats[:, 8] + rng.normal(0, 1, 30)
    return ThresholdModel.fit(
        feats, ["0"] * 30, mid - 1, mid + 1, deciles=[8, 9], use_channel=False
    )


def _broken_models(good: str) -> dict[str, tuple[str, str]]:
    data = json.loads(good)
    renamed = {("coefs" if k == "coefficients" else k): v for k, v in data.items()}
    wrong_type = {**data, "coefficients": "abc"}
    short = {**data, "coefficients": data["coefficients"][:-1]}
    return {
        "truncated": (good[: len(good) // 2], "not valid JSON"),
        "wrong-keys": (json.dumps(renamed), "missing field(s) ['coefficients']"),
        "wrong-type": (json.dumps(wrong_type), "'coefficients' must be a list"),
        "wrong-length": (json.dumps(short), "'coefficients' must be a list of 3 numbers"),
        "not-a-model": (json.dumps([1, 2]), "not a colocalize threshold model"),
    }


@pytest.mark.parametrize(
    "case", ["truncated", "wrong-keys", "wrong-type", "wrong-length", "not-a-model"]
)
def test_broken_model_json_names_the_file(case, tmp_path):
    text, what = _broken_models(_small_model().to_json())[case]
    model = tmp_path / "model.json"
    model.write_text(text)
    image = tmp_path / "img.tif"
    write_image(image, _image(np.random.default_rng(8), (32, 32)))
    with pytest.raises(ValueError, match=r"model\.json") as info:
        ThresholdModel.load(model)
    assert what in str(info.value)
    with inputs_unchanged(tmp_path):
        proc = run_cli("threshold-model", "predict", model, image, timeout=60)
    err = assert_clean_error(proc, "model.json", what)
    assert len(err.splitlines()) == 1


# ------------------------------------------------------------------------- outputs


@pytest.fixture
def ccc_inputs(tmp_path):
    rng = np.random.default_rng(9)
    paths = []
    for name in ("a.tif", "b.tif"):
        write_image(tmp_path / name, rng.random((24, 24)).astype(np.float32))
        paths.append(tmp_path / name)
    return paths


def test_ccc_out_refuses_existing_files_unless_overwrite(ccc_inputs, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    old = out / "CC Results.csv"
    old.write_text("an earlier result\n")
    with inputs_unchanged(*ccc_inputs, out):
        proc = run_cli("ccc", *ccc_inputs, "--out", out, timeout=60)
    assert_clean_error(proc, "--out", "CC Results.csv", "--overwrite")
    with inputs_unchanged(*ccc_inputs):
        proc = run_cli("ccc", *ccc_inputs, "--out", out, "--overwrite", timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert old.read_text().splitlines()[0] == ",value"
    assert not list(out.glob(".*.tmp"))  # atomic writes leave no temporaries


def test_ccc_contributions_never_land_on_an_input(tmp_path):
    rng = np.random.default_rng(10)
    out = tmp_path / "out"
    out.mkdir()
    # image0 is named like the contribution image of image1 in the --out folder
    image0, image1 = out / "Contribution of b.tif", out / "b.tif"
    for path in (image0, image1):
        write_image(path, rng.random((24, 24)).astype(np.float32))
    with inputs_unchanged(out):
        proc = run_cli(
            "ccc", image0, image1, "--contributions", "--out", out, "--overwrite", timeout=60
        )
    assert_clean_error(proc, "also an input", "Contribution of b.tif")


def test_ccc_contributions_of_inputs_with_one_name_do_not_collide(tmp_path):
    rng = np.random.default_rng(11)
    inputs = []
    for folder in ("x", "y"):
        (tmp_path / folder).mkdir()
        write_image(tmp_path / folder / "cell.tif", rng.random((24, 24)).astype(np.float32))
        inputs.append(tmp_path / folder / "cell.tif")
    out = tmp_path / "out"
    with inputs_unchanged(*inputs):
        proc = run_cli("ccc", *inputs, "--contributions", "--out", out, timeout=60)
    assert proc.returncode == 0, proc.stderr
    names = sorted(p.name for p in out.glob("Contribution of *.tif"))
    assert names == ["Contribution of cell (image0).tif", "Contribution of cell (image1).tif"]


def test_threshold_model_outputs_never_replace_inputs(tmp_path):
    image = tmp_path / "img.tif"
    write_image(image, _image(np.random.default_rng(12), (32, 32)))
    experts = tmp_path / "experts.csv"
    experts.write_text("image,channel,low,high\nimg.tif,0,10,20\n")
    model = tmp_path / "model.json"
    _small_model().save(model)
    with inputs_unchanged(tmp_path):
        for target in (experts, image):  # even with --overwrite
            proc = run_cli(
                "threshold-model", "fit", experts, "-o", target, "--overwrite", timeout=60
            )
            assert_clean_error(proc, "--output", target.name, "also an input")
        proc = run_cli("threshold-model", "fit", experts, "-o", model, timeout=60)
        assert_clean_error(proc, "--output", "model.json", "already exists", "--overwrite")
        for target in (model, image):
            proc = run_cli(
                "threshold-model",
                "predict",
                model,
                image,
                "-o",
                target,
                "--overwrite",
                timeout=60,
            )
            assert_clean_error(proc, "--output", "also an input")
    predictions = tmp_path / "pred.csv"
    predictions.write_text("old\n")
    proc = run_cli("threshold-model", "predict", model, image, "-o", predictions, timeout=60)
    assert_clean_error(proc, "--output", "already exists")
    proc = run_cli(
        "threshold-model", "predict", model, image, "-o", predictions, "--overwrite", timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert predictions.read_text().startswith("image,channel,threshold")


def test_threshold_model_save_refuses_an_existing_file(tmp_path):
    model = _small_model()
    path = tmp_path / "m.json"
    model.save(path)
    with pytest.raises(ValueError, match="already exists"):
        model.save(path)
    model.save(path, overwrite=True)
    assert ThresholdModel.load(path) == model


def test_coefficients_thresholds_method_error_names_the_option(tmp_path):
    path = tmp_path / "two.tif"
    write_image(path, _image(np.random.default_rng(5)), axes="CYX")
    with inputs_unchanged(path):
        proc = run_cli("coefficients", path, "--thresholds", "Foo")
    assert_clean_error(proc, "--thresholds", "'Foo'", "Otsu", "costes")
    ok = run_cli("coefficients", path, "--thresholds", "otsu", "--csv")
    assert ok.returncode == 0, ok.stderr
