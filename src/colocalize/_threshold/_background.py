"""Background correction of the seed paper: manual thresholds and a learned threshold model.

Fenner (SciPy 2013, ``mfenner1/py_coloc_utils``) removed background by a per-channel threshold
chosen by an expert, zeroing everything at or below it and stretching the rest; then it
replaced the expert by a linear model of the 8th and 9th deciles of the responder pixels and
the channel (R-squared 0.69, mean absolute error 6.13 grey levels against the midpoint of the
expert's acceptable range, mean distance 2.27 from that range).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from colocalize._channels import as_channels, is_image
from colocalize._selection import select_pixels
from colocalize._threshold._auto import resolve_method, threshold
from colocalize._validation import as_image, warn_degenerate

__all__ = [
    "ThresholdEvaluation",
    "ThresholdModel",
    "ThresholdRange",
    "apply_threshold",
    "histogram_deciles",
    "remove_background",
]

_DECILES = tuple(range(1, 10))
_FORMAT = "colocalize.ThresholdModel/1"


@dataclass(frozen=True)
class ThresholdRange:
    """An expert's acceptable threshold range ``[low, high]`` for one channel.

    Examples
    --------
    >>> r = ThresholdRange(20.0, 30.0)
    >>> r.midpoint, r.distance(35.0), r.distance(22.0)
    (25.0, 5.0, 0.0)
    """

    low: float
    high: float

    def __post_init__(self) -> None:
        low, high = float(self.low), float(self.high)
        if not (math.isfinite(low) and math.isfinite(high)) or low > high:
            raise ValueError(
                f"ThresholdRange needs finite low <= high, got low={self.low!r}, "
                f"high={self.high!r}; swap them or fix the expert's entry."
            )
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    @property
    def midpoint(self) -> float:
        """``(low + high) / 2``, the value the threshold model is fitted to."""
        return 0.5 * (self.low + self.high)

    def distance(self, t: float) -> float:
        """How far ``t`` lies outside ``[low, high]`` (0 inside)."""
        return float(max(self.low - t, 0.0, t - self.high))


def remove_background(
    image: object, t: float | str | ThresholdRange | tuple[float, float], *, rescale: bool = True
) -> np.ndarray:
    """Zero the background at or below ``t`` and stretch the rest, as in the seed paper.

    Also available as ``apply_threshold``, its former name (which hid the stretch).

    Values ``<= t`` become 0. With ``rescale`` the remaining values are mapped linearly so that
    the smallest value above ``t`` becomes 1 and the type's maximum keeps its value:

    .. math::
        v' = 1 + (v - \\lfloor t \\rfloor - 1)\\,\\frac{M - 1}{M - \\lfloor t \\rfloor - 1}

    rounded to the nearest integer, with ``M`` the dtype maximum (255 for 8-bit): ``[t+1, 255]``
    becomes ``[1, 255]``. Float images have no useful dtype maximum: ``(t, max]`` becomes
    ``(0, max]`` with ``max`` the image maximum, ``v' = (v - t) max / (max - t)``.

    Parameters
    ----------
    image : ndarray
        One channel, any shape. Never modified.
    t : float, str, ThresholdRange or (low, high)
        The threshold in the image's units; a range (the expert's acceptable ``[low, high]``)
        uses its midpoint; a method name (any case, see :func:`colocalize.threshold_methods`)
        uses ``threshold(image, t)``.
    rescale : bool, optional
        Stretch the remaining range (default) or only zero the background.

    Returns
    -------
    ndarray
        A new array of the input's dtype.

    Notes
    -----
    The seed paper's ``thresholdNDArray`` mapped ``[T, 255]`` onto ``[0, 255]`` with
    ``np.interp`` (so the first level above T became 1 only approximately); here the first
    level above ``t`` is exactly 1, so no foreground pixel becomes background. When only the
    dtype maximum lies above ``t`` it keeps its value.

    References
    ----------
    .. [1] Fenner, M. (2013). Colocalization analysis of confocal images with Python.
       Proceedings of the 12th Python in Science Conference (SciPy 2013); code at
       https://github.com/mfenner1/py_coloc_utils

    Examples
    --------
    >>> import numpy as np
    >>> remove_background(np.array([0, 10, 11, 100, 255], np.uint8), 10)
    array([  0,   0,   1,  94, 255], dtype=uint8)
    >>> remove_background(np.array([0, 10, 11, 100, 255], np.uint8), (8, 12), rescale=False)
    array([  0,   0,  11, 100, 255], dtype=uint8)
    """
    arr = as_image(image, name="image")
    if isinstance(t, str):
        value = threshold(arr, resolve_method(t, name="t"))
    elif isinstance(t, ThresholdRange):
        value = t.midpoint
    elif isinstance(t, (tuple, list)):
        if len(t) != 2:
            raise ValueError(f"t must be a number or a (low, high) pair, got {t!r}.")
        value = ThresholdRange(*t).midpoint
    else:
        try:
            value = float(t)
        except (TypeError, ValueError):
            raise ValueError(
                f"t must be a number, a (low, high) pair or a method name, got {t!r}."
            ) from None
    if not math.isfinite(value):
        raise ValueError(f"t must be a finite threshold in the image's units, got {t!r}.")
    keep = arr > value
    if not rescale:
        return np.where(keep, arr, np.zeros((), dtype=arr.dtype))
    x = arr.astype(np.float64)
    if arr.dtype.kind in "ui":
        top = float(np.iinfo(arr.dtype).max)
        first = max(math.floor(value) + 1.0, float(np.iinfo(arr.dtype).min))
        if top > first:
            stretched = 1.0 + (x - first) * ((top - 1.0) / (top - first))
        else:
            stretched = np.full_like(x, top)
        out = np.where(keep, np.rint(stretched), 0.0)
        return np.clip(out, 0, top).astype(arr.dtype)
    top = float(arr[keep].max()) if keep.any() else value
    with np.errstate(divide="ignore", invalid="ignore"):
        stretched = (x - value) * (top / (top - value)) if top > value else x
    return np.where(keep, stretched, 0.0).astype(arr.dtype)


apply_threshold = remove_background  # the former name, kept working


def histogram_deciles(image: object, *, channel_axis: int | None = None) -> np.ndarray:
    """The 1st to 9th deciles of each channel's responder pixels: the threshold model's features.

    Non-responder pixels (zero in *every* channel) are removed first, as in the seed paper;
    the deciles are then ``np.quantile(values, [0.1, ..., 0.9])`` (linear interpolation) of
    each channel over the remaining pixels.

    Parameters
    ----------
    image : ndarray or Image
        One channel, or several along ``channel_axis`` (an ``Image``'s ``C`` axis by default).
    channel_axis : int, optional
        The axis holding the channels (None: a single channel, or an ``Image``'s ``C`` axis).

    Returns
    -------
    ndarray
        Shape ``(9,)`` for one channel, ``(C, 9)`` with a channel axis; NaN (with a
        :class:`ColocalizeWarning`) when every pixel is zero.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.stack([np.arange(101.0), np.zeros(101)])  # pixel 0 is a non-responder
    >>> histogram_deciles(img, channel_axis=0)[:, [0, 8]]
    array([[10.9, 90.1],
           [ 0. ,  0. ]])
    """
    split = as_channels(image, channel_axis=channel_axis)
    channels = [as_image(c, name="image") for c in split.data]
    several = channel_axis is not None or (is_image(image) and "C" in image.axes)  # type: ignore[attr-defined]
    _, responders = select_pixels(channels, mask=None, exclude_zero_zero=True, saturated=None)
    if responders[0].size == 0:
        warn_degenerate("histogram_deciles: every pixel is zero (no responders); deciles are NaN.")
        out = np.full((len(channels), 9), np.nan)
    else:
        q = np.asarray(_DECILES, dtype=np.float64) / 10.0
        out = np.stack([np.quantile(values.astype(np.float64), q) for values in responders])
    return out if several else out[0]


@dataclass(frozen=True)
class ThresholdEvaluation:
    """How well predicted thresholds match expert ranges.

    Attributes
    ----------
    mae_midpoint : float
        Mean absolute error against the midpoints of the expert ranges (paper: 6.13).
    mean_range_distance : float
        Mean distance of the predictions from the ``[low, high]`` ranges, 0 inside (paper: 2.27).
    fraction_in_range : float
        Fraction of predictions inside their range.
    n : int
        Number of (image, channel) samples.
    """

    mae_midpoint: float
    mean_range_distance: float
    fraction_in_range: float
    n: int


def _ols(x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Ordinary least squares with the usual inference (x includes the intercept column)."""
    from scipy import stats

    n, p = x.shape
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta
    rss = float(resid @ resid)
    tss = float(((y - y.mean()) ** 2).sum())
    df = n - p
    sigma2 = rss / df if df > 0 else math.nan
    xtx_inv = np.linalg.pinv(x.T @ x)
    se = np.sqrt(np.maximum(np.diag(xtx_inv) * sigma2, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        tval = beta / se
    pval = 2.0 * stats.t.sf(np.abs(tval), df) if df > 0 else np.full(p, np.nan)
    r2 = 1.0 - rss / tss if tss > 0 else math.nan
    adj = 1.0 - (1.0 - r2) * (n - 1) / df if df > 0 else math.nan
    if p > 1 and df > 0 and rss > 0:
        f = ((tss - rss) / (p - 1)) / (rss / df)
        fp = float(stats.f.sf(f, p - 1, df))
    else:
        f, fp = math.nan, math.nan
    return {
        "beta": beta,
        "se": se,
        "t": tval,
        "p": pval,
        "rss": rss,
        "df": df,
        "r2": r2,
        "adj": adj,
        "f": float(f),
        "fp": fp,
    }


def _as_features(features: object, name: str = "features") -> np.ndarray:
    arr = np.asarray(features, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != 9:
        raise ValueError(
            f"{name} must have shape (n, 9): the 1st..9th deciles of each sample (see "
            f"histogram_deciles), got shape {arr.shape}."
        )
    if not np.isfinite(arr).all():
        raise ValueError(
            f"{name} has NaN or infinite deciles (an all-zero image?); drop those samples."
        )
    return arr


def _as_labels(channels: object, n: int) -> list[str]:
    if isinstance(channels, (str, int, np.integer)):
        labels = [str(channels)] * n
    else:
        labels = [str(c) for c in channels]  # type: ignore[attr-defined]
    if len(labels) != n:
        raise ValueError(f"channels has {len(labels)} labels for {n} samples; pass one per row.")
    return labels


def _as_vector(values: object, n: int, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if arr.size != n or not np.isfinite(arr).all():
        raise ValueError(f"{name} must hold {n} finite values (one per sample), got {arr.size}.")
    return arr


def _checked_model_fields(data: dict[str, Any], source: str) -> dict[str, Any]:
    """The fields of a :class:`ThresholdModel` JSON object, checked and converted."""
    names = [f.name for f in fields(ThresholdModel)]
    missing = [n for n in names if n not in data and n != "alpha"]
    unknown = [k for k in data if k not in names]
    if missing or unknown:
        raise ValueError(
            f"{source} does not hold a threshold model: missing field(s) {missing}, unknown "
            f"field(s) {unknown}; write it again with ThresholdModel.save or 'threshold-model "
            f"fit'."
        )

    def bad(key: str, expected: str) -> ValueError:
        return ValueError(f"{source}: field {key!r} must be {expected}, got {data[key]!r}.")

    def number(value: object) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    out: dict[str, Any] = {}
    n_terms = len(data["terms"]) if isinstance(data["terms"], list) else -1
    if n_terms < 1 or not all(isinstance(t, str) for t in data["terms"]):
        raise bad("terms", "a non-empty list of names")
    out["terms"] = tuple(data["terms"])
    for key in ("coefficients", "std_errors", "t_values", "p_values"):
        value = data[key]
        if not (isinstance(value, list) and len(value) == n_terms and all(map(number, value))):
            raise bad(key, f"a list of {n_terms} numbers (one per term)")
        out[key] = tuple(float(v) for v in value)
    for key in ("r_squared", "adj_r_squared", "f_statistic", "f_p_value"):
        if not number(data[key]):
            raise bad(key, "a number")
        out[key] = float(data[key])
    for key in ("n_samples", "df_resid"):
        if not (isinstance(data[key], int) and not isinstance(data[key], bool) and data[key] >= 0):
            raise bad(key, "a non-negative integer")
        out[key] = data[key]
    deciles = data["deciles"]
    if not (
        isinstance(deciles, list)
        and all(isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 9 for d in deciles)
    ):
        raise bad("deciles", "a list of integers from 1 to 9")
    out["deciles"] = tuple(deciles)
    channels = data["channels"]
    if not (
        isinstance(channels, list) and channels and all(isinstance(c, (str, int)) for c in channels)
    ):
        raise bad("channels", "a non-empty list of channel labels")
    out["channels"] = tuple(str(c) for c in channels)
    if not isinstance(data["uses_channel"], bool):
        raise bad("uses_channel", "true or false")
    out["uses_channel"] = data["uses_channel"]
    alpha = data.get("alpha")
    if alpha is not None and not number(alpha):
        raise bad("alpha", "a number or null")
    out["alpha"] = None if alpha is None else float(alpha)
    expected = 1 + len(deciles) + (len(channels) - 1 if out["uses_channel"] else 0)
    if n_terms != expected:
        raise ValueError(
            f"{source}: {n_terms} terms do not match {len(deciles)} decile(s) and "
            f"{len(channels) if out['uses_channel'] else 'no'} channel offset level(s) "
            f"(expected {expected} terms); write the model again with 'threshold-model fit'."
        )
    return out


def _fit_inputs(
    features: object,
    channels: object,
    low: object,
    high: object,
    deciles: Sequence[int],
    alpha: float,
) -> tuple[np.ndarray, list[str], np.ndarray, list[int]]:
    """The checked inputs of :meth:`ThresholdModel.fit`: the features, the channel labels, the
    midpoints of the expert ranges (the regression target) and the sorted deciles to use."""
    x = _as_features(features)
    n = x.shape[0]
    labels = _as_labels(channels, n)
    lo = _as_vector(low, n, "low")
    hi = _as_vector(high, n, "high")
    if np.any(lo > hi):
        i = int(np.flatnonzero(lo > hi)[0])
        raise ValueError(f"low > high in sample {i} ({lo[i]} > {hi[i]}); fix the range.")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}.")
    kept = sorted({int(d) for d in deciles})
    if not kept or kept[0] < 1 or kept[-1] > 9:
        raise ValueError(f"deciles must be integers in 1..9, got {list(deciles)!r}.")
    return x, labels, 0.5 * (lo + hi), kept


def _backward_selection(
    solve: Callable[[Sequence[int], bool], dict[str, Any]],
    fit: dict[str, Any],
    kept: list[int],
    with_channel: bool,
    n_levels: int,
    alpha: float,
) -> tuple[dict[str, Any], list[int], bool]:
    """Drop the least significant term of ``fit`` while its p-value exceeds ``alpha``: a decile
    by its t-test, the channel offsets together by their partial F-test. Returns the last fit,
    the deciles kept and whether the channel offsets are kept."""
    from scipy import stats

    while True:
        candidates: list[tuple[float, str | int]] = []
        for i, d in enumerate(kept):
            candidates.append((float(fit["p"][1 + i]), d))
        if with_channel:
            reduced = solve(kept, False)
            q = n_levels - 1
            f_part = ((reduced["rss"] - fit["rss"]) / q) / (fit["rss"] / fit["df"])
            candidates.append((float(stats.f.sf(f_part, q, fit["df"])), "channel"))
        if not candidates:
            break
        worst_p, worst = max(candidates, key=lambda c: np.nan_to_num(c[0], nan=2.0))
        if not (worst_p > alpha or math.isnan(worst_p)):
            break
        if worst == "channel":
            with_channel = False
        else:
            kept = [d for d in kept if d != worst]
        fit = solve(kept, with_channel)
    return fit, kept, with_channel


@dataclass(frozen=True)
class ThresholdModel:
    """A linear model predicting a channel's background threshold from its histogram deciles.

    .. math::
        T = \\beta_0 + \\sum_{k \\in K} \\beta_k d_k + \\gamma_{c}

    with ``d_k`` the k-th decile of the channel's responder pixels (:func:`histogram_deciles`),
    ``K`` the kept deciles and ``gamma_c`` the offset of channel ``c`` (dummy coding; the
    *reference level*, the first channel label in sorted order, has offset 0). Fitted by
    ordinary least squares to the midpoints of expert threshold ranges; construct it with
    :meth:`fit`.

    Attributes
    ----------
    terms : tuple of str
        Names of the coefficients: ``"intercept"``, ``"d8"``..., ``"channel[G]"``...
    coefficients, std_errors, t_values, p_values : tuple of float
        Per term, with the t distribution on ``df_resid`` degrees of freedom.
    r_squared, adj_r_squared : float
    f_statistic, f_p_value : float
        The model F-test against the intercept-only model.
    n_samples, df_resid : int
    deciles : tuple of int
        The decile features in the model (1..9).
    channels : tuple of str
        All channel labels seen in training (sorted); ``channels[0]`` is the reference level.
    uses_channel : bool
        Whether the channel offsets are in the model.
    alpha : float or None
        The significance level of backward selection, or None when no selection was done.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> feats = np.sort(rng.uniform(0, 100, (60, 9)), axis=1)
    >>> chans = np.array(["B", "G", "R"] * 20)
    >>> mid = 5 + 0.8 * feats[:, 8] - 10 * (chans == "G") + rng.normal(0, 1, 60)
    >>> model = ThresholdModel.fit(feats, chans, mid - 3, mid + 3, select=True, alpha=0.001)
    >>> model.deciles, model.uses_channel
    ((9,), True)
    >>> round(model.coefficients[1], 1)
    0.8
    """

    terms: tuple[str, ...]
    coefficients: tuple[float, ...]
    std_errors: tuple[float, ...]
    t_values: tuple[float, ...]
    p_values: tuple[float, ...]
    r_squared: float
    adj_r_squared: float
    f_statistic: float
    f_p_value: float
    n_samples: int
    df_resid: int
    deciles: tuple[int, ...]
    channels: tuple[str, ...]
    uses_channel: bool
    alpha: float | None = None

    # ---------------------------------------------------------------- fitting
    @staticmethod
    def _design(
        features: np.ndarray,
        labels: Sequence[str],
        deciles: Sequence[int],
        channels: Sequence[str],
        uses_channel: bool,
    ) -> np.ndarray:
        cols = [np.ones(features.shape[0])]
        cols += [features[:, d - 1] for d in deciles]
        if uses_channel:
            lab = np.asarray(labels)
            unknown = sorted(set(labels) - set(channels))
            if unknown:
                raise ValueError(
                    f"channel label(s) {unknown} were not in the training set "
                    f"{list(channels)}; the model has no offset for them."
                )
            cols += [(lab == c).astype(np.float64) for c in channels[1:]]
        return np.column_stack(cols)

    @classmethod
    def fit(
        cls,
        features: object,
        channels: object,
        low: object,
        high: object,
        *,
        deciles: Sequence[int] = _DECILES,
        use_channel: bool = True,
        select: bool = False,
        alpha: float = 0.05,
    ) -> ThresholdModel:
        """Fit the model to expert ranges by OLS on their midpoints.

        Parameters
        ----------
        features : (n, 9) array_like
            Deciles 1..9 of each sample (rows from :func:`histogram_deciles`).
        channels : sequence of str or int
            The channel label of each sample (a categorical feature).
        low, high : (n,) array_like
            The expert's acceptable threshold range of each sample.
        deciles : sequence of int, optional
            Which deciles (1..9) enter the full model (default all nine).
        use_channel : bool, optional
            Include the channel offsets (default True).
        select : bool, optional
            Backward selection: repeatedly drop the least significant term (a decile, by its
            t-test, or the channel as a whole, by the partial F-test of its offsets) while its
            p-value exceeds ``alpha``. The intercept is always kept.
        alpha : float, optional
            Significance level of the selection (default 0.05).

        Returns
        -------
        ThresholdModel
        """
        x, labels, y, kept = _fit_inputs(features, channels, low, high, deciles, alpha)
        n = x.shape[0]
        levels = tuple(sorted(set(labels)))
        with_channel = bool(use_channel) and len(levels) > 1

        def solve(dec: Sequence[int], chan: bool) -> dict[str, Any]:
            design = cls._design(x, labels, dec, levels, chan)
            if design.shape[1] >= n:
                raise ValueError(
                    f"{n} samples cannot fit {design.shape[1]} coefficients; provide more "
                    f"expert thresholds or fewer features."
                )
            return _ols(design, y)

        fit = solve(kept, with_channel)
        if select:
            fit, kept, with_channel = _backward_selection(
                solve, fit, kept, with_channel, len(levels), alpha
            )
        return cls._from_fit(
            fit, n, kept, levels, with_channel=with_channel, alpha=alpha if select else None
        )

    @classmethod
    def _from_fit(
        cls,
        fit: dict[str, Any],
        n: int,
        kept: Sequence[int],
        levels: tuple[str, ...],
        *,
        with_channel: bool,
        alpha: float | None,
    ) -> ThresholdModel:
        """The model of one OLS fit (:func:`_ols`) of ``n`` samples on the intercept, the
        ``kept`` deciles and, ``with_channel``, the offsets of ``levels[1:]``."""
        terms = ["intercept", *[f"d{d}" for d in kept]]
        if with_channel:
            terms += [f"channel[{c}]" for c in levels[1:]]
        return cls(
            terms=tuple(terms),
            coefficients=tuple(float(v) for v in fit["beta"]),
            std_errors=tuple(float(v) for v in fit["se"]),
            t_values=tuple(float(v) for v in fit["t"]),
            p_values=tuple(float(v) for v in fit["p"]),
            r_squared=float(fit["r2"]),
            adj_r_squared=float(fit["adj"]),
            f_statistic=float(fit["f"]),
            f_p_value=float(fit["fp"]),
            n_samples=int(n),
            df_resid=int(fit["df"]),
            deciles=tuple(kept),
            channels=levels,
            uses_channel=with_channel,
            alpha=None if alpha is None else float(alpha),
        )

    # ---------------------------------------------------------------- prediction
    def predict(self, features: object, channels: object) -> np.ndarray:
        """Predicted thresholds for samples with these deciles and channel labels."""
        x = _as_features(features)
        labels = _as_labels(channels, x.shape[0])
        design = self._design(x, labels, self.deciles, self.channels, self.uses_channel)
        return design @ np.asarray(self.coefficients)

    def predict_image(
        self,
        image: object,
        *,
        channel_axis: int | None = None,
        channels: Sequence[object] | None = None,
    ) -> tuple[float, ...]:
        """One predicted threshold per channel of an image (for "apply a saved model").

        Parameters
        ----------
        image : ndarray or Image
            One channel, or several along ``channel_axis`` (an ``Image``'s ``C`` axis by default).
        channel_axis : int, optional
            The channel axis (None: a single channel, or an ``Image``'s ``C`` axis).
        channels : sequence, optional
            The label of each channel as used in training (default ``"0"``, ``"1"``...).
        """
        feats = np.atleast_2d(histogram_deciles(image, channel_axis=channel_axis))
        labels = (
            [str(i) for i in range(feats.shape[0])]
            if channels is None
            else _as_labels(channels, feats.shape[0])
        )
        return tuple(float(v) for v in self.predict(feats, labels))

    def evaluate(
        self, features: object, channels: object, low: object, high: object
    ) -> ThresholdEvaluation:
        """Compare predictions with expert ranges (mean absolute error, distance from range)."""
        pred = self.predict(features, channels)
        n = pred.size
        lo = _as_vector(low, n, "low")
        hi = _as_vector(high, n, "high")
        mid = 0.5 * (lo + hi)
        dist = np.maximum(np.maximum(lo - pred, 0.0), pred - hi)
        return ThresholdEvaluation(
            mae_midpoint=float(np.mean(np.abs(pred - mid))),
            mean_range_distance=float(dist.mean()),
            fraction_in_range=float(np.mean(dist == 0)),
            n=int(n),
        )

    # ---------------------------------------------------------------- reporting and storage
    def summary(self) -> str:
        """A coefficient table with R-squared and the F-test, as text."""
        lines = [
            f"{'term':<16}{'coef':>12}{'std err':>12}{'t':>9}{'p':>11}",
        ]
        for row in zip(
            self.terms, self.coefficients, self.std_errors, self.t_values, self.p_values
        ):
            lines.append(f"{row[0]:<16}{row[1]:>12.4f}{row[2]:>12.4f}{row[3]:>9.3f}{row[4]:>11.3g}")
        lines.append(
            f"n = {self.n_samples}, R^2 = {self.r_squared:.4f}, adjusted R^2 = "
            f"{self.adj_r_squared:.4f}, F = {self.f_statistic:.4g} "
            f"(df {len(self.terms) - 1}, {self.df_resid}), p = {self.f_p_value:.3g}"
        )
        if self.uses_channel:
            lines.append(f"channel reference level: {self.channels[0]}")
        return "\n".join(lines)

    def to_json(self) -> str:
        """The model as a JSON document (see :meth:`from_json`)."""
        data = asdict(self)
        data["format"] = _FORMAT
        return json.dumps(data, indent=2)

    @classmethod
    def from_json(cls, text: str, *, source: str = "threshold model JSON") -> ThresholdModel:
        """Rebuild a model from :meth:`to_json` output.

        Raises ``ValueError`` naming ``source`` (e.g. the file) and what is wrong when the text
        is not JSON (a truncated file), lacks or adds fields, or has values of the wrong type
        or length.
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"{source} is not valid JSON ({exc.msg} at line {exc.lineno}, column "
                f"{exc.colno}; truncated?); write the model again with ThresholdModel.save or "
                f"'threshold-model fit'."
            ) from None
        if not isinstance(data, dict) or data.pop("format", None) != _FORMAT:
            raise ValueError(
                f"{source} is not a colocalize threshold model (expected a JSON object with "
                f"format {_FORMAT!r}); write it with ThresholdModel.save."
            )
        return cls(**_checked_model_fields(data, source))

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
        """Write the model to a JSON file (atomically; an existing file only with
        ``overwrite=True``)."""
        from colocalize._output import check_output, write_atomic

        write_atomic(check_output(path, overwrite=overwrite, name="path"), self.to_json())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ThresholdModel:
        """Read a model written by :meth:`save`; errors name the file and what is wrong."""
        source = f"model file '{os.fspath(path)}'"
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except UnicodeDecodeError:
            raise ValueError(
                f"{source} is not a text (JSON) file; pass the JSON written by "
                f"'threshold-model fit'."
            ) from None
        return cls.from_json(text, source=source)
