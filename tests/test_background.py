"""The seed paper's background correction: apply_threshold, deciles and the threshold model."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import tifffile
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from _faults import run_python
from colocalize import (
    ColocalizeWarning,
    ThresholdModel,
    ThresholdRange,
    apply_threshold,
    histogram_deciles,
)
from colocalize._cli._main import main

# The seed paper's fitted rule (py_coloc_utils CurrentLM): T = 16.8198 + offset - 0.4423 q80
# + 0.8522 q90, offsets G -12.0459, R -15.2042, B 0 (reference level B).
TRUE = {"intercept": 16.8198, "d8": -0.4423, "d9": 0.8522, "G": -12.0459, "R": -15.2042}

# ------------------------------------------------------------------------------------------
# apply_threshold
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16])
@pytest.mark.parametrize("shape", [(50,), (6, 7), (2, 5, 5)])
def test_apply_threshold_integer_maps_to_one_and_max(dtype, shape):
    rng = np.random.default_rng(0)
    top = int(np.iinfo(dtype).max)
    img = rng.integers(0, min(top, 1000), shape).astype(dtype)
    img.flat[0] = top
    img.flat[-1] = 41
    before = img.copy()
    out = apply_threshold(img, 40)
    np.testing.assert_array_equal(img, before)
    assert out.dtype == img.dtype
    assert out.shape == img.shape
    assert np.all(out[img <= 40] == 0)
    assert out.flat[-1] == 1
    assert out.flat[0] == top
    kept = img > 40
    assert np.all(out[kept] >= 1)
    order = np.argsort(img[kept], kind="stable")
    assert np.all(np.diff(out[kept][order].astype(np.int64)) >= 0)  # monotone


def test_apply_threshold_uint8_formula_and_no_rescale():
    img = np.arange(256, dtype=np.uint8)
    out = apply_threshold(img, 100.4)
    expected = np.where(img > 100.4, np.rint(1 + (img - 101.0) * 254 / 154), 0)
    np.testing.assert_array_equal(out, expected.astype(np.uint8))
    plain = apply_threshold(img, ThresholdRange(90, 110), rescale=False)
    np.testing.assert_array_equal(plain, np.where(img > 100, img, 0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_apply_threshold_float(dtype):
    img = np.array([0.0, 0.2, 0.5, 1.0, 2.0], dtype=dtype)
    out = apply_threshold(img, 0.5)
    assert out.dtype == dtype
    np.testing.assert_allclose(out, [0, 0, 0, 2.0 * 0.5 / 1.5, 2.0], rtol=1e-6)


def test_apply_threshold_only_max_left_and_errors():
    img = np.array([0, 254, 255], np.uint8)
    np.testing.assert_array_equal(apply_threshold(img, 254), [0, 0, 255])
    with pytest.raises(ValueError, match="finite"):
        apply_threshold(img, math.nan)
    with pytest.raises(ValueError, match="low <= high"):
        apply_threshold(img, (30, 10))
    with pytest.raises(ValueError, match="pair"):
        apply_threshold(img, (1, 2, 3))


def test_threshold_range():
    r = ThresholdRange(10, 20)
    assert (r.midpoint, r.distance(5), r.distance(15), r.distance(26)) == (15.0, 5.0, 0.0, 6.0)
    assert type(r.low) is float


# ------------------------------------------------------------------------------------------
# histogram_deciles
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_deciles_drop_non_responders(dtype):
    rng = np.random.default_rng(1)
    img = rng.integers(1, 200, (3, 20, 30)).astype(dtype)
    img[:, :5] = 0  # non-responders: zero in every channel
    img[1, 5:8] = 0  # zero in one channel only: kept
    got = histogram_deciles(img, channel_axis=0)
    keep = np.any(img != 0, axis=0)
    q = np.arange(1, 10) / 10
    for c in range(3):
        np.testing.assert_allclose(got[c], np.quantile(img[c][keep].astype(float), q))
    single = histogram_deciles(img[0])
    np.testing.assert_allclose(single, np.quantile(img[0][img[0] != 0].astype(float), q))


def test_deciles_all_zero_warns_and_bad_axis():
    with pytest.warns(ColocalizeWarning, match="zero"):
        out = histogram_deciles(np.zeros((2, 4, 4)), channel_axis=0)
    assert out.shape == (2, 9)
    assert np.isnan(out).all()
    with pytest.raises(ValueError, match="channel_axis"):
        histogram_deciles(np.ones((2, 4)), channel_axis=3)


# ------------------------------------------------------------------------------------------
# OLS inference
# ------------------------------------------------------------------------------------------


def _features(rng, n):
    base = rng.uniform(5, 60, n)
    spread = rng.uniform(5, 40, n)
    return base[:, None] + spread[:, None] * np.linspace(0, 1, 9)[None, :] ** 1.5


def test_ols_single_decile_matches_linregress():
    rng = np.random.default_rng(2)
    feats = _features(rng, 40)
    y = 3 + 0.5 * feats[:, 8] + rng.normal(0, 2, 40)
    model = ThresholdModel.fit(feats, ["x"] * 40, y - 1, y + 1, deciles=[9])
    ref = stats.linregress(feats[:, 8], y)
    assert model.terms == ("intercept", "d9")
    np.testing.assert_allclose(model.coefficients, [ref.intercept, ref.slope], rtol=1e-10)
    np.testing.assert_allclose(model.std_errors, [ref.intercept_stderr, ref.stderr], rtol=1e-8)
    assert model.p_values[1] == pytest.approx(ref.pvalue, rel=1e-6, abs=1e-300)
    assert model.r_squared == pytest.approx(ref.rvalue**2, rel=1e-10)
    assert model.f_statistic == pytest.approx(model.t_values[1] ** 2, rel=1e-10)
    assert model.f_p_value == pytest.approx(model.p_values[1], rel=1e-6, abs=1e-300)
    assert not model.uses_channel
    assert model.df_resid == 38


def test_ols_with_channel_matches_lstsq():
    rng = np.random.default_rng(3)
    feats = _features(rng, 60)
    chans = np.array(["B", "G", "R"] * 20)
    y = 1 + 0.3 * feats[:, 3] + 0.6 * feats[:, 7] + 4 * (chans == "R") + rng.normal(0, 1, 60)
    model = ThresholdModel.fit(feats, chans, y - 2, y + 2, deciles=[4, 8])
    x = np.column_stack([np.ones(60), feats[:, 3], feats[:, 7], chans == "G", chans == "R"])
    beta, rss, *_ = np.linalg.lstsq(x, y, rcond=None)
    np.testing.assert_allclose(model.coefficients, beta, rtol=1e-9)
    assert model.terms == ("intercept", "d4", "d8", "channel[G]", "channel[R]")
    assert model.channels[0] == "B"
    tss = ((y - y.mean()) ** 2).sum()
    assert model.r_squared == pytest.approx(1 - rss[0] / tss)
    assert model.adj_r_squared == pytest.approx(1 - (1 - model.r_squared) * 59 / 55)


# ------------------------------------------------------------------------------------------
# Recovery of a known rule on a generated image set
# ------------------------------------------------------------------------------------------


def _image_set(seed, n_images=60, size=48):
    """RGB uint8 images; expert ranges from the paper's rule plus noise."""
    rng = np.random.default_rng(seed)
    images, rows = [], []
    for i in range(n_images):
        img = np.zeros((size, size, 3), np.uint8)
        for c in range(3):
            bg = rng.gamma(rng.uniform(1.5, 6), rng.uniform(3, 12), (size, size))
            spots = rng.random((size, size)) < rng.uniform(0.02, 0.25)
            bg[spots] += rng.uniform(40, 160)
            img[..., c] = np.clip(bg, 0, 255).astype(np.uint8)
        img[: size // 6] = 0  # a non-responder band
        deciles = histogram_deciles(img, channel_axis=-1)
        for c, name in enumerate("RGB"):
            t = (
                TRUE["intercept"]
                + TRUE.get(name, 0.0)
                + TRUE["d8"] * deciles[c, 7]
                + TRUE["d9"] * deciles[c, 8]
                + rng.normal(0, 1.5)
            )
            rows.append((i, name, t - rng.uniform(1, 5), t + rng.uniform(1, 5)))
        images.append(img)
    return images, rows


def _features_of(images, rows):
    feats = np.array(
        [histogram_deciles(images[i], channel_axis=-1)["RGB".index(c)] for i, c, _, _ in rows]
    )
    chans = [c for _, c, _, _ in rows]
    low = np.array([r[2] for r in rows])
    high = np.array([r[3] for r in rows])
    return feats, chans, low, high


@pytest.fixture(scope="module")
def image_set():
    return _image_set(11)


def test_model_recovers_known_rule(image_set):
    images, rows = image_set
    feats, chans, low, high = _features_of(images, rows)
    model = ThresholdModel.fit(feats, chans, low, high, select=True, alpha=0.01)
    assert {8, 9} <= set(model.deciles)
    assert model.uses_channel
    assert model.channels == ("B", "G", "R")
    coef = dict(zip(model.terms, model.coefficients))
    se = dict(zip(model.terms, model.std_errors))
    for term, key in (("d8", "d8"), ("d9", "d9"), ("channel[G]", "G"), ("channel[R]", "R")):
        assert abs(coef[term] - TRUE[key]) < 4 * se[term], term
    assert model.f_p_value < 1e-10
    assert model.r_squared > 0.5
    full = ThresholdModel.fit(feats, chans, low, high)
    assert len(full.terms) == 12
    assert full.alpha is None
    assert model.alpha == 0.01
    # fresh images from the same rule: errors near the noise level
    test_images, test_rows = _image_set(12, n_images=20)
    ev = model.evaluate(*_features_of(test_images, test_rows))
    assert ev.n == 60
    assert ev.mae_midpoint < 3.0
    assert ev.mean_range_distance < ev.mae_midpoint
    assert 0.5 < ev.fraction_in_range <= 1.0


def test_selection_drops_the_channel_when_it_does_not_matter():
    rng = np.random.default_rng(5)
    feats = _features(rng, 90)
    chans = np.array(["a", "b", "c"] * 30)
    y = 2 + 0.7 * feats[:, 8] + rng.normal(0, 1, 90)
    model = ThresholdModel.fit(feats, chans, y - 1, y + 1, select=True, deciles=[2, 9])
    assert not model.uses_channel
    assert model.deciles == (9,)


def test_predict_image_json_roundtrip(image_set, tmp_path):
    images, rows = image_set
    model = ThresholdModel.fit(*_features_of(images, rows), deciles=[8, 9])
    again = ThresholdModel.from_json(model.to_json())
    assert again == model
    model.save(tmp_path / "m.json")
    assert ThresholdModel.load(tmp_path / "m.json") == model
    per_channel = model.predict_image(images[0], channel_axis=-1, channels=list("RGB"))
    feats = histogram_deciles(images[0], channel_axis=-1)
    np.testing.assert_allclose(per_channel, model.predict(feats, list("RGB")))
    assert all(type(v) is float for v in per_channel)
    with pytest.raises(ValueError, match="not in the training set"):
        model.predict(feats, ["R", "G", "X"])
    with pytest.raises(ValueError, match="format"):
        ThresholdModel.from_json(json.dumps({"terms": []}))
    assert "channel reference level: B" in model.summary()


def test_fit_validation():
    feats = np.ones((5, 9))
    with pytest.raises(ValueError, match=r"\(n, 9\)"):
        ThresholdModel.fit(np.ones((5, 8)), ["a"] * 5, np.zeros(5), np.ones(5))
    with pytest.raises(ValueError, match="low > high"):
        ThresholdModel.fit(feats, ["a"] * 5, np.ones(5), np.zeros(5))
    with pytest.raises(ValueError, match="samples cannot fit"):
        ThresholdModel.fit(feats, ["a"] * 5, np.zeros(5), np.ones(5))
    with pytest.raises(ValueError, match="deciles"):
        ThresholdModel.fit(feats, ["a"] * 5, np.zeros(5), np.ones(5), deciles=[0])


@settings(max_examples=25, deadline=None)
@given(shift=st.floats(-50, 50), seed=st.integers(0, 1000))
def test_property_shifting_the_ranges_shifts_the_intercept(shift, seed):
    rng = np.random.default_rng(seed)
    feats = _features(rng, 30)
    y = 5 + 0.5 * feats[:, 8] + rng.normal(0, 1, 30)
    a = ThresholdModel.fit(feats, ["c"] * 30, y - 1, y + 1, deciles=[8, 9])
    b = ThresholdModel.fit(feats, ["c"] * 30, y - 1 + shift, y + 1 + shift, deciles=[8, 9])
    assert b.coefficients[0] == pytest.approx(a.coefficients[0] + shift, abs=1e-6)
    np.testing.assert_allclose(b.coefficients[1:], a.coefficients[1:], atol=1e-8)


# ------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------

NAMES = {"R": "red", "G": "green", "B": "blue"}


def test_cli_fit_predict_evaluate(image_set, tmp_path, capsys):
    images, rows = image_set
    for i, img in enumerate(images):
        tifffile.imwrite(tmp_path / f"img{i}.tif", img, photometric="rgb")
    experts = tmp_path / "experts.csv"
    with open(experts, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["image", "channel", "low", "high"])
        for i, c, lo, hi in rows:
            writer.writerow([f"img{i}.tif", NAMES[c] if i % 2 else "RGB".index(c), lo, hi])
    model_file = tmp_path / "model.json"
    assert main(["threshold-model", "fit", str(experts), "-o", str(model_file), "--select"]) == 0
    out = capsys.readouterr().out
    assert "R^2" in out
    assert "d9" in out
    assert "MAE" in out
    model = ThresholdModel.load(model_file)
    feats, chans, low, high = _features_of(images, rows)
    chans = [NAMES[c] for c in chans]  # tifffile/colocalize name RGB samples red, green, blue
    assert model == ThresholdModel.fit(feats, chans, low, high, select=True)

    pred = tmp_path / "pred.csv"
    files = [str(tmp_path / "img0.tif"), str(tmp_path / "img1.tif")]
    assert main(["threshold-model", "predict", str(model_file), *files, "-o", str(pred)]) == 0
    with open(pred, newline="") as fh:
        table = list(csv.DictReader(fh))
    assert [r["channel"] for r in table] == ["red", "green", "blue"] * 2
    names = [NAMES[c] for c in "RGB"]
    expected = model.predict_image(images[1], channel_axis=-1, channels=names)
    np.testing.assert_allclose([float(r["threshold"]) for r in table[3:]], expected, rtol=1e-5)

    assert main(["threshold-model", "evaluate", str(model_file), str(experts)]) == 0
    out = capsys.readouterr().out
    ev = model.evaluate(feats, chans, low, high)
    assert f"{ev.mae_midpoint:.4f}" in out
    assert f"{ev.mean_range_distance:.4f}" in out


def test_cli_errors(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("image,chan,low,high\nx.tif,0,1,2\n")
    assert main(["threshold-model", "fit", str(bad), "-o", str(tmp_path / "m.json")]) == 2
    assert "channel" in capsys.readouterr().err
    missing = tmp_path / "nope.json"
    assert main(["threshold-model", "evaluate", str(missing), str(bad)]) == 2
    capsys.readouterr()
    pixels = np.arange(48, dtype=np.uint8).reshape(4, 4, 3) + 1
    tifffile.imwrite(tmp_path / "x.tif", pixels, photometric="rgb")
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("image,channel,low,high\nx.tif,3,1,2\n")
    assert main(["threshold-model", "fit", str(unknown), "-o", str(tmp_path / "m.json")]) == 2
    err = capsys.readouterr().err
    assert "unknown.csv:2 (x.tif): channel='3' is not a channel" in err
    assert "['red', 'green', 'blue']" in err


def test_the_threshold_layer_does_not_load_the_coefficients():
    # _threshold sits below _coefficients (which uses its methods): the pixel selection both
    # need lives in _selection, so the layer imports nothing from above it
    proc = run_python(
        "import sys, colocalize._threshold._background\n"
        "print(sorted(m for m in sys.modules if m.startswith('colocalize.')))"
    )
    assert proc.returncode == 0, proc.stderr
    loaded = proc.stdout.strip()
    assert "colocalize._selection" in loaded
    assert "colocalize._coefficients" not in loaded
