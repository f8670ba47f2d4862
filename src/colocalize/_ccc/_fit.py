"""The Gaussian fit of CCC 2.2.3 (``RadialProfiler.CurveFit``), its confidence and R².

The plugin fits ``f(x) = norm * exp(-(x - mean)² / (2 sigma²))`` (no offset) to the subtracted
profile with Apache commons-math3 3.6.1's ``GaussianCurveFitter``: the start point of its
``ParameterGuesser`` (including the half-height quirk ``(ymax + xpeak) / 2``) and an unweighted
Levenberg-Marquardt fit, tolerances 1e-10, at most 100 iterations. commons-math's optimizer is a
port of MINPACK's ``lmder``, which ``scipy.optimize.leastsq`` calls with the same tolerances,
step-bound factor and analytic Jacobian; an iteration there is one Jacobian evaluation, so more
than 100 of them is the plugin's ``TooManyIterationsException``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "FitResult",
    "area_under_curve",
    "commons_guess",
    "fit_profile",
    "fit_sum_of_gaussians",
    "gaussian",
    "lm_fit",
    "moving_average",
    "r_squared",
]

_TOL = 1e-10  # commons-math LevenbergMarquardtOptimizer defaults (cost, parameters, orthogonality)
# Beyond this many sigmas from its mean a Gaussian and its derivatives are exactly 0 in float64:
# exp(-_REACH² / 2) = exp(-800) underflows to 0 (below exp(-745.2)).
_REACH = 40.0
# The points of a fit are handled in blocks of this many: the window of computed points is a
# whole number of blocks, and the squares of the residuals outside it are sums of whole blocks.
_BLOCK = 512


def gaussian(x: np.ndarray, params: np.ndarray) -> np.ndarray:
    """Sum of Gaussians ``sum_i n_i exp(-(x - m_i)² / (2 s_i²))``, params ``[n0, m0, s0, ...]``.

    On a long sorted 1D ``x`` each Gaussian is evaluated only within ``_REACH`` sigmas of its
    mean: beyond, its terms are exactly 0 (the same result).
    """
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros_like(x)
    comps = np.reshape(params, (-1, 3))
    windowed = (
        x.ndim == 1
        and x.size > _BLOCK
        and bool(np.all(np.isfinite(comps)) and np.all(comps[:, 2] != 0))
        and bool(np.all(x[1:] >= x[:-1]))
    )
    for norm, mean, sigma in comps:
        part = slice(None)
        if windowed:
            reach = _REACH * abs(sigma)
            part = slice(*np.searchsorted(x, [mean - reach, mean + reach], side="left"))
        out[part] += norm * np.exp(-((x[part] - mean) ** 2) * (1.0 / (2.0 * sigma * sigma)))
    return out


def commons_guess(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """commons-math3 ``GaussianCurveFitter.ParameterGuesser`` start point ``[norm, mean, sigma]``.

    The observations are sorted by x, then y; ``norm`` and ``mean`` are the first maximum; the
    FWHM is interpolated at ``halfY = n + (m - n) / 2`` (sic: mixes the peak height n with its
    position m), falling back to the x range when that level is not crossed on both sides.
    """
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    if not np.all(xs[1:] > xs[:-1]):  # already sorted when built by _mirrored
        order = np.lexsort((ys, xs))
        xs, ys = xs[order], ys[order]
    peak = int(np.argmax(ys))  # first index of the maximum, as findMaxY
    n, m = float(ys[peak]), float(xs[peak])
    half_y = n + (m - n) / 2
    left = _interpolate_x(xs, ys, peak, -1, half_y)
    right = _interpolate_x(xs, ys, peak, 1, half_y)
    fwhm = float(xs[-1] - xs[0]) if left is None or right is None else right - left
    return np.array([n, m, fwhm / (2 * math.sqrt(2 * math.log(2)))])


def _interpolate_x(xs: np.ndarray, ys: np.ndarray, start: int, step: int, y: float):
    """commons-math ``interpolateXAtY``: walk from ``start`` until ``y`` is bracketed, else None.

    Pair ``j`` is ``(j, j + 1)``; walking right from ``start`` visits ``j >= start``, left
    ``j <= start - 1``. The pairs are tested in chunks growing away from ``start`` (the crossing
    is usually near the peak of a long profile); the first chunk with a crossing gives the
    nearest one, as the walk does.
    """
    pairs = xs.size - 1
    size = 1024
    lo, hi = (start, min(pairs, start + size)) if step > 0 else (max(0, start - size), start)
    while lo < hi:
        a, b = ys[lo:hi], ys[lo + 1 : hi + 1]
        hits = np.flatnonzero(((a <= y) & (y <= b)) | ((b <= y) & (y <= a)))
        if hits.size:
            j = lo + int(hits[0] if step > 0 else hits[-1])
            break
        size *= 4
        lo, hi = (hi, min(pairs, hi + size)) if step > 0 else (max(0, lo - size), lo)
    else:
        return None
    x1, y1, x2, y2 = xs[j], ys[j], xs[j + 1], ys[j + 1]
    if y1 == y:
        return float(x1)
    if y2 == y:
        return float(x2)
    return float(x1 + ((y - y1) * (x2 - x1)) / (y2 - y1))


def lm_fit(x: np.ndarray, y: np.ndarray, start: np.ndarray, max_iterations: int):
    """Unweighted Levenberg-Marquardt fit of a sum of Gaussians; None when it does not converge.

    A non-positive sigma makes the model +inf (as commons-math's ``GaussianCurveFitter``), which
    rejects the step.

    MINPACK's ``lmder`` uses the residuals ``f`` (m of them) and the Jacobian ``J`` (m x n) only
    through ``||f||``, the triangular factor ``R`` of ``J = QR`` and ``Q^T f``. So it is given the
    same problem in ``n + 1`` rows: at each point, ``[Q^T f, sqrt(||f||² - ||Q^T f||²)]`` and
    ``[R; 0]`` in the basis of that point's ``Q`` (same norms, same ``R``, same ``Q^T f``: the
    same iterates and the same evaluation counts, in exact arithmetic). MINPACK's own passes over
    the m points (its QR, its careful norms) were half the time of the fit on a profile of 3e5
    distances; numpy's QR replaces them.

    Only the points near the Gaussians are computed (:class:`_Window`): beyond
    ``_REACH`` sigmas of every mean the model and its derivatives are exactly 0 in float64, so
    there the Jacobian's rows are 0 (they add nothing to ``R`` or ``Q^T f``) and the residual is
    ``-y``, whose squares are summed once. The sums are the same terms, added in another order.
    """
    import scipy.optimize  # here, not at import: it costs ~0.15 s of every `import colocalize`

    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n_params = np.size(start)
    window = _Window(x, y)  # (one per fit: its work arrays are sized for this fit's points)
    cache: dict[str, Any] = {}

    def reduced(p):
        """``(g, jr)``: the residuals and the Jacobian (rows are parameters) in n + 1 rows."""
        key = p.tobytes()
        if cache.get("key") == key:
            return cache["value"]
        if np.any(p[2::3] <= 0):
            value = (np.full(n_params + 1, np.inf), np.full((n_params, n_params + 1), np.inf))
        else:
            lo, hi, outside = window.around(p)
            xw = x[lo:hi]
            f, jac, q, diff = window.work(hi - lo, n_params)
            np.negative(y[lo:hi], out=f)
            for i, (norm, mean, sigma) in enumerate(np.reshape(p, (-1, 3))):
                e, d_mean, d_sigma = jac[3 * i : 3 * i + 3]
                np.subtract(xw, mean, out=diff)
                np.multiply(diff, diff, out=e)
                e *= -1.0 / (2.0 * sigma * sigma)
                np.exp(e, out=e)
                np.multiply(e, norm, out=d_sigma)  # (scratch)
                np.add(f, d_sigma, out=f)
                np.multiply(d_sigma, diff, out=d_mean)
                d_mean *= 1.0 / (sigma * sigma)
                np.multiply(d_mean, diff, out=d_sigma)
                d_sigma *= 1.0 / sigma
            r, qtf = _qr_qtf(jac, f, q)
            norm2 = float(np.einsum("i,i", f, f)) + outside
            rest = max(norm2 - float(np.einsum("i,i", qtf, qtf)), 0.0)
            jr = np.zeros((n_params, n_params + 1))
            jr[:, :n_params] = r.T
            value = (np.append(qtf, math.sqrt(rest)), jr)
        cache["key"], cache["value"] = key, value
        return value

    def residual(p):
        return reduced(p)[0]

    def jacobian(p):  # rows are parameters (col_deriv=True): MINPACK's column-major layout
        return reduced(p)[1]

    if not np.all(np.isfinite(start)) or np.any(np.asarray(start)[2::3] <= 0):
        return None
    if x.size < n_params:  # commons-math: NumberIsTooSmallException
        return None
    with np.errstate(all="ignore"):
        try:
            params, _, info, _, ier = scipy.optimize.leastsq(
                residual,
                np.asarray(start, dtype=np.float64),
                Dfun=jacobian,
                col_deriv=True,
                full_output=True,
                ftol=_TOL,
                xtol=_TOL,
                gtol=_TOL,
                factor=100.0,
                maxfev=200 * (max_iterations + 1),
            )
        except (ValueError, np.linalg.LinAlgError):  # pragma: no cover - defensive
            return None
    if ier not in (1, 2, 3, 4) or info["njev"] > max_iterations:
        return None
    if not np.all(np.isfinite(params)):
        return None
    return params


class _Window:
    """The points of a fit that one parameter vector needs, and the sum of ``y²`` outside them.

    ``x`` must be sorted for the window to shrink; otherwise every point is computed. Work arrays
    for the Jacobian (one row per parameter), Q, the residuals and ``x - mean`` grow as needed.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.size = x.size
        self.x = x if x.size > _BLOCK and bool(np.all(x[1:] >= x[:-1])) else None
        squares = np.zeros(-(-x.size // _BLOCK) * _BLOCK)
        np.multiply(y, y, out=squares[: x.size])
        self.block_squares = squares.reshape(-1, _BLOCK).sum(axis=1).tolist()
        self.outside: dict[tuple[int, int], float] = {}
        self._jac = self._q = np.empty((0, 0))
        self._f = self._diff = np.empty(0)

    def around(self, p: np.ndarray) -> tuple[int, int, float]:
        """``(lo, hi, outside)``: the points ``lo:hi`` to compute for the parameters ``p`` and
        the sum of ``y²`` over the others (where the model is exactly 0)."""
        comps = np.reshape(p, (-1, 3))
        if self.x is None or not np.all(np.isfinite(comps)):
            return 0, self.size, 0.0
        reach = _REACH * comps[:, 2]
        first = int(np.searchsorted(self.x, float(np.min(comps[:, 1] - reach)), side="left"))
        last = int(np.searchsorted(self.x, float(np.max(comps[:, 1] + reach)), side="right"))
        lo_block = first // _BLOCK
        hi_block = max(-(-last // _BLOCK), lo_block)
        key = (lo_block, hi_block)
        if key not in self.outside:
            sums = self.block_squares
            self.outside[key] = math.fsum(sums[:lo_block] + sums[hi_block:])
        return lo_block * _BLOCK, min(hi_block * _BLOCK, self.size), self.outside[key]

    def work(self, m: int, n_params: int) -> tuple[np.ndarray, ...]:
        """Work arrays for ``m`` points: the residuals, the Jacobian (one row per parameter), Q's
        columns and ``x - mean``, views of arrays kept for the next call."""
        if self._f.size < m:
            self._jac = np.empty((n_params, m))
            self._q = np.empty_like(self._jac)
            self._f = np.empty(m)
            self._diff = np.empty(m)
        return self._f[:m], self._jac[:, :m], self._q[:, :m], self._diff[:m]


def _qr_qtf(rows: np.ndarray, f: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``R`` and ``Q^T f`` of ``J = QR``, J given by its columns as ``rows`` (n x m, n small);
    ``q`` (n x m) receives Q's columns.

    Classical Gram-Schmidt with one reorthogonalisation ("twice is enough": orthogonal to
    machine precision), a few passes over m; a zero column gives a zero row of Q (and of R).
    Products are ``einsum`` and element-wise: BLAS's threaded dot products of long vectors
    were up to 50 times slower on a busy 2-core machine.
    """
    n = rows.shape[0]
    r = np.zeros((n, n))
    for j in range(n):
        v = q[j]
        v[...] = rows[j]
        for _ in range(2 if j else 0):
            c = np.einsum("ij,j->i", q[:j], v)
            for k in range(j):
                v -= c[k] * q[k]
            r[:j, j] += c
        length = math.sqrt(float(np.einsum("i,i", v, v)))
        r[j, j] = length
        if length > 0:
            v *= 1.0 / length
    return r, np.einsum("ij,j->i", q, f)


def moving_average(keys: np.ndarray, values: np.ndarray, width: float):
    """CCC's ``MovingAverage.averagedMap``: each key's window ``[k - w, k + w)``, averaged keys and
    values; windows that give the same averaged key collapse to one point."""
    lo = np.searchsorted(keys, keys - width, side="left")
    hi = np.searchsorted(keys, keys + width, side="left")
    count = hi - lo
    key_sums = np.concatenate([[0.0], np.cumsum(keys)])
    value_sums = np.concatenate([[0.0], np.cumsum(values)])
    new_keys = (key_sums[hi] - key_sums[lo]) / count
    new_values = (value_sums[hi] - value_sums[lo]) / count
    uniq, first = np.unique(new_keys, return_index=True)
    return uniq, new_values[first]


def _mirrored(keys: np.ndarray, values: np.ndarray):
    """Observations with every point beyond 2 * peak reflected about the peak (CurveFit)."""
    peak = int(np.argmax(values))  # first strict maximum; it must be above 0
    max_loc = float(keys[peak]) if values[peak] > 0 and peak > 0 else 0.0
    far = keys > 2 * max_loc
    # sorted by x (the mirrored points are all negative); the fit does not depend on the order
    x = np.concatenate([(2 * max_loc - keys[far])[::-1], keys])
    y = np.concatenate([values[far][::-1], values])
    return x, y


@dataclass(frozen=True)
class FitResult:
    """Outcome of the plugin's fit: ``[norm, mean, sigma, ...]``, or None when it failed."""

    params: np.ndarray | None


def _rejected(p, pixel: float, strict: bool) -> bool:
    if p is None:
        return True
    if strict:  # the entry and final test
        return bool(p[2] <= pixel or p[1] < -pixel or p[0] < 0)
    return bool(p[2] <= pixel or p[1] < 0)  # the retry loop's condition (sic: mean < 0, no norm)


def fit_profile(keys: np.ndarray, values: np.ndarray, pixel: float) -> FitResult:
    """CCC 2.2.3 ``CurveFit``: mirrored fit, then up to five moving-average retries.

    ``pixel`` is the X pixel size (``scale[0]``); a fit is accepted when sigma > pixel,
    mean >= -pixel and norm >= 0.
    """
    keys = np.asarray(keys, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    if keys.size < 2:
        return FitResult(None)
    x, y = _mirrored(keys, values)
    params = lm_fit(x, y, commons_guess(x, y), 100)
    if _rejected(params, pixel, strict=True):
        width = pixel / 10
        while _rejected(params, pixel, strict=False) and width <= pixel / 2:
            avg_keys, avg_values = moving_average(keys, values, width)
            if avg_keys.size >= 2:
                x, y = _mirrored(avg_keys, avg_values)
                params = lm_fit(x, y, commons_guess(x, y), 50)
            else:
                params = None
            width += pixel / 10
    if _rejected(params, pixel, strict=True):
        return FitResult(None)
    return FitResult(params)


def _greedy_start(x: np.ndarray, y: np.ndarray, n: int) -> np.ndarray:
    """CCC 2.3.0's start point: fit one Gaussian (commons start point, 50 iterations), subtract
    it, repeat on the residual; a component that does not converge starts at [0, 0, 1]."""
    residual = y.copy()
    start = []
    for _ in range(n):
        p = lm_fit(x, residual, commons_guess(x, residual), 50)
        if p is None:
            p = np.array([0.0, 0.0, 1.0])
        else:
            residual = residual - gaussian(x, p)
        start.append(p)
    return np.concatenate(start)


def _fit_n(keys: np.ndarray, values: np.ndarray, n: int):
    x, y = _mirrored(keys, values)
    if x.size < 3 * n:
        return None
    return lm_fit(x, y, _greedy_start(x, y, n), 100)


def fit_sum_of_gaussians(keys: np.ndarray, values: np.ndarray, n: int) -> FitResult:
    """Fit ``n`` Gaussians as CCC 2.3.0 (``CorrelationData.CurveFit`` with
    ``nGaussianCurveFitter``).

    The mirrored profile is fitted jointly (100 iterations) from a greedy start point. With
    ``step`` the first radial step, a component is accepted when sigma > step, mean >= -step and
    norm >= 0; for each rejected component the joint fit is retried on moving averages of the
    profile (windows step/10 ... step/2, as the single-Gaussian fit). Components still rejected
    are returned with NaN parameters; ``params`` is None when no component is accepted.
    """
    keys = np.asarray(keys, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    if keys.size < 2:
        return FitResult(None)
    step = float(keys[1] - keys[0])
    params = _fit_n(keys, values, n)
    ok = np.zeros(n, dtype=bool)
    for i in range(n):
        comp = None if params is None else params[3 * i : 3 * i + 3]
        if _rejected(comp, step, strict=True):
            width = step / 10
            while _rejected(comp, step, strict=False) and width <= step / 2:
                avg_keys, avg_values = moving_average(keys, values, width)
                params = _fit_n(avg_keys, avg_values, n)
                comp = None if params is None else params[3 * i : 3 * i + 3]
                width += step / 10
        if params is None:
            return FitResult(None)
        ok[i] = not _rejected(params[3 * i : 3 * i + 3], step, strict=True)
    if params is None or not ok.any():
        return FitResult(None)
    comps = np.reshape(params, (-1, 3)).copy()
    comps[~ok] = np.nan
    order = np.argsort(np.where(ok, comps[:, 1], np.inf), kind="stable")
    return FitResult(comps[order].ravel())


def area_under_curve(keys: np.ndarray, values: np.ndarray, mean: float, sigma: float) -> float:
    """Plain sum of the profile over keys in the open interval (mean - 3 sigma, mean + 3 sigma)."""
    inside = ((mean - 3 * sigma) < keys) & (keys < (mean + 3 * sigma))
    return float(np.sum(values[inside]))


def r_squared(keys: np.ndarray, values: np.ndarray, mean: float, sigma: float, model) -> float:
    """R² of ``model(keys)`` over keys in the half-open range [mean - 3 sigma, mean + 3 sigma)."""
    inside = ((mean - 3 * sigma) <= keys) & (keys < (mean + 3 * sigma))
    v = values[inside]
    if v.size == 0:
        return math.nan
    ss_res = float(np.sum((v - model(keys[inside])) ** 2))
    ss_tot = float(np.sum((v - np.mean(v)) ** 2))
    if ss_tot == 0:
        return math.nan
    return 1.0 - ss_res / ss_tot
