"""Colocalization by Cross Correlation (CCC): the public functions and their result types.

A port of the Fiji plugin *Colocalization by Cross Correlation* 2.2.3 (McCall 2024): the
spatial cross-correlation of two channels inside a mask, its radial profile, and a Gaussian fitted
to the mean-subtracted profile, whose mean is the typical distance between the two labels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from colocalize._ccc._fft import (
    box_correlation,
    contribution_images,
    correlate_window,
    fft,
    folded_box_correlation,
    padded,
    padded_shape,
)
from colocalize._ccc._fit import (
    area_under_curve,
    fit_profile,
    fit_sum_of_gaussians,
    gaussian,
    r_squared,
)
from colocalize._ccc._profile import ProfileBins, fold, profile_bins, window
from colocalize._channels import as_channels, is_image, resolve_spacing
from colocalize._validation import as_image, as_mask, check_same_shape, warn_degenerate

__all__ = [
    "CorrelationProfile",
    "CrossCorrelation",
    "FrameTable",
    "GaussianComponent",
    "cross_correlation",
    "cross_correlation_profile",
]

# Beyond |mean| + this many sigmas the Gaussian weight is below 1e-16 (exp(-x²/2) < 1e-16).
_WEIGHT_SIGMAS = math.sqrt(2 * math.log(1e16))
# n_gaussians above this is refused: the plugin sets no limit, but every component adds three
# parameters to a joint fit that is retried for each rejected component (50 Gaussians took two
# minutes on a 64 x 64 image), and a radial profile does not resolve that many distances.
MAX_GAUSSIANS = 10


@dataclass(frozen=True)
class CorrelationProfile:
    """Radial profile of the cross-correlation: the mean over all voxels at each exact distance.

    Attributes
    ----------
    distance : ndarray, shape (K,)
        The distinct distances from the correlation image's centre ``(N - 1) / 2``, ascending, in
        ``unit`` (the plugin's "Distance" column).
    count : ndarray of int, shape (K,)
        How many correlation voxels lie at each distance.
    original : ndarray or None, shape (K,) or (T, K)
        Profile of the original correlation ("Original CC"); None when not computed. One row per
        frame in :attr:`FrameTable.profile`.
    subtracted : ndarray or None, shape (K,) or (T, K)
        Profile of the correlation of the mean-subtracted image 0 ("Subtracted CC").
    fit : ndarray or None, shape (K,) or (T, K)
        The fitted Gaussian(s) at ``distance`` ("Gaussian fit"); NaN where the fit failed.
    unit : str
        Unit of ``distance``.
    """

    distance: np.ndarray
    count: np.ndarray
    original: np.ndarray | None
    subtracted: np.ndarray | None
    fit: np.ndarray | None
    unit: str


@dataclass(frozen=True)
class GaussianComponent:
    """One fitted Gaussian ``height * exp(-(d - mean)² / (2 sigma²))`` and its confidence."""

    height: float
    mean: float
    sigma: float
    confidence: float


@dataclass(frozen=True)
class FrameTable:
    """Per-frame results of a time series (the plugin's "Correlation over time" table and heat map).

    Every column is an array with one value per frame. :meth:`to_dataframe` builds a pandas
    DataFrame (pandas is an optional dependency, imported only there).

    Attributes
    ----------
    frame : ndarray of int
        Frame index (0-based) along the time axis.
    mean, sigma, height, confidence, r_squared : ndarray of float
        The fit of each frame (NaN where it failed; confidence NaN without ``confidence=True``).
    fit_ok : ndarray of bool
        Whether each frame's fit succeeded.
    best_frame : int
        The frame with the highest confidence (smallest sigma when confidence is not computed);
        ties keep the first frame; 0 when no frame could be fitted.
    profile : CorrelationProfile
        Profiles with one row per frame, shape (T, K): the heat map.
    """

    frame: np.ndarray
    mean: np.ndarray
    sigma: np.ndarray
    height: np.ndarray
    confidence: np.ndarray
    r_squared: np.ndarray
    fit_ok: np.ndarray
    best_frame: int
    profile: CorrelationProfile

    def to_dataframe(self) -> Any:
        """The table as a ``pandas.DataFrame`` indexed by frame (needs pandas)."""
        import pandas as pd

        return pd.DataFrame(
            {
                "mean": self.mean,
                "sigma": self.sigma,
                "height": self.height,
                "confidence": self.confidence,
                "r_squared": self.r_squared,
                "fit_ok": self.fit_ok,
            },
            index=pd.Index(self.frame, name="frame"),
        )


@dataclass(frozen=True)
class CrossCorrelation:
    """Result of :func:`cross_correlation`.

    Attributes
    ----------
    mean : float
        Mean of the fitted Gaussian: the typical distance between the two labels, in ``unit``
        (the plugin's "Mean"; signed, may be slightly negative near 0). NaN if the fit failed.
    sigma : float
        Standard deviation of the Gaussian, in ``unit`` ("StDev").
    height : float
        The Gaussian evaluated at ``mean`` ("Gaussian Height"; not a particle count).
    confidence : float
        Sum of the subtracted over the original profile within ``mean ± 3 sigma``
        ("Confidence"); NaN with ``confidence=False`` or a failed fit.
    r_squared : float
        Coefficient of determination of the fit within ``[mean - 3 sigma, mean + 3 sigma)``.
    fit_ok : bool
        False when no acceptable Gaussian could be fitted (the statistics are then NaN).
    unit : str
        Unit of distances (from ``unit``, the ``Image``, or ``"pixel"``).
    profile : CorrelationProfile
        The radial profiles and the fitted curve (for a time series: of ``best_frame``).
    components : tuple of GaussianComponent
        Every fitted Gaussian, by increasing mean (one unless ``n_gaussians > 1``); empty when the
        fit failed.
    original_correlation, subtracted_correlation, weighted_correlation : ndarray or None
        With ``intermediates=True``: the original and subtracted correlation images and the
        subtracted one weighted by the fitted Gaussian (the original only with
        ``confidence=True``, which computes it; float32; the zero shift at index
        ``zero_shift``; a time series gets a leading frame axis). Only the shifts within
        ``max_distance`` when it is given.
    zero_shift : tuple of int
        Index of the zero shift in the correlation images: ``N // 2`` per axis without
        ``max_distance``.
    contribution0, contribution1 : ndarray or None
        With ``contributions=True``: the contribution images of image 0 and image 1 (float32,
        the input's shape; NaN for a frame whose fit failed).
    frames : FrameTable or None
        For a time series: the per-frame table and heat map.
    best_frame : int or None
        For a time series: the frame whose results fill the fields above.
    """

    mean: float
    sigma: float
    height: float
    confidence: float
    r_squared: float
    fit_ok: bool
    unit: str
    profile: CorrelationProfile
    components: tuple[GaussianComponent, ...]
    original_correlation: np.ndarray | None
    subtracted_correlation: np.ndarray | None
    weighted_correlation: np.ndarray | None
    zero_shift: tuple[int, ...]
    contribution0: np.ndarray | None
    contribution1: np.ndarray | None
    frames: FrameTable | None
    best_frame: int | None


# --------------------------------------------------------------------------------------------
# input handling


def _unpack(image: object, name: str):
    """Array, spacing, unit and time axis of an ``Image`` (or the array and Nones)."""
    if not is_image(image):
        return image, None, None, None
    ch = as_channels(image)
    if len(ch.data) != 1:
        axes = image.axes  # type: ignore[attr-defined]
        raise ValueError(
            f"{name} has {len(ch.data)} channels (axes {axes!r}); CCC needs one channel "
            f"per image: pass {name}.channel(i) with spacing={name}.spatial_spacing."
        )
    return ch.data[0], ch.spacing, ch.unit, ch.time_axis


@dataclass(frozen=True)
class _Plan:
    """Validated inputs as frames, and the shifts and profile bins every frame shares."""

    frames_a: np.ndarray
    frames_b: np.ndarray
    frames_m: np.ndarray | None
    spacing: tuple[float, ...]
    unit: str
    series: bool
    max_distance: float | None
    shape: tuple[int, ...]
    lims: tuple[tuple[int, int], ...]
    lags: list[tuple[int, int]]
    bins: ProfileBins

    def correlate(
        self,
        t: int,
        *,
        original: bool,
        subtracted: bool,
        images: bool,
        keep_inputs: bool,
        workers: int,
    ) -> _Correlations:
        """The correlations of frame ``t`` (see :func:`_correlate_frame`)."""
        return _correlate_frame(
            self.frames_a[t],
            self.frames_b[t],
            None if self.frames_m is None else self.frames_m[t],
            self.spacing,
            self.lags,
            self.bins,
            original=original,
            subtracted=subtracted,
            images=images,
            keep_inputs=keep_inputs,
            workers=workers,
        )


def _lags(shape: Sequence[int], lims: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The shifts ``(s_min, s_max)`` per axis of a window ``lims`` of the correlation image."""
    return [(lo - n // 2, hi - n // 2) for n, (lo, hi) in zip(shape, lims)]


def _plan(image0, image1, mask, spacing, unit, time_axis, max_distance, workers) -> _Plan:
    """Check and unpack the inputs of :func:`cross_correlation` (time axis moved first)."""
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers == 0:
        raise ValueError(
            f"workers must be a non-zero integer (threads; -1 for all CPUs), got {workers!r}."
        )
    data0, sp0, unit0, t0 = _unpack(image0, "image0")
    data1, sp1, unit1, t1 = _unpack(image1, "image1")
    a = as_image(data0, name="image0")
    b = as_image(data1, name="image1")
    check_same_shape([a, b], ["image0", "image1"])
    time_axis = _time_axis(time_axis, t0 if t0 is not None else t1, a.shape)
    if time_axis is not None:
        a = np.moveaxis(a, time_axis, 0)
        b = np.moveaxis(b, time_axis, 0)
    spatial_ndim = a.ndim - (time_axis is not None)
    if spatial_ndim not in (2, 3):
        raise ValueError(
            f"CCC works on 2D (M, N) or 3D (P, M, N) images, optionally with a time axis; got "
            f"shape {a.shape}{' with time_axis' if time_axis is not None else ''}. Pass "
            f"time_axis= for a time series, or select a single channel."
        )
    if spacing is None:
        spacing = sp0 if sp0 is not None else sp1
    checked_spacing = resolve_spacing(spacing, spatial_ndim)
    if unit is None:
        unit = unit0 if unit0 is not None else (unit1 if unit1 is not None else "pixel")
    m = None if mask is None else _mask_frames(mask, a.shape, time_axis)
    if max_distance is not None:
        max_distance = float(max_distance)
        if not (math.isfinite(max_distance) and max_distance > 0):
            raise ValueError(
                f"max_distance must be a positive distance in {unit}, got {max_distance!r}; "
                f"use None for the plugin's full profile."
            )
    series = time_axis is not None
    shape = a.shape[1:] if series else a.shape
    lims = window(shape, checked_spacing, max_distance)
    return _Plan(
        frames_a=a if series else a[None],
        frames_b=b if series else b[None],
        frames_m=None if m is None else (m if series else m[None]),
        spacing=checked_spacing,
        unit=unit,
        series=series,
        max_distance=max_distance,
        shape=shape,
        lims=lims,
        lags=_lags(shape, lims),
        bins=profile_bins(shape, checked_spacing, max_distance),
    )


def _time_axis(time_axis: int | None, image_time: int | None, shape: tuple[int, ...]) -> int | None:
    """The time axis (non-negative) from ``time_axis`` or, when None, the ``Image``'s
    (``image_time``); refuses one out of range or contradicting the ``Image``'s."""
    ndim = len(shape)
    if time_axis is None:
        return image_time
    if image_time is not None and time_axis % ndim != image_time:
        raise ValueError(
            f"time_axis={time_axis} but the Image's time axis is {image_time}; leave "
            f"time_axis=None for an Image."
        )
    if not -ndim <= time_axis < ndim:
        raise ValueError(f"time_axis={time_axis} is out of range for images of shape {shape}.")
    return time_axis % ndim


def _mask_frames(mask: object, shape: tuple[int, ...], time_axis: int | None) -> np.ndarray:
    """The mask as booleans of the images' ``shape`` (time axis first, as the images); warns
    when it is empty (in a frame): degenerate but legal, as in ``coefficients()``."""
    m = np.asarray(_unpack(mask, "mask")[0])
    m = as_mask(m, m.shape)  # boolean, non-zero inside; the shape is checked below
    if time_axis is not None and m.ndim == len(shape):
        m = np.moveaxis(m, time_axis, 0)
    if m.shape != shape:
        if time_axis is not None and m.shape[1:] == shape[1:]:
            raise ValueError(
                f"mask has {m.shape[0]} frames but the images have {shape[0]}; pass a mask "
                f"with one frame per image frame (shape {shape} along the time axis)."
            )
        raise ValueError(
            f"mask has shape {m.shape} but the images have shape {shape}"
            f"{' (time axis first)' if time_axis is not None else ''}; pass a mask of the "
            f"images' shape (non-zero is inside)."
        )
    frames = m.reshape(m.shape[0], -1) if time_axis is not None else m.reshape(1, -1)
    empty = np.flatnonzero(~frames.any(axis=1))
    if empty.size:
        where = f" in frame(s) {empty.tolist()}" if time_axis is not None else ""
        warn_degenerate(
            f"cross_correlation: mask is empty{where}: it has no non-zero voxel, so there is "
            f"nothing to correlate; the profiles, mean, sigma, height, confidence and "
            f"r_squared{' of those frames' if where else ''} are NaN.",
            stacklevel=5,  # the caller of cross_correlation (via _plan)
        )
    return m


# --------------------------------------------------------------------------------------------
# one frame


@dataclass
class _Correlations:
    """One frame's correlation profiles and, as asked, images (float32, divided by the volume)."""

    profile_original: np.ndarray | None
    profile_subtracted: np.ndarray | None
    original: np.ndarray | None
    subtracted: np.ndarray | None
    masked0: np.ndarray | None
    masked1: np.ndarray | None


def _correlate_frame(
    a_in: np.ndarray,
    b_in: np.ndarray,
    m: np.ndarray | None,
    spacing: Sequence[float],
    lags: Sequence[tuple[int, int]],
    bins: ProfileBins,
    *,
    original: bool,
    subtracted: bool,
    images: bool,
    keep_inputs: bool,
    workers: int,
) -> _Correlations:
    """The plugin's oCorr and/or sCorr profiles, and with ``images`` their images (CCC only:
    ``subtracted=False``, "Just Cross Correlation", gives the oCorr profile alone).

    Two forward and one inverse FFT without a mask (three and two with one): ``b`` and
    ``(a - mean) M`` are transformed, and ``oCorr = sCorr + mean * corr(M, b)`` (as
    ``FFT(a) = FFT((a - mean) M) + mean FFT(M)``), where ``corr(1, b)`` is a box sum of ``b``.
    Profiles are linear, so the profile of oCorr is that of sCorr plus ``mean / V`` times that of
    ``corr(M, b)``; oCorr itself is built only for ``images``.
    """
    shape = a_in.shape
    if m is not None and not m.any():  # an empty mask (warned in _plan): NaN everywhere
        return _empty_correlations(shape, lags, bins, original, subtracted, images, keep_inputs)
    pshape = padded_shape(shape, lags)
    buffer, b = padded(pshape, shape, reverse=True)  # b reversed, then (a - mean) M: one buffer
    np.copyto(b, b_in, casting="unsafe")
    if m is not None:
        outside = ~m
        b[outside] = 0
        count = int(np.count_nonzero(m))
    else:
        outside = None
        count = b.size
    volume = count * math.prod(spacing)
    spec_b = fft.rfftn(buffer, pshape, workers)
    masked1 = b.copy() if keep_inputs else None
    # the masked image 0 (kept for the contribution images), then (a - mean) M over the same
    # voxels in their own order (at the start of the buffer, not reversed)
    s = np.flip(b)
    del b
    a = np.array(a_in, dtype=np.float32) if keep_inputs else s
    if not keep_inputs:
        np.copyto(s, a_in, casting="unsafe")
    if outside is not None:
        a[outside] = 0
    masked0 = a if keep_inputs else None
    if not subtracted:  # "Just Cross Correlation"
        if keep_inputs:
            s[...] = a
        jcc = correlate_window(fft.rfftn(buffer, pshape, workers), spec_b, shape, lags, workers)
        return _Correlations(bins.mean(jcc) / volume, None, None, None, masked0, masked1)
    # (a - mean) inside the mask, computed in float64 and stored in float32 as the plugin does
    mean = float(a.sum(dtype=np.float64)) / count
    np.subtract(a, mean, out=s, dtype=np.float64, casting="unsafe")
    if outside is not None:
        s[outside] = 0
    del s, a  # the buffer below is the only reference
    spec_s = fft.rfftn(buffer, pshape, workers)
    del buffer
    sc = correlate_window(spec_s, spec_b, shape, lags, workers)  # a view of the whole result
    del spec_s
    prof_s = bins.mean(sc) / volume  # (the image is divided by the volume only when kept)
    if images:
        sc = sc / np.float32(volume)  # a copy: not a view that keeps the whole FFT result
    else:
        del sc  # and with it the whole FFT result
    prof_o = o = None
    if original:
        if m is None:
            del spec_b
            # image 1 as the plugin's float32 values (no copy when they are its own values)
            safe = np.can_cast(b_in.dtype, np.float32, "safe")
            b = b_in if safe else np.asarray(b_in, dtype=np.float32)
            box = folded_box_correlation(b, lags)
            mask_corr = box_correlation(b, lags) if images else None
            del b
        else:
            m_pad, m_view = padded(pshape, shape)
            m_view[...] = m
            del m_view
            mask_corr = correlate_window(
                fft.rfftn(m_pad, pshape, workers), spec_b, shape, lags, workers
            )
            del m_pad, spec_b
            box = fold(mask_corr, bins.full_shape, bins.lows)
        prof_o = prof_s + (mean / volume) * bins.mean_folded(box)
        if images:
            assert mask_corr is not None
            o = (sc + (mean / volume) * mask_corr).astype(np.float32)
        del mask_corr
    if not images:
        return _Correlations(prof_o, prof_s, None, None, masked0, masked1)
    return _Correlations(prof_o, prof_s, o, sc, masked0, masked1)


def _empty_correlations(
    shape: tuple[int, ...],
    lags: Sequence[tuple[int, int]],
    bins: ProfileBins,
    original: bool,
    subtracted: bool,
    images: bool,
    keep_inputs: bool,
) -> _Correlations:
    """What :func:`_correlate_frame` returns for an empty mask: NaN profiles and images, and
    all-zero masked inputs (every voxel is outside the mask)."""
    profile = np.full(bins.distance.shape, np.nan)
    image = np.full(tuple(hi - lo + 1 for lo, hi in lags), np.nan, np.float32)
    kept = np.zeros(shape, np.float32) if keep_inputs else None
    if not subtracted:
        return _Correlations(profile, None, None, None, kept, kept)
    return _Correlations(
        profile if original else None,
        profile,
        image if images and original else None,
        image if images else None,
        kept,
        None if kept is None else kept.copy(),
    )


@dataclass
class _FrameResult:
    """One frame's fit (NaN statistics and ``params`` None when it failed) and its profiles."""

    params: np.ndarray | None
    mean: float
    sigma: float
    height: float
    confidence: float
    r_squared: float
    components: tuple[GaussianComponent, ...]
    original: np.ndarray | None
    subtracted: np.ndarray
    fit: np.ndarray


def _fit_frame(
    bins: ProfileBins,
    prof_o: np.ndarray | None,
    prof_s: np.ndarray,
    pixel: float,
    n_gaussians: int,
) -> _FrameResult:
    """Fit the Gaussian(s) to one frame's subtracted profile ``prof_s`` and derive the plugin's
    statistics: height, confidence (from the original profile ``prof_o``, when given), R² and the
    fitted curve. ``pixel`` is the X pixel size of the acceptance test."""
    keys = bins.distance
    nan = math.nan
    if n_gaussians == 1:
        params = fit_profile(keys, prof_s, pixel).params
        # the plugin evaluates the Gaussian at |mean| everywhere after the fit
        model_params = None if params is None else np.array([params[0], abs(params[1]), params[2]])
    else:
        params = fit_sum_of_gaussians(keys, prof_s, n_gaussians).params
        if params is not None and np.isnan(params).any():
            rows = np.reshape(params, (-1, 3))
            accepted = ~np.isnan(rows).any(axis=1)
            warn_degenerate(
                f"cross_correlation: {int((~accepted).sum())} of {n_gaussians} Gaussians could "
                f"not be fitted; components holds the {int(accepted.sum())} that could.",
                stacklevel=5,  # the caller of cross_correlation (via _analyse_frame)
            )
            params = rows[accepted].ravel()
        model_params = params
    if params is None or model_params is None:
        return _FrameResult(
            None, nan, nan, nan, nan, nan, (), prof_o, prof_s, np.full(keys.shape, nan)
        )
    comps = np.reshape(params, (-1, 3))
    mean, sigma = float(comps[0, 1]), float(comps[0, 2])
    components = []
    for i, (_, m_i, s_i) in enumerate(comps):
        conf = nan
        if prof_o is not None:
            # 2.2.3: subtracted over original; 2.3.0 (n > 1): the fitted component over original
            top = prof_s if n_gaussians == 1 else gaussian(keys, comps[i])
            bottom = area_under_curve(keys, prof_o, m_i, s_i)
            if bottom != 0:
                conf = area_under_curve(keys, top, m_i, s_i) / bottom
        height = float(gaussian(np.array([m_i]), model_params[3 * i : 3 * i + 3])[0])
        components.append(GaussianComponent(height, float(m_i), float(s_i), float(conf)))
    r2 = r_squared(keys, prof_s, mean, sigma, lambda k: gaussian(k, model_params))
    return _FrameResult(
        params,
        mean,
        sigma,
        components[0].height,
        components[0].confidence,
        r2,
        tuple(components),
        prof_o,
        prof_s,
        gaussian(keys, model_params),
    )


def _distance_grid(shape, lims, spacing) -> np.ndarray:
    """Distance of every voxel of the window from the image centre, as the plugin computes it."""
    terms = [
        (((np.arange(lo, hi + 1) - (n - 1.0) / 2.0) * s) ** 2)
        for n, (lo, hi), s in zip(shape, lims, spacing)
    ]
    ndim = len(shape)
    acc = terms[-1].reshape([1] * (ndim - 1) + [-1])
    for axis in range(ndim - 2, -1, -1):
        acc = acc + terms[axis].reshape([-1 if i == axis else 1 for i in range(ndim)])
    return np.sqrt(acc)


def _weight(d: np.ndarray, params: np.ndarray, n_gaussians: int) -> np.ndarray:
    """The fitted Gaussian(s) at the distances ``d``, normalised to a height sum of 1 (the
    weights of the weighted correlation and the contribution images)."""
    comps = np.reshape(params, (-1, 3)).copy()
    if n_gaussians == 1:
        comps[:, 1] = np.abs(comps[:, 1])
    return gaussian(d, comps) / comps[:, 0].sum()


# --------------------------------------------------------------------------------------------
# public functions


def cross_correlation(
    image0: Any,
    image1: Any,
    *,
    mask: Any = None,
    spacing: Sequence[float] | float | None = None,
    unit: str | None = None,
    confidence: bool = True,
    contributions: bool = False,
    intermediates: bool = False,
    max_distance: float | None = None,
    n_gaussians: int = 1,
    time_axis: int | None = None,
    workers: int = -1,
) -> CrossCorrelation:
    r"""Colocalization by cross correlation (CCC): the distance between two labels.

    A port of the Fiji plugin *Colocalization by Cross Correlation* 2.2.3 ("CCC"; with
    ``confidence=False`` "CCC - No confidence"). Both images are set to 0 outside the mask; with
    ``mu`` the mean of image 0 inside the mask ``M`` and ``V`` the mask volume (voxel count times
    the voxel volume), the original and subtracted correlations at shift ``s`` are

    .. math::

        C_o(s) = \frac{1}{V}\sum_x a(x + s)\, b(x), \qquad
        C_s(s) = \frac{1}{V}\sum_x \big(a(x + s) - \mu\big) M(x + s)\, b(x)

    (linear, zero-padded, shifts ``-N//2 .. N - 1 - N//2`` per axis). Their radial profiles
    average all shifts at exactly the same calibrated distance from the image centre
    ``(N - 1) / 2``. A Gaussian ``h \exp(-(d - m)^2 / 2\sigma^2)`` (no offset) is fitted to the
    subtracted profile by Levenberg-Marquardt, with the points beyond twice the peak mirrored to
    negative distances; ``confidence = \sum C_s / \sum C_o`` over the distances in
    ``(m - 3\sigma, m + 3\sigma)``.

    Parameters
    ----------
    image0, image1 : (M, N[, P]) array_like or Image
        The two channels (any real dtype; optionally with a time axis). An ``Image`` supplies its
        spacing, unit and time axis (a ``C`` axis must have length 1).
    mask : array_like or Image, optional
        Region of interest, non-zero inside, of the images' shape (with the same number of
        frames for a time series). Default: the whole image ("No mask").
    spacing : sequence of float or float, optional
        Pixel size per spatial axis in (z, y, x) order. Default: from an ``Image``, else 1.
    unit : str, optional
        Unit of ``spacing``. Default: from an ``Image``, else ``"pixel"``.
    confidence : bool, optional
        Compute the original correlation and the confidence (two correlations); False is the
        plugin's "CCC - No confidence" (one correlation, half the memory).
    contributions : bool, optional
        Compute the contribution images (which voxels contributed to the fitted distance).
    intermediates : bool, optional
        Keep the correlation images in the result.
    max_distance : float, optional
        Compute only shifts up to this distance (in ``unit``); the profile, the fit and the
        correlation images stop there. Faster and smaller, but the fit can differ from the
        plugin's, which always uses every shift. Default: all shifts.
    n_gaussians : int, optional
        Fit a sum of this many Gaussians (after CCC 2.3.0), from 1 to ``MAX_GAUSSIANS`` (10).
        Default 1 (CCC 2.2.3).
    time_axis : int, optional
        Axis of the images that is time: every frame is analysed on its own, and the frame with
        the highest confidence (smallest sigma without confidence) fills the result.
    workers : int, optional
        Threads for ``scipy.fft`` (-1: all CPUs; not 0).

    Returns
    -------
    CrossCorrelation
        The fit, the profiles and, when asked, the images and the per-frame table.

    Raises
    ------
    ValueError
        Images of different shapes, a mask of the wrong shape or number of frames, a bad
        spacing, an image that is not 2D or 3D (plus time), ``n_gaussians``
        outside 1..10, ``max_distance`` not positive, or ``workers`` 0.

    Warns
    -----
    ColocalizeWarning
        When no acceptable Gaussian can be fitted (``fit_ok`` False, statistics NaN), or when
        the mask is empty (in a frame): that frame's profiles and statistics are NaN, as an
        empty mask gives NaN in :func:`colocalize.coefficients`.

    Notes
    -----
    The computation follows CCC 2.2.3 step by step: 32-bit images, masking of both images, the
    mean subtracted from image 0 only, correlation with the zero shift at ``N // 2`` but distances
    measured from ``(N - 1) / 2`` (half a pixel away for even sizes), exact-distance bins, the
    commons-math3 start point of the fit (including its half-height quirk), the fit acceptance
    test (sigma above and mean not below minus one X pixel, height >= 0) with up to five
    moving-average retries, the open interval for the confidence and the half-open one for R²,
    and height evaluated at the signed mean while the fitted curve uses ``|mean|``.

    Deliberate differences from the plugin:

    - A failed fit gives NaN statistics and a warning; the plugin reports the largest distance as
      mean and standard deviation and -1 for confidence and R².
    - Numbers are not rounded to significant digits.
    - The best frame of a time series is chosen on unrounded values.
    - Exceptions that stop the plugin inside the fitter (too few points, singular Jacobian) are
      fit failures here.
    - Contribution images skip shifts where the Gaussian weight is below 1e-16.
    - ``max_distance`` (not in the plugin) truncates the profile and the fit.
    - ``n_gaussians`` is limited to 10 (the plugin sets no limit).
    - ``n_gaussians > 1`` follows CCC 2.3.0 (greedy start, joint fit, per-component acceptance
      against the first radial step with moving-average retries, the signed means, confidence of
      component i = sum of G_i / sum of the original profile over mean_i ± 3 sigma_i) but is not
      compared with it numerically. Components that are not accepted are left out of
      ``components`` (2.3.0 reports them as height 0, mean -1); the top-level fields are the
      accepted component with the smallest mean.

    References
    ----------
    .. [1] McCall AD (2024). Colocalization by cross-correlation, a new method of colocalization
       suited for super-resolution microscopy. BMC Bioinformatics 25:55.
       :doi:`10.1186/s12859-024-05675-z`

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage
    >>> import colocalize
    >>> rng = np.random.default_rng(0)
    >>> p0 = rng.uniform(8, 120, (80, 2))  # spots of image 0
    >>> angle = rng.uniform(0, 2 * np.pi, 80)
    >>> p1 = p0 + 5 * np.stack([np.sin(angle), np.cos(angle)], axis=1)  # partners 5 px away
    >>> a, b = np.zeros((128, 128)), np.zeros((128, 128))
    >>> np.add.at(a, tuple(np.round(p0).astype(int).T), 1000)
    >>> np.add.at(b, tuple(np.round(p1).astype(int).T), 1000)
    >>> a, b = ndimage.gaussian_filter(a, 1.5), ndimage.gaussian_filter(b, 1.5)
    >>> res = colocalize.cross_correlation(a, b)
    >>> res.fit_ok, round(res.mean, 1), round(res.sigma, 1)
    (True, 4.6, 2.6)
    """
    _check_n_gaussians(n_gaussians)
    plan = _plan(image0, image1, mask, spacing, unit, time_axis, max_distance, workers)
    distances = (
        _distance_grid(plan.shape, plan.lims, plan.spacing)
        if contributions or intermediates
        else None
    )
    results: list[_FrameResult] = []
    images: list[_FrameImages] = []
    for t in range(plan.frames_a.shape[0]):
        result, frame_images = _analyse_frame(
            plan,
            t,
            distances,
            confidence=confidence,
            contributions=contributions,
            intermediates=intermediates,
            n_gaussians=n_gaussians,
            workers=workers,
        )
        results.append(result)
        images.append(frame_images)
    _warn_failed_fits(results, plan.series)
    table = _frame_table(results, plan, confidence) if plan.series else None
    return _assemble(plan, results, images, table)


def _check_n_gaussians(n_gaussians: object) -> None:
    """Refuse an ``n_gaussians`` that is not an integer from 1 to ``MAX_GAUSSIANS``."""
    if isinstance(n_gaussians, bool) or not isinstance(n_gaussians, (int, np.integer)):
        raise TypeError(
            f"n_gaussians must be an integer from 1 to {MAX_GAUSSIANS}, got {n_gaussians!r}."
        )
    if not 1 <= n_gaussians <= MAX_GAUSSIANS:
        raise ValueError(
            f"n_gaussians must be from 1 to {MAX_GAUSSIANS}, got {n_gaussians}; use 1 for one "
            f"Gaussian (CCC 2.2.3), 2 or 3 for a few populations of distances."
        )


@dataclass(frozen=True)
class _FrameImages:
    """One frame's images, each None unless asked for (float32): the original, subtracted and
    weighted correlations (``intermediates``) and the contribution images (``contributions``)."""

    original: np.ndarray | None = None
    subtracted: np.ndarray | None = None
    weighted: np.ndarray | None = None
    contribution0: np.ndarray | None = None
    contribution1: np.ndarray | None = None


def _analyse_frame(
    plan: _Plan,
    t: int,
    distances: np.ndarray | None,
    *,
    confidence: bool,
    contributions: bool,
    intermediates: bool,
    n_gaussians: int,
    workers: int,
) -> tuple[_FrameResult, _FrameImages]:
    """Correlate frame ``t``, fit its profile and build the images asked for.

    ``distances`` is the distance grid of the correlation window (:func:`_distance_grid`), needed
    only for the weighted correlation behind the intermediates and the contribution images.
    """
    corr = plan.correlate(
        t,
        original=confidence,
        subtracted=True,
        images=distances is not None,
        keep_inputs=contributions,
        workers=workers,
    )
    assert corr.profile_subtracted is not None
    result = _fit_frame(
        plan.bins, corr.profile_original, corr.profile_subtracted, plan.spacing[-1], n_gaussians
    )
    if distances is None:
        return result, _FrameImages()
    assert corr.subtracted is not None
    if result.params is None:
        weighted = np.full(corr.subtracted.shape, np.nan, np.float32)
    else:
        weight = _weight(distances, result.params, n_gaussians)
        weighted = (corr.subtracted * weight).astype(np.float32)
    c0 = c1 = None
    if contributions:
        c0, c1 = _contributions(plan, corr, weighted, result.params, workers)
    if not intermediates:
        return result, _FrameImages(contribution0=c0, contribution1=c1)
    return result, _FrameImages(corr.original, corr.subtracted, weighted, c0, c1)


def _contributions(
    plan: _Plan,
    corr: _Correlations,
    weighted: np.ndarray,
    params: np.ndarray | None,
    workers: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The contribution images of one frame from its Gaussian-weighted correlation (NaN when the
    fit failed), over the shifts where some Gaussian weight is at least 1e-16."""
    assert corr.masked0 is not None
    assert corr.masked1 is not None
    if params is None:
        return np.full(plan.shape, np.nan, np.float32), np.full(plan.shape, np.nan, np.float32)
    reach = max(abs(mu) + _WEIGHT_SIGMAS * sd for _, mu, sd in np.reshape(params, (-1, 3)))
    sub = window(plan.shape, plan.spacing, min(reach, plan.max_distance or math.inf))
    crop = tuple(slice(lo - wlo, hi - wlo + 1) for (lo, hi), (wlo, _) in zip(sub, plan.lims))
    return contribution_images(
        corr.masked0, corr.masked1, weighted[crop], _lags(plan.shape, sub), workers
    )


def _warn_failed_fits(results: Sequence[_FrameResult], series: bool) -> None:
    """One ColocalizeWarning naming the frames whose fit failed, if any."""
    failed = [t for t, r in enumerate(results) if r.params is None]
    if failed:
        where = f" in frame(s) {failed}" if series else ""
        warn_degenerate(
            f"cross_correlation: could not fit a Gaussian to the subtracted correlation "
            f"profile{where}, suggesting no correlation between the images; mean, sigma, "
            f"height, confidence and r_squared are NaN.",
            stacklevel=4,
        )


def _frame_table(results: Sequence[_FrameResult], plan: _Plan, confidence: bool) -> FrameTable:
    """The per-frame table of a time series and its best frame: the highest confidence, or the
    smallest sigma without confidence (the first on ties; 0 when no frame was fitted)."""
    col = {
        k: np.array([getattr(r, k) for r in results], dtype=np.float64)
        for k in ("mean", "sigma", "height", "confidence", "r_squared")
    }
    ok = np.array([r.params is not None for r in results])
    best = 0
    if ok.any():
        if confidence:
            score = np.where(ok, col["confidence"], -np.inf)
            best = int(np.argmax(np.nan_to_num(score, nan=-np.inf)))
        else:
            best = int(np.argmin(np.where(ok, col["sigma"], np.inf)))
    return FrameTable(
        frame=np.arange(len(results)),
        fit_ok=ok,
        best_frame=best,
        profile=CorrelationProfile(
            distance=plan.bins.distance.copy(),
            count=plan.bins.count.copy(),
            original=(
                np.stack([r.original for r in results if r.original is not None])
                if confidence
                else None
            ),
            subtracted=np.stack([r.subtracted for r in results]),
            fit=np.stack([r.fit for r in results]),
            unit=plan.unit,
        ),
        **col,
    )


def _assemble(
    plan: _Plan,
    results: Sequence[_FrameResult],
    images: Sequence[_FrameImages],
    table: FrameTable | None,
) -> CrossCorrelation:
    """The result: the fields of the best frame (the only one without a time axis), the images
    of every frame stacked along a leading frame axis for a time series, and the table."""
    best = 0 if table is None else table.best_frame
    r = results[best]

    def stack(key: str) -> np.ndarray | None:
        frames = [getattr(frame, key) for frame in images]
        if frames[0] is None:
            return None
        return np.stack(frames) if plan.series else frames[0]

    return CrossCorrelation(
        mean=r.mean,
        sigma=r.sigma,
        height=r.height,
        confidence=r.confidence,
        r_squared=r.r_squared,
        fit_ok=r.params is not None,
        unit=plan.unit,
        profile=CorrelationProfile(
            distance=plan.bins.distance.copy(),
            count=plan.bins.count.copy(),
            original=r.original,
            subtracted=r.subtracted,
            fit=r.fit,
            unit=plan.unit,
        ),
        components=r.components,
        original_correlation=stack("original"),
        subtracted_correlation=stack("subtracted"),
        weighted_correlation=stack("weighted"),
        zero_shift=tuple(n // 2 - lo for n, (lo, _) in zip(plan.shape, plan.lims)),
        contribution0=stack("contribution0"),
        contribution1=stack("contribution1"),
        frames=table,
        best_frame=best if plan.series else None,
    )


def cross_correlation_profile(
    image0: Any,
    image1: Any,
    *,
    mask: Any = None,
    spacing: Sequence[float] | float | None = None,
    unit: str | None = None,
    max_distance: float | None = None,
    time_axis: int | None = None,
    workers: int = -1,
) -> CorrelationProfile:
    r"""Radial profile of the cross-correlation, without a fit (CCC's "Just Cross Correlation").

    Computes only the original correlation ``C_o(s) = (1/V) sum_x a(x + s) b(x)`` of the masked
    images (see :func:`cross_correlation`) and averages it over all shifts at each exact distance
    from the correlation image's centre.

    Parameters
    ----------
    image0, image1, mask, spacing, unit, max_distance, time_axis, workers
        As in :func:`cross_correlation`.

    Returns
    -------
    CorrelationProfile
        ``distance``, ``count`` and ``original`` (shape (K,), or (T, K) for a time series);
        ``subtracted`` and ``fit`` are None.

    References
    ----------
    .. [1] McCall AD (2024). BMC Bioinformatics 25:55. :doi:`10.1186/s12859-024-05675-z`

    Examples
    --------
    >>> import numpy as np
    >>> import colocalize
    >>> img = np.arange(25.0).reshape(5, 5)
    >>> prof = colocalize.cross_correlation_profile(img, img)
    >>> prof.distance[:3].tolist(), prof.count[:3].tolist()
    ([0.0, 1.0, 1.4142135623730951], [1, 4, 4])
    """
    plan = _plan(image0, image1, mask, spacing, unit, time_axis, max_distance, workers)
    rows = []
    for t in range(plan.frames_a.shape[0]):
        corr = plan.correlate(
            t,
            original=True,
            subtracted=False,
            images=False,
            keep_inputs=False,
            workers=workers,
        )
        assert corr.profile_original is not None
        rows.append(corr.profile_original)
    return CorrelationProfile(
        distance=plan.bins.distance.copy(),
        count=plan.bins.count.copy(),
        original=np.stack(rows) if plan.series else rows[0],
        subtracted=None,
        fit=None,
        unit=plan.unit,
    )
